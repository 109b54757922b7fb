import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LATE_ARRIVAL_MS } from '../../../adapters/eks/pull.js';
import { createEksSource, LateArrivalMargin, PROBE_EVERY } from '../../../adapters/eks/source.js';
import { asEks, k8sEvent } from '../../../examples/audit-records.js';
import type { NeedsUnion } from '../../../core/model/needs.js';
import type { LogSource } from '../../../core/model/source.js';
import { fakeClient, FakeCloudWatchLogs, type SeedEvent } from '../../fakes/cloudwatch-logs.js';

const CLUSTER = 'prod-eks-1';
const GROUP = `/aws/eks/${CLUSTER}/cluster`;
const T = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const NEEDS: NeedsUnion = { resources: new Map([['secrets', { verbs: new Set(['get']) }]]) };

function secretGet(id: string, at: number, ingested: number): SeedEvent {
  const cw = asEks(k8sEvent({ verb: 'get', resource: 'secrets', namespace: 'default', name: 'x', user: 'alice', auditID: id, time: new Date(at).toISOString() }));
  return { logStreamName: String(cw['logStreamName']), timestamp: at, ingestionTime: ingested, message: String(cw['message']), eventId: `cw-${id}` };
}

async function read(source: LogSource, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of source.read({ from: new Date(from), to: new Date(to) }, { needs: NEEDS })) {
    for (const o of page.outcomes) if (o.kind === 'event') ids.push(o.event.id);
  }
  return ids;
}

describe('adaptive late-arrival margin (EKS)', () => {
  it('starts at the cap, settles at a multiple of the recent largest lag within [min, cap], and probes the cap regularly', () => {
    const m = new LateArrivalMargin(30 * MIN, 4 * MIN);
    expect(m.current()).toBe(30 * MIN);
    expect(m.observe(20_000, 30 * MIN)).toBeUndefined();
    expect(m.current()).toBe(4 * MIN); // 3 × 20 s is below the floor
    m.observe(100_000, 4 * MIN);
    expect(m.current()).toBe(5 * MIN); // 3 × 100 s
    // The largest lag of the recent windows rules, until it ages out (12 windows).
    for (let i = 0; i < 11; i++) m.observe(10_000, m.current());
    expect(m.current()).toBe(5 * MIN);
    m.observe(10_000, m.current());
    expect(m.current()).toBe(4 * MIN);
    const probes: number[] = [];
    for (let i = 0; i < 2 * PROBE_EVERY; i++) {
      const used = m.current();
      if (used === 30 * MIN) probes.push(i);
      m.observe(10_000, used);
    }
    expect(probes).toHaveLength(2);
    expect(probes[1]! - probes[0]!).toBe(PROBE_EVERY);
  });

  it('warns and searches the full cap next when a lag nears the margin', () => {
    const m = new LateArrivalMargin(30 * MIN, 4 * MIN);
    m.observe(10_000, 30 * MIN);
    const warning = m.observe(3 * MIN, 4 * MIN);
    expect(warning).toContain('EKS ingestion lag reached 180 s, more than half the 4-minute late-arrival margin: the next window searches the full 30 minutes');
    expect(m.current()).toBe(30 * MIN);
    expect(m.observe(4 * MIN - 1_000, 4 * MIN)).toContain('may have been missed in earlier windows');
  });

  describe('through the CloudWatch Logs fake', () => {
    let fake: FakeCloudWatchLogs;
    beforeEach(async () => {
      fake = await FakeCloudWatchLogs.start();
    });
    afterEach(async () => {
      await fake.close();
    });

    it('narrows the searched event-time range after quiet windows, widens it after a lag near the margin, and still hands each event to one window', async () => {
      fake.putEvents(GROUP, [
        secretGet('w1', T + 1 * MIN, T + 1 * MIN + 15_000),
        secretGet('w2', T + 6 * MIN, T + 6 * MIN + 20_000),
        // Three minutes late: within the 4-minute margin, but more than half of it.
        secretGet('w3-late-3m', T + 8 * MIN, T + 11 * MIN),
        // Twenty minutes late, in the window after the warning: the widened margin finds it.
        secretGet('w4-late-20m', T + 15 * MIN - 20 * MIN, T + 16 * MIN),
      ]);
      const source = createEksSource({ cluster: CLUSTER, region: 'us-west-2', client: fakeClient(fake.endpoint) });
      const starts: number[] = [];
      const windows = [[T, T + 5 * MIN], [T + 5 * MIN, T + 10 * MIN], [T + 10 * MIN, T + 15 * MIN], [T + 15 * MIN, T + 20 * MIN]] as const;
      const got: string[][] = [];
      const reports = [];
      for (const [from, to] of windows) {
        const before = fake.requests.length;
        got.push(await read(source, from, to));
        starts.push(from - Number((fake.requests[before]!.body as { startTime: number }).startTime));
        reports.push(source.readReport?.());
      }
      expect(got).toEqual([['w1'], ['w2'], ['w3-late-3m'], ['w4-late-20m']]);
      expect(starts).toEqual([DEFAULT_LATE_ARRIVAL_MS, 4 * MIN, 4 * MIN, DEFAULT_LATE_ARRIVAL_MS]);
      expect(reports[0]!.metrics).toEqual({ LateArrivalMarginMs: 30 * MIN, IngestionLagMaxMs: 15_000 });
      expect(reports[2]!.metrics['IngestionLagNearMargin']).toBe(1);
      expect(reports[2]!.warnings[0]).toContain('the next window searches the full 30 minutes');
    });

    it('keeps a fixed margin when the minimum equals the cap', async () => {
      fake.putEvents(GROUP, [secretGet('a', T + MIN, T + MIN + 1_000)]);
      const source = createEksSource({ cluster: CLUSTER, region: 'us-west-2', client: fakeClient(fake.endpoint), minLateArrivalMs: DEFAULT_LATE_ARRIVAL_MS });
      for (let i = 0; i < 3; i++) await read(source, T + i * 5 * MIN, T + (i + 1) * 5 * MIN);
      // Each window asks twice (the rules' filter and the cut-line query), both from the same start.
      expect(fake.requests.map((r) => (r.body as { startTime: number }).startTime)).toEqual([0, 0, 1, 1, 2, 2].map((i) => T + i * 5 * MIN - DEFAULT_LATE_ARRIVAL_MS));
    });
  });
});
