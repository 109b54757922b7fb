import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StateError } from '../../../core/model/errors.js';
import { FIRESTORE_DEFAULT_COLLECTION, FirestoreStateStore, firestoreDocId } from '../../../core/scan/state/firestore-store.js';
import { FirestoreFake } from '../../fakes/firestore.js';
import { TEST_PROJECT, testFirestore } from '../../helpers/gcp-clients.js';
import { stateStoreContract } from '../../helpers/state-store-contract.js';

const NOW = new Date('2026-03-02T09:00:00Z');
let fake: FirestoreFake;
let db: Firestore;
let collections = 0;

beforeAll(async () => {
  fake = await FirestoreFake.start();
  db = testFirestore(fake.host);
});
afterAll(async () => {
  await db.terminate();
  await fake.stop();
});

const freshStore = async () => new FirestoreStateStore(db, `credwatch-${++collections}`, TEST_PROJECT);

stateStoreContract('firestore (fake)', freshStore);

describe('firestore state store', () => {
  beforeEach(() => fake.clearFaults());

  it('claims with a create-once write and keeps the TTL field as a timestamp', async () => {
    const store = await freshStore();
    fake.requests.length = 0;
    expect(await store.claimAlert('gke:acme-prod/k1', 'r1', NOW, 60_000)).toBe('claimed');
    const commit = fake.requests[0]!;
    expect(commit.rpc).toBe('commit');
    const write = (commit.body['writes'] as Array<Record<string, unknown>>)[0]!;
    expect(write['currentDocument']).toEqual({ exists: false });
    const id = firestoreDocId('alert', 'gke:acme-prod/k1');
    expect((write['update'] as { name: string }).name).toBe(`projects/${TEST_PROJECT}/databases/(default)/documents/${store.collection}/${id}`);
    await store.completeAlert('gke:acme-prod/k1', 'r1', NOW, 3_600_000);
    const fields = fake.fieldsOf(TEST_PROJECT, '(default)', store.collection, id)!;
    expect(fields['state']).toEqual({ stringValue: 'sent' });
    expect(fields['key']).toEqual({ stringValue: 'gke:acme-prod/k1' });
    expect(fields['until']).toEqual({ integerValue: String(NOW.getTime() + 3_600_000) });
    expect(fields['expiresAt']).toEqual({ timestampValue: '2026-03-02T10:00:00.000Z' });
  });

  it('makes ids Firestore accepts from keys with slashes and reserved-looking names', () => {
    expect(firestoreDocId('lease', 'gke:a/b')).toMatch(/^lease-[0-9a-f]{64}$/);
    expect(firestoreDocId('checkpoint', '__x__')).toMatch(/^checkpoint-[0-9a-f]{64}$/);
    expect(firestoreDocId('alert', 'a')).not.toBe(firestoreDocId('lease', 'a'));
  });

  it('lets exactly one of 8 concurrent runs claim an alert', async () => {
    const store = await freshStore();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimAlert('race', `r${i}`, NOW, 60_000)));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'busy')).toHaveLength(7);
  });

  it('lets exactly one of 8 concurrent runs take over an expired claim', async () => {
    const store = await freshStore();
    expect(await store.claimAlert('stale', 'dead-run', NOW, 60_000)).toBe('claimed');
    const later = new Date(NOW.getTime() + 120_000);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimAlert('stale', `r${i}`, later, 60_000)));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'busy')).toHaveLength(7);
  });

  it('loses a takeover to a run that wrote the claim after it was read', async () => {
    const store = await freshStore();
    expect(await store.claimAlert('stale', 'dead-run', NOW, 60_000)).toBe('claimed');
    const name = `projects/${TEST_PROJECT}/databases/(default)/documents/${store.collection}/${firestoreDocId('alert', 'stale')}`;
    const later = new Date(NOW.getTime() + 120_000);
    // The first commit is the create (refused), the second the takeover: the other run's write lands just before it.
    fake.beforeNext('commit', () => undefined);
    fake.beforeNext('commit', () => fake.put(name, { ...fake.documents.get(name)!.fields, owner: { stringValue: 'other-run' } }));
    fake.requests.length = 0;
    expect(await store.claimAlert('stale', 'r1', later, 60_000)).toBe('busy');
    expect(fake.requests.map((r) => `${r.rpc}:${r.status}`)).toEqual(['commit:ALREADY_EXISTS', 'batchGet:OK', 'commit:FAILED_PRECONDITION']);
    expect(fake.documents.get(name)!.fields['owner']).toEqual({ stringValue: 'other-run' });
  });

  it('lets exactly one of 8 concurrent runs take over an expired lease', async () => {
    const store = await freshStore();
    expect(await store.acquireLease('gke:acme-prod', 'dead-run', NOW, 60_000)).toBe(true);
    const later = new Date(NOW.getTime() + 120_000);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.acquireLease('gke:acme-prod', `r${i}`, later, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('treats its own claim, created by a retried commit, as claimed', async () => {
    const store = await freshStore();
    expect(await store.claimAlert('mine', 'r1', NOW, 60_000)).toBe('claimed');
    // The client retries a commit whose answer was lost; the retry then meets ALREADY_EXISTS.
    expect(await store.claimAlert('mine', 'r1', NOW, 60_000)).toBe('claimed');
    expect(await store.claimAlert('mine', 'r2', NOW, 60_000)).toBe('busy');
  });

  it('rides out a quota error through the client retries', async () => {
    const store = await freshStore();
    fake.failNext({ rpc: 'commit', status: 'RESOURCE_EXHAUSTED' });
    fake.requests.length = 0;
    await store.writeCheckpoint('gke:acme-prod', { to: '2026-03-02T09:00:00.000Z', updatedAt: '2026-03-02T09:00:01.000Z' });
    expect(fake.requests.map((r) => r.status)).toEqual(['RESOURCE_EXHAUSTED', 'OK']);
    expect((await store.readCheckpoint('gke:acme-prod'))?.to).toBe('2026-03-02T09:00:00.000Z');
  });

  it('says which role to grant when permission is denied', async () => {
    const store = await freshStore();
    fake.failNext({ rpc: 'batchGet', status: 'PERMISSION_DENIED' });
    const err = await store.readCheckpoint('gke:acme-prod').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as StateError).code).toBe('firestore-failed');
    expect((err as Error).message).toContain(`Firestore: could not read the checkpoint in collection ${store.collection} of database (default) in project acme-prod`);
    expect((err as Error).message).toContain('Missing or insufficient permissions.');
    expect((err as Error).message).toContain("Grant the function's service account roles/datastore.user");
  });

  it('says how to create a database that does not exist', async () => {
    const other = testFirestore(fake.host, 'credwatch-db');
    try {
      const store = new FirestoreStateStore(other);
      expect(store.kind).toBe('firestore');
      expect(store.collection).toBe(FIRESTORE_DEFAULT_COLLECTION);
      const err = await store.acquireLease('gke:acme-prod', 'r1', NOW, 60_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StateError);
      expect((err as Error).message).toContain('The database credwatch-db does not exist for project acme-prod');
      expect((err as Error).message).toContain(
        'create it in Native mode (gcloud firestore databases create --database=credwatch-db --location=REGION --type=firestore-native) or set CREDWATCH_FIRESTORE_DATABASE',
      );
    } finally {
      await other.terminate();
    }
  });
});
