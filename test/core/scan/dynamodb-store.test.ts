import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { DEFAULT_CORRELATION_BUDGET_BYTES, decodeCorrelation, emptyCorrelation, encodeCorrelation } from '../../../core/engine/carried-events.js';
import { secretGet } from '../../helpers/scripted-source.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateError } from '../../../core/model/errors.js';
import { DYNAMO_KEY, DYNAMO_TTL_ATTRIBUTE, DynamoDbStateStore } from '../../../core/scan/state/dynamodb-store.js';
import { createStateTable, startDynalite } from '../../helpers/aws-clients.js';
import { stateStoreContract } from '../../helpers/state-store-contract.js';

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
  await createStateTable(db.client, table);
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

  it('fits a large correlation state in one item within the 400 KB limit, which the server enforces', async () => {
    const store = await freshStore();
    // 20,000 distinct events with incompressible ids: far more than one item holds.
    const events = Array.from({ length: 20_000 }, (_, i) => ({
      event: { ...secretGet({ time: Date.parse('2026-03-02T08:00:00Z') + i * 100, id: randomBytes(16).toString('hex') }), userAgent: randomBytes(12).toString('base64') },
      until: Date.parse('2026-03-03T09:00:00Z'),
      run: 'r1',
    }));
    const encoded = encodeCorrelation({ ...emptyCorrelation(), events });
    expect(encoded.bytes.length).toBeLessThanOrEqual(DEFAULT_CORRELATION_BUDGET_BYTES);
    expect(encoded.droppedEvents).toBeGreaterThan(0);
    expect(await store.writeCheckpoint('eks:big', { to: '2026-03-02T09:00:00.000Z', updatedAt: 'u', seq: 1, correlation: encoded.bytes }, { seq: undefined })).toBe(true);
    const back = decodeCorrelation((await store.readCheckpoint('eks:big'))!.correlation!, 'test');
    expect(back.events.length).toBe(20_000 - encoded.droppedEvents);
    // The newest are kept.
    expect(back.events.at(-1)!.event.id).toBe(events.at(-1)!.event.id);
    // Unbounded, the same state is refused by DynamoDB (dynalite enforces the item size limit).
    const unbounded = encodeCorrelation({ ...emptyCorrelation(), events }, 10_000_000);
    expect(unbounded.bytes.length).toBeGreaterThan(400 * 1024);
    const err = await store.writeCheckpoint('eks:big', { to: '2026-03-02T09:05:00.000Z', updatedAt: 'u', seq: 2, correlation: unbounded.bytes }, { seq: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect(String((err as StateError).cause)).toMatch(/size/i);
  });

  it('names the table and item of a garbage checkpoint', async () => {
    const store = await freshStore();
    await db.client.send(new PutItemCommand({ TableName: store.table, Item: { [DYNAMO_KEY]: { S: 'checkpoint#eks:x' }, to: { S: 'yesterday-ish' } } }));
    const err = await store.readCheckpoint('eks:x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as StateError).code).toBe('checkpoint-invalid');
    expect((err as Error).message).toContain(`DynamoDB table ${store.table}, item pk=checkpoint#eks:x, attribute to holds the checkpoint "yesterday-ish"`);
  });
});
