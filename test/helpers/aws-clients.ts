import { vi } from 'vitest';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { DYNAMO_KEY } from '../../core/scan/state/dynamodb-store.js';

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

/**
 * The state table as the stack creates it (key `DYNAMO_KEY`, on demand), once it is ACTIVE. As on
 * DynamoDB, dynalite makes a table CREATING first (for a timer's turn even with createTableMs 0),
 * and an item written before it is ACTIVE fails with ResourceNotFoundException.
 */
export async function createStateTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: DYNAMO_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: DYNAMO_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let tries = 0; ; tries++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (tries >= 200) throw new Error(`table ${name} still ${Table?.TableStatus ?? 'unknown'} after 2 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * For code that uses the standard AWS credential chain (the CLI, the real source builders):
 * static keys and nothing else to try, so no test reads a developer's profile or waits on an
 * instance-metadata server. Undo with `vi.unstubAllEnvs()`.
 */
export function stubAwsCredentialEnv(): void {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFAKE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake-secret');
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_PROFILE', '');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/credwatch-test-config');
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/credwatch-test-credentials');
}
