import { DEFAULT_LATE_ARRIVAL_MS } from '../adapters/eks/pull.js';
import { createEksSource, DEFAULT_MIN_LATE_ARRIVAL_MS, LateArrivalMargin, PROBE_EVERY } from '../adapters/eks/source.js';
import type { AuditEvent } from '../core/model/event.js';
import { matchesNeeds, unionNeeds } from '../core/model/needs.js';
import type { AnyRule } from '../core/model/rule.js';
import { RULES } from '../rules/index.js';
import { fakeClient, FakeCloudWatchLogs, type SeedEvent } from '../test/fakes/cloudwatch-logs.js';
import { identities, lcg, pickKind, trafficEvent, type TrafficKind } from './window-traffic.js';

/**
 * A 6-minute window of a 1,000 events/s EKS cluster read through the CloudWatch Logs fake with the
 * push-down filter compiled from the rule set: what share of the window is downloaded, and how
 * many window events per second the source path (fake search, SDK, parse) gets through; the
 * engine is measured by the engine bench.
 */

export interface EksWindowBenchResult {
  /** Downloaded events / events ingested in the window. */
  downloadedShare: number;
  /** Window events per wall-clock second, end to end. */
  eventsPerSecond: number;
  totalEvents: number;
  downloadedEvents: number;
  /** Events parsed without rejection. */
  parsedEvents: number;
  /**
   * In steady state with a fixed 30-minute margin each scan also searches that much earlier
   * event time, so about (window + margin) / window times the matching events are downloaded (and
   * all but the window's own dropped by ingestion time).
   */
  steadyStateShare: number;
  /** Share each rule alone would download, by rule id: which needs make the filter wide. */
  shareByRule: Record<string, number>;
  /** The lag model of this run (see LAG_MODELS). */
  lagModel: LagModel;
  /** Largest ingestion lag of the window, as the source measured it. */
  maxLagMs: number;
  /**
   * Steady state with the adaptive margin (adapters/eks/source.ts LateArrivalMargin fed the
   * measured lag window after window): the margins of one probe cycle, and the mean share.
   */
  adaptiveMarginsMs: { typical: number; probe: number; mean: number };
  adaptiveSteadyStateShare: number;
  /**
   * Signals of each node's kubelet address for the node and pod address checks: the share of
   * the window each kubelet request kind is, whether the rules' filter downloads it already, and
   * its share at the kubelet's real cadence for this cluster (200 nodes at 1,000 events/s).
   */
  baselineSignals: Record<string, { benchMixShare: number; downloaded: boolean; realCadenceShare: number; everyNode: boolean }>;
}

/**
 * Kubelet requests that carry the node's own address, with how often one node sends each
 * (kubelet defaults: lease renewal every 10 s, node status reported every 5 min when unchanged,
 * a bound token refreshed at 80 % of its hour per pod, Secret watches re-opened every 5 to 10
 * min per mounted Secret) and whether every node sends it (Secret reads need pods that mount one).
 */
const KUBELET_SIGNALS: ReadonlyArray<{ kind: string; verb: string; resource: string; subresource?: string; perNodeSeconds: number; everyNode: boolean }> = [
  { kind: 'update leases', verb: 'update', resource: 'leases', perNodeSeconds: 10, everyNode: true },
  { kind: 'patch nodes/status', verb: 'patch', resource: 'nodes', subresource: 'status', perNodeSeconds: 300, everyNode: true },
  { kind: 'get nodes', verb: 'get', resource: 'nodes', perNodeSeconds: 10, everyNode: true },
  { kind: 'create serviceaccounts/token', verb: 'create', resource: 'serviceaccounts', subresource: 'token', perNodeSeconds: 48 * 60 / 10, everyNode: false },
  { kind: 'get secrets', verb: 'get', resource: 'secrets', perNodeSeconds: 450 / 4, everyNode: false },
];
const NODES = 200;

/**
 * How late lines arrive. `backlog`: 1 % of lines 1 to 15 minutes late, a delivery backlog that
 * never clears (the adaptive margin stays at the cap). `steady`: CloudWatch Logs' usual delivery
 * lag of seconds (public FilterLogEvents samples show 0.04 to 4 s), 0.5 % of lines up to a minute.
 */
export type LagModel = 'backlog' | 'steady';
export const LAG_MODELS: readonly LagModel[] = ['backlog', 'steady'];

function lagOf(model: LagModel, rnd: () => number): number {
  if (model === 'backlog') return rnd() < 0.01 ? 60_000 + Math.floor(rnd() * 14 * 60_000) : 500 + Math.floor(rnd() * 30_000);
  return rnd() < 0.005 ? 5_000 + Math.floor(rnd() * 55_000) : 40 + Math.floor(rnd() * 4_000);
}

