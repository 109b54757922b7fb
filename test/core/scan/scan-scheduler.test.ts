import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defineRule } from '../../../core/model/rule.js';
import { runScheduledScan, type ScanSettings } from '../../../core/scan/scan.js';
import { JsonLinesSink } from '../../../core/scan/sinks/stream-sink.js';
import { decodeCorrelation } from '../../../core/engine/carried-events.js';
import { FileStateStore } from '../../../core/scan/state/file-store.js';
import { MemoryStateStore } from '../../../core/scan/state/memory-store.js';
import type { StateStore } from '../../../core/scan/state/store.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { everySecretGet, ScriptedSource, secretGet } from '../../helpers/scripted-source.js';

/** Faults that used to blind the scheduled scan, one test each, on a controlled clock. */
const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const settings: Partial<ScanSettings> = { alertMinSeverity: 'low' };

function setup(store: StateStore = new MemoryStateStore()) {
  let now = T0;
  const source = new ScriptedSource('eks:c1', 'c1', 4, () => now);
  const sink = new RecordingSink();
  const run = (extra: { sink?: RecordingSink | JsonLinesSink; rules?: Parameters<typeof runScheduledScan>[0]['engine']['rules']; runId?: string; settings?: Partial<ScanSettings> } = {}) =>
    runScheduledScan({
      sources: [source],
      engine: { rules: extra.rules ?? [everySecretGet] },
      store,
      sink: extra.sink ?? sink,
      settings: { ...settings, ...extra.settings },
      clock: () => new Date(now),
      ...(extra.runId === undefined ? {} : { runId: extra.runId }),
    });
  const addRead = (atMs: number) => {
    const ev = secretGet({ time: atMs - 2_000 });
    source.add(ev, atMs);
    return ev;
  };
  return { store, source, sink, run, addRead, advance: (ms: number) => void (now += ms), now: () => now };
}

