import { describe, expect, it } from 'vitest';
import { decodeCorrelation, encodeCorrelation, emptyCorrelation } from '../../core/engine/carried-events.js';
import { MAX_LEASE_MS, type StateStore } from '../../core/scan/state/store.js';

const now = new Date('2026-03-02T09:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);

/** The contract every store must keep; the DynamoDB and Firestore stores run it too. */
export function stateStoreContract(name: string, make: () => Promise<StateStore>) {
  describe(`${name} state store contract`, () => {
    it('round-trips checkpoints per source', async () => {
      const s = await make();
      expect(await s.readCheckpoint('eks:a')).toBeUndefined();
      await s.writeCheckpoint('eks:a', { to: '2026-03-02T09:00:00.000Z', updatedAt: '2026-03-02T09:00:01.000Z', runId: 'r1' });
      await s.writeCheckpoint('eks:b', { to: '2026-03-02T08:00:00.000Z', updatedAt: '2026-03-02T08:00:01.000Z' });
      expect((await s.readCheckpoint('eks:a'))?.to).toBe('2026-03-02T09:00:00.000Z');
      expect((await s.readCheckpoint('eks:b'))?.to).toBe('2026-03-02T08:00:00.000Z');
    });

    it('gives a lease to one owner until it is released or expires', async () => {
      const s = await make();
      expect(await s.acquireLease('src', 'r1', now, 60_000)).toBe(true);
      expect(await s.acquireLease('src', 'r2', later(1_000), 60_000)).toBe(false);
      expect(await s.acquireLease('src', 'r2', later(61_000), 60_000)).toBe(true);
      await s.releaseLease('src', 'r1'); // not the holder any more: no effect
      expect(await s.acquireLease('src', 'r3', later(62_000), 60_000)).toBe(false);
      await s.releaseLease('src', 'r2');
      expect(await s.acquireLease('src', 'r3', later(63_000), 60_000)).toBe(true);
    });

    it('lets exactly one run claim an alert, and remembers it once sent', async () => {
      const s = await make();
      const results = await Promise.all([s.claimAlert('k1', 'r1', now, 60_000), s.claimAlert('k1', 'r2', now, 60_000)]);
      expect(results.sort()).toEqual(['busy', 'claimed']);
      const owner = (await s.claimAlert('k1', 'r3', now, 60_000)) === 'busy' ? (results[0] === 'claimed' ? 'r1' : 'r2') : '?';
      await s.completeAlert('k1', owner, now, 3_600_000);
      expect(await s.claimAlert('k1', 'r3', later(1_000), 60_000)).toBe('sent');
      expect(await s.claimAlert('k1', 'r3', later(3_600_001), 60_000)).toBe('claimed');
    });

    it('takes over an abandoned or expired claim', async () => {
      const s = await make();
      expect(await s.claimAlert('k2', 'r1', now, 60_000)).toBe('claimed');
      await s.abandonAlert('k2', 'r2'); // someone else's claim: no effect
      expect(await s.claimAlert('k2', 'r2', now, 60_000)).toBe('busy');
      await s.abandonAlert('k2', 'r1');
      expect(await s.claimAlert('k2', 'r2', now, 60_000)).toBe('claimed');
      expect(await s.claimAlert('k2', 'r3', later(60_001), 60_000)).toBe('claimed');
    });

    it('keeps the correlation state with the checkpoint, and commits only over the sequence it read', async () => {
      const s = await make();
      const state = { ...emptyCorrelation(), pending: [{ alert: '{"id":"a1"}', key: 'a1', rule: 'r', attempts: 1, firstFailedAt: now.toISOString(), lastError: 'x' }] };
      const blob = encodeCorrelation(state).bytes;
      expect(await s.writeCheckpoint('src', { to: '2026-03-02T09:00:00.000Z', updatedAt: 'u', seq: 1, correlation: blob }, { seq: undefined })).toBe(true);
      const read = await s.readCheckpoint('src');
      expect(read?.seq).toBe(1);
      expect(decodeCorrelation(read!.correlation!, 'test').pending.map((p) => p.key)).toEqual(['a1']);
      // Two runs that both read seq 1: one commits, the other is refused and writes nothing.
      const results = await Promise.all([
        s.writeCheckpoint('src', { to: '2026-03-02T09:05:00.000Z', updatedAt: 'u', seq: 2 }, { seq: 1 }),
        s.writeCheckpoint('src', { to: '2026-03-02T09:06:00.000Z', updatedAt: 'u', seq: 2 }, { seq: 1 }),
      ]);
      expect(results.filter((r) => r).length).toBe(1);
      expect(await s.writeCheckpoint('src', { to: '2026-03-02T09:07:00.000Z', updatedAt: 'u', seq: 2 }, { seq: undefined })).toBe(false);
      expect((await s.readCheckpoint('src'))?.seq).toBe(2);
    });

    it('takes over a lease whose stored expiry is absurd, and says so', async () => {
      const s = await make();
      expect(await s.acquireLease('src', 'bad-clock', now, MAX_LEASE_MS * 1_000)).toBe(true);
      const why: string[] = [];
      expect(await s.acquireLease('src', 'r2', later(1_000), 60_000, (w) => why.push(w))).toBe(true);
      expect(why).toHaveLength(1);
      expect(why[0]).toContain('held by bad-clock was taken over');
      expect(why[0]).toContain('minutes ahead');
      // A sane lease is still honoured.
      expect(await s.acquireLease('src', 'r3', later(2_000), 60_000)).toBe(false);
    });
  });
}