const WINDOW_MS = 6 * 60_000;
const RATE = 1_000;
const CLUSTER = 'bench-eks';
const STREAMS = ['kube-apiserver-audit-0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'kube-apiserver-audit-9f8e7d6c5b4a39281706f5e4d3c2b1a0'];

const USERS = identities({
  node: (i) => `ip-10-0-${i % 40}-${i % 200}.ec2.internal`,
  nodeIP: (i) => `10.0.${i % 40}.${i % 200}`,
  human: 'arn:aws:iam::111122223333:role/ops',
  controlPlane: { username: 'eks:addon-manager', groups: ['system:authenticated'], ua: 'eks-addon-manager/v1.30 (linux/amd64)' },
});

export async function runEksWindowBench(rules: readonly AnyRule[] = RULES, lagModel: LagModel = 'backlog'): Promise<EksWindowBenchResult> {
  const from = Date.parse('2026-03-02T09:00:00Z');
  const to = from + WINDOW_MS;
  const total = (WINDOW_MS / 1_000) * RATE;
  const rnd = lcg(7);
  const seeds: SeedEvent[] = [];
  const kinds = new Map<TrafficKind, number>();
  for (let i = 0; i < total; i++) {
    const ingested = from + Math.floor((i * WINDOW_MS) / total);
    const lag = lagOf(lagModel, rnd);
    const kind = pickKind(rnd());
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    seeds.push({ logStreamName: STREAMS[i % 2] as string, timestamp: ingested - lag, ingestionTime: ingested, message: JSON.stringify(trafficEvent(kind, USERS[kind.actor](i), i, ingested - lag, rnd)) });
  }
  const fake = await FakeCloudWatchLogs.start({ scanLimit: 50_000 });
  try {
    fake.putEvents(`/aws/eks/${CLUSTER}/cluster`, seeds);
    seeds.length = 0;
    const source = createEksSource({ cluster: CLUSTER, region: 'us-west-2', client: fakeClient(fake.endpoint) });
    const started = performance.now();
    let parsedEvents = 0;
    for await (const page of source.read({ from: new Date(from), to: new Date(to) }, { needs: unionNeeds(rules) })) {
      for (const o of page.outcomes) if (o.kind === 'event') parsedEvents++;
    }
    const seconds = (performance.now() - started) / 1_000;
    const downloaded = fake.requests.reduce((s, r) => s + (r.events ?? 0), 0);
    const maxLagMs = source.readReport?.()?.metrics['IngestionLagMaxMs'] ?? 0;
    // Steady state: the source's own margin logic, fed this window's lag window after window.
    const margin = new LateArrivalMargin(DEFAULT_LATE_ARRIVAL_MS, DEFAULT_MIN_LATE_ARRIVAL_MS);
    const margins: number[] = [];
    for (let i = 0; i < 2 * PROBE_EVERY; i++) {
      const used = margin.current();
      if (i >= PROBE_EVERY) margins.push(used);
      margin.observe(maxLagMs, used);
    }
    const share = downloaded / total;
    const meanMargin = margins.reduce((a, b) => a + b, 0) / margins.length;
    const shareByRule: Record<string, number> = {};
    for (const rule of rules) {
      let n = 0;
      for (const [k, count] of kinds) {
        // The user and agent of a kind do not depend on the index's value here, only on its kind.
        const u = USERS[k.actor](0);
        const probe = {
          verb: k.verb,
          user: { name: u.username },
          userAgent: u.ua,
          target: { resource: k.resource, ...(k.subresource === undefined ? {} : { subresource: k.subresource }) },
        } as AuditEvent;
        if (matchesNeeds(rule.needs, probe)) n += count;
      }
      shareByRule[rule.id] = n / total;
    }
    const baselineSignals: EksWindowBenchResult['baselineSignals'] = {};
    const union = unionNeeds(rules);
    for (const sig of KUBELET_SIGNALS) {
      const k = [...kinds.keys()].find((x) => x.actor === 'kubelet' && x.verb === sig.verb && x.resource === sig.resource && x.subresource === sig.subresource);
      const u = USERS.kubelet(0);
      const probe = { verb: sig.verb, user: { name: u.username }, userAgent: u.ua, target: { resource: sig.resource, ...(sig.subresource === undefined ? {} : { subresource: sig.subresource }) } } as AuditEvent;
      baselineSignals[sig.kind] = {
        benchMixShare: k === undefined ? 0 : (kinds.get(k) ?? 0) / total,
        downloaded: (union.perRule ?? rules.map((r) => r.needs)).some((n) => matchesNeeds(n, probe)),
        realCadenceShare: NODES / sig.perNodeSeconds / RATE,
        everyNode: sig.everyNode,
      };
    }
    return {
      baselineSignals,
      downloadedShare: downloaded / total,
      eventsPerSecond: total / seconds,
      totalEvents: total,
      downloadedEvents: downloaded,
      parsedEvents,
      steadyStateShare: share * ((WINDOW_MS + DEFAULT_LATE_ARRIVAL_MS) / WINDOW_MS),
      shareByRule,
      lagModel,
      maxLagMs,
      adaptiveMarginsMs: { typical: Math.min(...margins), probe: Math.max(...margins), mean: meanMargin },
      adaptiveSteadyStateShare: share * ((WINDOW_MS + meanMargin) / WINDOW_MS),
    };
  } finally {
    await fake.close();
  }
}
