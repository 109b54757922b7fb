import { describe, expect, it } from 'vitest';
import { findingKey } from '../../../core/model/finding.js';
import { runScheduledScan, type RunSummary, type ScanSettings } from '../../../core/scan/scan.js';
import { MemoryStateStore } from '../../../core/scan/state/memory-store.js';
import type { StateStore } from '../../../core/scan/state/store.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { everySecretGet, ScriptedSource, secretGet } from '../../helpers/scripted-source.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const MIN = 60_000;
const settings: Partial<ScanSettings> = { alertMinSeverity: 'low' };

/**
 * A scripted workload: events ingested over two hours (some 30 minutes after they happened),
 * scanned every five minutes by a scheduled run, with faults injected per case. Every case ends
 * with the same check: each event alerted, none missed, none sent twice (unless the case says a
 * re-send with the same alert id is the documented outcome).
 */
function workload(opts: { skewMs?: number } = {}) {
  let serviceNow = T0;
  const store = new MemoryStateStore();
  const sink = new RecordingSink();
  const source = new ScriptedSource('eks:c1', 'c1', 4, () => serviceNow);
  const expected: string[] = [];
  for (let i = 0; i < 60; i++) {
    const ingestedAt = T0 + 2 * MIN + i * 2 * MIN + (i % 7) * 1_000;
    const late = i % 5 === 0 ? 30 * MIN : 2_000;
    const ev = secretGet({ time: ingestedAt - late, cluster: 'c1' });
    source.add(ev, ingestedAt);
    expected.push(findingKey(everySecretGet.id, 'c1', ev.id));
  }
  const runs: RunSummary[] = [];
  const run = async (extra: { store?: StateStore; runId?: string } = {}) => {
    const summary = await runScheduledScan({
      sources: [source],
      engine: { rules: [everySecretGet] },
      store: extra.store ?? store,
      sink,
      settings,
      clock: () => new Date(serviceNow + (opts.skewMs ?? 0)),
      ...(extra.runId === undefined ? {} : { runId: extra.runId }),
    });
    runs.push(summary);
    return summary;
  };
  const advance = (ms: number) => {
    serviceNow += ms;
  };
  /** The schedule: a run every 5 minutes until two and a half hours have passed. */
  const schedule = async (hook?: (n: number) => Promise<boolean | void> | boolean | void) => {
    for (let n = 0; serviceNow < T0 + 150 * MIN; n++) {
      advance(5 * MIN);
      const skip = hook === undefined ? false : await hook(n);
      if (skip !== true) await run();
    }
  };
  const expectExactlyOnce = () => {
    const counts = sink.countById();
    expect(expected.filter((k) => counts.get(k) !== 1)).toEqual([]);
    expect(sink.alerts.length).toBe(expected.length);
  };
  return { store, sink, source, runs, run, advance, schedule, expected, expectExactlyOnce };
}

