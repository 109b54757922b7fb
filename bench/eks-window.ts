import { randomUUID } from 'node:crypto';
import { createEksSource, DEFAULT_LATE_ARRIVAL_MS } from '../adapters/eks/source.js';
import type { AuditEvent } from '../core/event.js';
import { matchesNeeds, unionNeeds } from '../core/needs.js';
import type { AnyRule } from '../core/rule.js';
import { RULES } from '../rules/index.js';
import { fakeClient, FakeCloudWatchLogs, type SeedEvent } from '../test/fakes/cloudwatch-logs.js';

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
   * In steady state each scan also searches `lateArrivalMs` of earlier event time, so about
   * (window + lookback) / window times the matching events are downloaded (and all but the
   * window's own dropped by ingestion time).
   */
  steadyStateShare: number;
  /** Share each rule alone would download, by rule id: which needs make the filter wide. */
  shareByRule: Record<string, number>;
}

const WINDOW_MS = 6 * 60_000;
const RATE = 1_000;
const CLUSTER = 'bench-eks';
const STREAMS = ['kube-apiserver-audit-0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'kube-apiserver-audit-9f8e7d6c5b4a39281706f5e4d3c2b1a0'];

interface Kind {
  weight: number;
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  user: 'kubelet' | 'controller' | 'scheduler' | 'sa' | 'human';
  namespaced: boolean;
}

// A busy cluster's API traffic is dominated by leases, watches and status updates from kubelets
// and controllers; credential-relevant requests are a small tail (research/rules.md §2).
const MIX: readonly Kind[] = [
  { weight: 260, verb: 'update', resource: 'leases', group: 'coordination.k8s.io', user: 'kubelet', namespaced: true },
  { weight: 90, verb: 'get', resource: 'leases', group: 'coordination.k8s.io', user: 'controller', namespaced: true },
  { weight: 90, verb: 'get', resource: 'pods', user: 'controller', namespaced: true },
  { weight: 60, verb: 'list', resource: 'pods', user: 'controller', namespaced: true },
  { weight: 50, verb: 'watch', resource: 'pods', user: 'kubelet', namespaced: false },
  { weight: 40, verb: 'patch', resource: 'pods', subresource: 'status', user: 'kubelet', namespaced: true },
  { weight: 70, verb: 'get', resource: 'configmaps', user: 'controller', namespaced: true },
  { weight: 40, verb: 'watch', resource: 'configmaps', user: 'kubelet', namespaced: true },
  { weight: 60, verb: 'get', resource: 'endpoints', user: 'controller', namespaced: true },
  { weight: 50, verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', user: 'controller', namespaced: false },
  { weight: 40, verb: 'update', resource: 'endpointslices', group: 'discovery.k8s.io', user: 'controller', namespaced: true },
  { weight: 30, verb: 'patch', resource: 'nodes', subresource: 'status', user: 'kubelet', namespaced: false },
  { weight: 20, verb: 'get', resource: 'nodes', user: 'kubelet', namespaced: false },
  { weight: 30, verb: 'create', resource: 'events', user: 'controller', namespaced: true },
  { weight: 20, verb: 'get', resource: 'deployments', group: 'apps', user: 'controller', namespaced: true },
  { weight: 20, verb: 'update', resource: 'replicasets', group: 'apps', subresource: 'status', user: 'controller', namespaced: true },
  { weight: 15, verb: 'create', resource: 'subjectaccessreviews', group: 'authorization.k8s.io', user: 'sa', namespaced: false },
  { weight: 15, verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io', user: 'sa', namespaced: false },
  { weight: 10, verb: 'create', resource: 'serviceaccounts', subresource: 'token', user: 'kubelet', namespaced: true },
  { weight: 8, verb: 'get', resource: 'secrets', user: 'kubelet', namespaced: true },
  { weight: 4, verb: 'watch', resource: 'secrets', user: 'controller', namespaced: true },
  { weight: 1, verb: 'list', resource: 'secrets', user: 'human', namespaced: true },
  { weight: 0.4, verb: 'create', resource: 'certificatesigningrequests', group: 'certificates.k8s.io', user: 'kubelet', namespaced: false },
  { weight: 0.2, verb: 'update', resource: 'certificatesigningrequests', group: 'certificates.k8s.io', subresource: 'approval', user: 'controller', namespaced: false },
  { weight: 0.2, verb: 'create', resource: 'pods', subresource: 'exec', user: 'human', namespaced: true },
  { weight: 2, verb: 'create', resource: 'pods', user: 'controller', namespaced: true },
  { weight: 1, verb: 'get', resource: 'namespaces', user: 'human', namespaced: false },
];

const USERS: Record<Kind['user'], (i: number) => { name: string; groups: string[]; ua: string }> = {
  kubelet: (i) => ({ name: `system:node:ip-10-0-${i % 40}-${i % 200}.ec2.internal`, groups: ['system:nodes', 'system:authenticated'], ua: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350' }),
  controller: () => ({ name: 'system:kube-controller-manager', groups: ['system:authenticated'], ua: 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/leader-election' }),
  scheduler: () => ({ name: 'system:kube-scheduler', groups: ['system:authenticated'], ua: 'kube-scheduler/v1.30.2' }),
  sa: (i) => ({ name: `system:serviceaccount:kube-system:svc-${i % 12}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'], ua: 'Go-http-client/2.0' }),
  human: () => ({ name: 'arn:aws:iam::111122223333:role/ops', groups: ['system:authenticated'], ua: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' }),
};

function pick(r: number): Kind {
  const total = MIX.reduce((s, k) => s + k.weight, 0);
  let x = r * total;
  for (const k of MIX) {
    x -= k.weight;
    if (x < 0) return k;
  }
  return MIX[0] as Kind;
}

/** A deterministic pseudo-random stream, so runs are comparable. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function message(k: Kind, i: number, at: number, rnd: () => number): string {
  const u = USERS[k.user](i);
  const ns = k.namespaced ? `kube-system` : undefined;
  const name = k.verb === 'list' || k.verb === 'watch' ? undefined : `obj-${i % 500}`;
  const prefix = k.group === undefined ? '/api/v1' : `/apis/${k.group}/v1`;
  const uri = `${prefix}${ns === undefined ? '' : `/namespaces/${ns}`}/${k.resource}${name === undefined ? '' : `/${name}`}${k.subresource === undefined ? '' : `/${k.subresource}`}`;
  const objectRef: Record<string, string> = { resource: k.resource, apiVersion: 'v1' };
  if (ns !== undefined) objectRef['namespace'] = ns;
  if (name !== undefined) objectRef['name'] = name;
  if (k.group !== undefined) objectRef['apiGroup'] = k.group;
  if (k.subresource !== undefined) objectRef['subresource'] = k.subresource;
  const ts = new Date(at).toISOString().replace('Z', '000Z');
  return JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: k.verb === 'watch' ? `${uri}?allowWatchBookmarks=true&resourceVersion=${Math.floor(rnd() * 1e7)}&watch=true` : uri,
    verb: k.verb,
    user: { username: u.name, groups: u.groups },
    sourceIPs: [`10.0.${i % 40}.${i % 200}`],
    userAgent: u.ua,
    objectRef,
    responseStatus: { metadata: {}, code: k.verb === 'create' ? 201 : 200 },
    requestReceivedTimestamp: ts,
    stageTimestamp: ts,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding "system:node"' },
  });
}

export async function runEksWindowBench(rules: readonly AnyRule[] = RULES): Promise<EksWindowBenchResult> {
  const from = Date.parse('2026-03-02T09:00:00Z');
  const to = from + WINDOW_MS;
  const total = (WINDOW_MS / 1_000) * RATE;
  const rnd = lcg(7);
  const seeds: SeedEvent[] = [];
  const kinds = new Map<Kind, number>();
  for (let i = 0; i < total; i++) {
    const ingested = from + Math.floor((i * WINDOW_MS) / total);
    // Most lines arrive within seconds; 1 % are minutes late.
    const lag = rnd() < 0.01 ? 60_000 + Math.floor(rnd() * 14 * 60_000) : 500 + Math.floor(rnd() * 30_000);
    const kind = pick(rnd());
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    seeds.push({ logStreamName: STREAMS[i % 2] as string, timestamp: ingested - lag, ingestionTime: ingested, message: message(kind, i, ingested - lag, rnd) });
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
    const shareByRule: Record<string, number> = {};
    for (const rule of rules) {
      let n = 0;
      for (const [k, count] of kinds) {
        // The user and agent of a kind do not depend on the index's value here, only on its kind.
        const u = USERS[k.user](0);
        const probe = {
          verb: k.verb,
          user: { name: u.name },
          userAgent: u.ua,
          target: { resource: k.resource, ...(k.subresource === undefined ? {} : { subresource: k.subresource }) },
        } as AuditEvent;
        if (matchesNeeds(rule.needs, probe)) n += count;
      }
      shareByRule[rule.id] = n / total;
    }
    return {
      downloadedShare: downloaded / total,
      eventsPerSecond: total / seconds,
      totalEvents: total,
      downloadedEvents: downloaded,
      parsedEvents,
      steadyStateShare: (downloaded / total) * ((WINDOW_MS + DEFAULT_LATE_ARRIVAL_MS) / WINDOW_MS),
      shareByRule,
    };
  } finally {
    await fake.close();
  }
}
