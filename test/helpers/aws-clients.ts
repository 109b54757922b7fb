import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';

/** Options every AWS client in the tests gets: loopback endpoint, static keys, fast retries, hard timeouts. */
export function testAwsOptions(endpoint: string) {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    retryStrategy: new ConfiguredRetryStrategy(3, () => 5),
    requestHandler: { requestTimeout: 2_000, throwOnRequestTimeout: true },
  };
}

export function testSnsClient(endpoint: string): SNSClient {
  return new SNSClient(testAwsOptions(endpoint));
}

/** The real dynalite server on 127.0.0.1 with instant table operations. */
export async function startDynalite(): Promise<{ endpoint: string; client: DynamoDBClient; stop: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient(testAwsOptions(endpoint));
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