describe('scheduled scan under faults', () => {
  it('alerts every event exactly once on a healthy schedule, late events included', async () => {
    const w = workload();
    await w.schedule();
    w.expectExactlyOnce();
    expect(w.runs.every((r) => r.ok)).toBe(true);
  });

  it('leaves a window whose page fails to the next run', async () => {
    const w = workload();
    await w.schedule((n) => {
      if (n === 4) w.source.failures.push({ page: 2, retryable: false });
    });
    w.expectExactlyOnce();
    const failed = w.runs[4]!.sources[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.checkpointAdvanced).toBe(false);
    expect(failed.events).toBe(0); // a partial window is never half-counted
    expect(failed.error).toContain('window is retried by the next run');
  });

  it('retries after throttling that outlasted the SDK retries', async () => {
    const w = workload();
    await w.schedule((n) => {
      if (n >= 6 && n <= 8) w.source.failures.push({ page: 1, retryable: true });
    });
    w.expectExactlyOnce();
    expect(w.runs.slice(6, 9).map((r) => r.sources[0]!.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('sets aside alerts the sink refused and delivers them on the next run, the checkpoint moving on', async () => {
    const w = workload();
    await w.schedule((n) => {
      if (n === 3) w.sink.failNext = 1_000;
      if (n === 4) w.sink.failNext = 0;
    });
    w.expectExactlyOnce();
    const refused = w.runs[3]!.sources[0]!;
    expect(refused.status).toBe('undelivered');
    expect(refused.alertsFailed).toBeGreaterThan(0);
    expect(refused.alertsSetAside).toBe(refused.alertsFailed);
    expect(refused.metrics['AlertsSetAside']).toBe(refused.alertsFailed);
    expect(refused.checkpointAdvanced).toBe(true);
    expect(w.runs[3]!.ok).toBe(false);
    expect(w.runs[4]!.sources[0]!.metrics['AlertsRetriedSent']).toBe(refused.alertsFailed);
  });

  it('re-sends at most once, with the same alert id, when the process dies between publish and store write', async () => {
    const w = workload();
    let crashed: string | undefined;
    // A store whose owner dies on its first completeAlert: that write and everything after it
    // in the same run never happen (no abandon, no lease release, no checkpoint).
    class DyingStore extends MemoryStateStore {
      dead = false;
      constructor(private readonly inner: MemoryStateStore) {
        super();
      }
      override async readCheckpoint(s: string) { this.check(); return this.inner.readCheckpoint(s); }
      override async writeCheckpoint(s: string, c: Parameters<StateStore['writeCheckpoint']>[1]) { this.check(); return this.inner.writeCheckpoint(s, c); }
      override async acquireLease(s: string, o: string, n: Date, t: number) { this.check(); return this.inner.acquireLease(s, o, n, t); }
      override async releaseLease(s: string, o: string) { this.check(); return this.inner.releaseLease(s, o); }
      override async claimAlert(k: string, o: string, n: Date, t: number) { this.check(); return this.inner.claimAlert(k, o, n, t); }
      override async abandonAlert(k: string, o: string) { this.check(); return this.inner.abandonAlert(k, o); }
      override async completeAlert(k: string, o: string, n: Date, r: number) {
        this.check();
        if (crashed === undefined) {
          crashed = k;
          this.dead = true;
          throw new Error('process died');
        }
        return this.inner.completeAlert(k, o, n, r);
      }
      private check() {
        if (this.dead) throw new Error('process is dead');
      }
    }
    await w.schedule(async (n) => {
      if (n === 2) {
        await w.run({ store: new DyingStore(w.store), runId: 'dying-run' });
        return true;
      }
    });
    const counts = w.sink.countById();
    expect(crashed).toBeDefined();
    expect(counts.get(crashed!)).toBe(2);
    expect(w.expected.filter((k) => k !== crashed && counts.get(k) !== 1)).toEqual([]);
    // The dead run's lease and claim expire with the run's own timeout (5 min): the next
    // scheduled run takes the source over instead of waiting 16 minutes.
    expect(w.runs[3]!.sources[0]!.status).toBe('ok');
  });

  it('never sends one alert twice when two runs start at once', async () => {
    const w = workload();
    await w.schedule(async (n) => {
      if (n % 4 === 1) {
        await Promise.all([w.run({ runId: `a-${n}` }), w.run({ runId: `b-${n}` })]);
        return true;
      }
    });
    w.expectExactlyOnce();
    expect(w.runs.some((r) => r.sources[0]!.status === 'locked')).toBe(true);
  });

  it('catches up after the schedule skipped an hour', async () => {
    const w = workload();
    await w.schedule((n) => n >= 5 && n < 17);
    w.expectExactlyOnce();
    const catchUp = w.runs[5]!.sources[0]!;
    expect(Date.parse(catchUp.window!.to) - Date.parse(catchUp.window!.from)).toBe(67 * MIN);
  });

  it('tolerates a minute of clock skew either way between the function and the log service', async () => {
    for (const skewMs of [MIN, -MIN]) {
      const w = workload({ skewMs });
      await w.schedule();
      w.expectExactlyOnce();
    }
  });

  it('does not lose the first window when the very first run fails', async () => {
    for (const fault of ['read', 'sink'] as const) {
      const w = workload();
      await w.schedule((n) => {
        if (n === 0 && fault === 'read') w.source.failures.push({ page: 1, retryable: true });
        if (n === 0 && fault === 'sink') w.sink.failNext = 1_000;
        if (n === 1) w.sink.failNext = 0;
      });
      w.expectExactlyOnce();
      expect(w.runs[0]!.sources[0]!.status).toBe(fault === 'read' ? 'failed' : 'undelivered');
      // A failed read: the second run starts where the first one was meant to start (minus the
      // overlap). A refused alert is set aside, so the first window counts as read.
      const start = fault === 'read' ? T0 + 5 * MIN - 6 * MIN : T0 + 5 * MIN;
      expect(w.runs[1]!.sources[0]!.window!.from).toBe(new Date(start - 2 * MIN).toISOString());
    }
  });

  it('caps catch-up and names the part of the timeline it did not scan', async () => {
    const w = workload();
    await w.run();
    w.advance(30 * 60 * MIN);
    const summary = await w.run();
    const s = summary.sources[0]!;
    expect(s.skippedWindow).toEqual({
      from: new Date(T0 - 2 * MIN).toISOString(),
      to: new Date(T0 + 30 * 60 * MIN - 24 * 60 * MIN).toISOString(),
    });
    expect(s.warnings[0]).toContain('were NOT scanned');
  });
});
