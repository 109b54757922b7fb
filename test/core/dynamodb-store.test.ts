import { CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateError } from '../../core/errors.js';
import { DYNAMO_KEY, DYNAMO_TTL_ATTRIBUTE, DynamoDbStateStore } from '../../core/state/dynamodb-store.js';
import { startDynalite } from '../helpers/aws-clients.js';
import { stateStoreContract } from '../helpers/state-store-contract.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let tables = 0;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

async function freshStore(): Promise<DynamoDbStateStore> {
  const table = `credwatch-state-${++tables}`;
  await db.client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: DYNAMO_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: DYNAMO_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return new DynamoDbStateStore(db.client, table);
}

stateStoreContract('dynamodb (dynalite)', freshStore);

describe('dynamodb state store', () => {
  it('writes the TTL attribute in epoch seconds on sent alerts', async () => {
    const store = await freshStore();
    const now = new Date('2026-03-02T09:00:00Z');
    expect(await store.claimAlert('k', 'r1', now, 60_000)).toBe('claimed');
    await store.completeAlert('k', 'r1', now, 3_600_000);
    const item = await db.client.send(new GetItemCommand({ TableName: store.table, Key: { [DYNAMO_KEY]: { S: 'alert#k' } } }));
    expect(item.Item?.[DYNAMO_TTL_ATTRIBUTE]?.N).toBe(String(now.getTime() / 1000 + 3600));
    expect(item.Item?.['state']?.S).toBe('sent');
  });

  it('lets one of many concurrent runs claim an alert', async () => {
    const store = await freshStore();
    const now = new Date('2026-03-02T09:00:00Z');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimAlert('race', `r${i}`, now, 60_000)));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'busy')).toHaveLength(7);
  });

  it('names the missing table and what to do', async () => {
    const store = new DynamoDbStateStore(db.client, 'no-such-table');
    const err = await store.readCheckpoint('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toContain('The table no-such-table does not exist: check CREDWATCH_STATE_TABLE');
  });
});
