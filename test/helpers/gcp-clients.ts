import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
// A dependency of the Google clients themselves; the tests only need its no-credentials client.
import { PassThroughClient } from 'google-auth-library';

export const TEST_PROJECT = 'acme-prod';

/**
 * The real Firestore client over REST (`preferRest`, the transport the function uses) against a
 * loopback fake: explicit project, no TLS, and an auth client that never looks for credentials
 * or a metadata server. `validateStatus: () => true` lets the client decode the service's error
 * body, so `err.code` is the gRPC code (6 for ALREADY_EXISTS), not the HTTP status.
 */
export function testFirestore(host: string, databaseId = '(default)'): Firestore {
  return new Firestore({
    projectId: TEST_PROJECT,
    databaseId,
    host,
    ssl: false,
    preferRest: true,
    authClient: new PassThroughClient({ transporterOptions: { validateStatus: () => true } }),
  });
}

/** The real Pub/Sub client over gRPC in emulator mode (insecure channel, no credentials). */
export function testPubSub(endpoint: string): PubSub {
  return new PubSub({ projectId: TEST_PROJECT, apiEndpoint: endpoint, emulatorMode: true });
}