describe('a scheduler that cannot be blinded', () => {
  it('clamps a checkpoint in the future to now, with a warning and a metric, and keeps scanning', async () => {
    const w = setup();
    await w.store.writeCheckpoint('eks:c1', { to: '2027-01-01T00:00:00.000Z', updatedAt: 'hand edit' });
    const ev = w.addRead(T0 - 1 * MIN);
    const first = (await w.run()).sources[0]!;
    expect(first.status).toBe('ok');
    expect(first.metrics['CheckpointClamped']).toBe(1);
    expect(first.warnings[0]).toContain('(2027-01-01T00:00:00.000Z) is in the future');
    expect(first.window).toEqual({ from: new Date(T0 - 2 * MIN).toISOString(), to: new Date(T0).toISOString() });
    expect(w.sink.alerts.map((a) => a.event.id)).toEqual([ev.id]);
    expect((await w.store.readCheckpoint('eks:c1'))?.to).toBe(new Date(T0).toISOString());
    // Later runs are normal runs, not "up-to-date" forever.
    w.advance(5 * MIN);
    const later = w.addRead(T0 + 3 * MIN);
    const second = (await w.run()).sources[0]!;
    expect(second.status).toBe('ok');
    expect(second.metrics['CheckpointClamped']).toBeUndefined();
    expect(w.sink.alerts.map((a) => a.event.id)).toEqual([ev.id, later.id]);
  });

  it('reports a garbage checkpoint with the file named, and starts the source over instead of failing every run', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'credwatch-sched-')), 'state.json');
    await writeFile(path, JSON.stringify({ version: 1, checkpoints: { 'eks:c1': { to: 'not-a-time', updatedAt: 'x' } }, leases: {}, alerts: {} }));
    const w = setup(new FileStateStore(path));
    const ev = w.addRead(T0 - 2 * MIN);
    const s = (await w.run()).sources[0]!;
    expect(s.status).toBe('ok');
    expect(s.metrics['CheckpointInvalid']).toBe(1);
    expect(s.warnings[0]).toContain(`The state file ${path} (checkpoints["eks:c1"]) holds the checkpoint "not-a-time"`);
    expect(s.warnings[0]).toContain('starts eks:c1 over as a first run');
    expect(w.sink.alerts.map((a) => a.event.id)).toEqual([ev.id]);
    const saved = JSON.parse(await readFile(path, 'utf8')) as { checkpoints: Record<string, { to: string }> };
    expect(saved.checkpoints['eks:c1']?.to).toBe(new Date(T0).toISOString());
  });

  it('takes over a lease with an absurd expiry, reporting it', async () => {
    const w = setup();
    (w.store as MemoryStateStore).leases.set('eks:c1', { owner: 'clock-in-2030', expiresAt: Date.parse('2030-01-01T00:00:00Z') });
    w.addRead(T0 - MIN);
    const s = (await w.run()).sources[0]!;
    expect(s.status).toBe('ok');
    expect(s.metrics['LeaseTakenOver']).toBe(1);
    expect(s.warnings[0]).toContain('held by clock-in-2030 was taken over: its expiry 2030-01-01T00:00:00.000Z is more than 60 minutes ahead');
    expect(w.sink.alerts).toHaveLength(1);
  });

  it('lets the next run take over the lease of a killed run once the run\'s own timeout has passed', async () => {
    const w = setup();
    // A run killed while holding its lease: it never releases it.
    expect(await w.store.acquireLease('eks:c1', 'killed', new Date(T0), 4 * MIN)).toBe(true);
    w.addRead(T0 - MIN);
    w.advance(2 * MIN);
    expect((await w.run({ settings: { leaseTtlMs: 4 * MIN } })).sources[0]!.status).toBe('locked');
    w.advance(3 * MIN); // the next scheduled run, 5 minutes after the killed one
    expect((await w.run({ settings: { leaseTtlMs: 4 * MIN } })).sources[0]!.status).toBe('ok');
    expect(w.sink.alerts).toHaveLength(1);
  });

  it('sets aside an alert that does not serialise, advances the checkpoint, and delivers it in reduced form next run', async () => {
    const w = setup();
    const lines: string[] = [];
    const out = new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(chunk.toString()), done()) });
    const bigFacts = defineRule({ ...everySecretGet, id: 'test-bigint-facts', evaluate: () => ({ summary: 'facts with a bigint', facts: { size: 10n } }) });
    const sink = new JsonLinesSink('stdout', out);
    w.addRead(T0 - MIN);
    const first = (await w.run({ sink, rules: [bigFacts] })).sources[0]!;
    expect(first).toMatchObject({ status: 'undelivered', alertsSetAside: 1, checkpointAdvanced: true });
    expect(first.warnings.join('\n')).toContain('does not serialise');
    expect(lines).toEqual([]);
    const pending = decodeCorrelation((await w.store.readCheckpoint('eks:c1'))!.correlation!, 'test').pending;
    expect(pending).toHaveLength(1);
    w.advance(5 * MIN);
    const second = (await w.run({ sink, rules: [bigFacts] })).sources[0]!;
    expect(second).toMatchObject({ status: 'ok', alertsSent: 1, checkpointAdvanced: true });
    expect(second.window!.from).toBe(new Date(T0 - 2 * MIN).toISOString()); // the window did not grow
    expect(lines).toHaveLength(1);
    const alert = JSON.parse(lines[0]!) as { rule: string; facts: Record<string, string> };
    expect(alert.rule).toBe('test-bigint-facts');
    expect(alert.facts['undeliverable']).toContain('could not be serialised');
  });

  it('retries an alert the sink keeps refusing a bounded number of times, then gives it up by name; the timeline moves on', async () => {
    const w = setup();
    w.sink.failNext = 1_000;
    const ev = w.addRead(T0 - MIN);
    const summaries = [];
    for (let i = 0; i < 4; i++) {
      summaries.push((await w.run({ settings: { maxDeliveryAttempts: 3 } })).sources[0]!);
      w.advance(5 * MIN);
    }
    expect(summaries.map((s) => s.checkpointAdvanced)).toEqual([true, true, true, true]);
    expect(summaries.map((s) => s.alertsSetAside)).toEqual([1, 1, 0, 0]);
    expect(summaries[2]!.alertsAbandoned).toBe(1);
    expect(summaries[2]!.metrics['AlertsAbandoned']).toBe(1);
    expect(summaries[2]!.warnings.join('\n')).toMatch(/given up after 3 attempts since .*injected sink failure; the alert was: \{"id":/);
    expect(summaries[2]!.warnings.join('\n')).toContain(ev.id);
    expect(summaries[3]!.alertsFailed).toBe(0); // nothing left to retry
    for (const s of summaries) expect(Date.parse(s.window!.to) - Date.parse(s.window!.from)).toBeLessThanOrEqual(7 * MIN);
  });

  it('does not commit when another run committed meanwhile, so the state cannot fork', async () => {
    const w = setup();
    w.addRead(T0 - MIN);
    await w.run(); // a normal first run: checkpoint at T0, seq 2
    w.advance(5 * MIN);
    w.addRead(T0 + 4 * MIN);
    // While this run reads, a second run (its lease expired under it) commits first.
    const original = w.source.read.bind(w.source);
    w.source.read = async function* (window, options) {
      const cp = await w.store.readCheckpoint('eks:c1');
      await w.store.writeCheckpoint('eks:c1', { ...cp!, runId: 'other', seq: cp!.seq! + 1 }, { seq: cp!.seq });
      yield* original(window, options);
    };
    const s = (await w.run()).sources[0]!;
    expect(s.status).toBe('failed');
    expect(s.checkpointAdvanced).toBe(false);
    expect(s.metrics['CheckpointConflicts']).toBe(1);
    expect(s.error).toContain('another run committed eks:c1\'s checkpoint while this one ran');
    expect((await w.store.readCheckpoint('eks:c1'))?.runId).toBe('other');
  });

  it('does not commit a run that outlived its lease once another run took the source over', async () => {
    for (const takenOver of [true, false]) {
      const w = setup();
      w.addRead(T0 - MIN);
      const original = w.source.read.bind(w.source);
      w.source.read = async function* (window, options) {
        w.advance(6 * MIN); // a stall longer than the lease
        if (takenOver) expect(await w.store.acquireLease('eks:c1', 'next-run', new Date(w.now()), 5 * MIN)).toBe(true);
        yield* original(window, options);
      };
      const s = (await w.run({ settings: { leaseTtlMs: 5 * MIN } })).sources[0]!;
      if (takenOver) {
        expect(s.status).toBe('failed');
        expect(s.error).toContain('outlived its lease (300s) on eks:c1 and another run took the source over');
        expect(s.checkpointAdvanced).toBe(false);
      } else {
        // Nobody took it: the lease is renewed and the window committed.
        expect(s.status).toBe('ok');
        expect(s.checkpointAdvanced).toBe(true);
      }
    }
  });

  it('reports an unreadable correlation state and runs without it', async () => {
    const w = setup();
    await w.store.writeCheckpoint('eks:c1', { to: new Date(T0 - 5 * MIN).toISOString(), updatedAt: 'x', seq: 4, correlation: new Uint8Array([1, 2, 3]) });
    w.addRead(T0 - MIN);
    const s = (await w.run()).sources[0]!;
    expect(s.status).toBe('ok');
    expect(s.metrics['CorrelationStateInvalid']).toBe(1);
    expect(s.warnings[0]).toContain('memory state of eks:c1: the correlation state is not readable');
    expect((await w.store.readCheckpoint('eks:c1'))?.seq).toBe(5);
  });
});
