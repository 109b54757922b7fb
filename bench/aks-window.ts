import { randomUUID } from 'node:crypto';
import { createAksSource } from '../adapters/aks/source.js';
import type { AksLayout } from '../adapters/aks/filter.js';
import { Engine } from '../core/engine.js';
import { unionNeeds } from '../core/needs.js';
import type { AnyRule } from '../core/rule.js';
import { RULES } from '../rules/index.js';
import { FakeLogAnalytics } from '../test/fakes/log-analytics.js';

/**
 * A 6-minute window of an AKS cluster read through the Log Analytics fake (real SDK over TLS)
 * with the push-down filter compiled from the rule set: what share of the window's rows is
 * downloaded, and how many window events per second the whole path (the fake's KQL evaluation,
 * SDK, parse, engine) gets through. The rate is 250 events/s (90,000 rows), not a busy cluster's
 * 1,000: the fake keeps every row as objects in memory and interprets KQL row by row, so a
 * 360,000-row window costs more memory than the bench should take; the share does not depend on it.
 */

export interface AksWindowBenchResult {
  /** Downloaded rows / rows ingested in the window. */
  downloadedShare: number;
  /** Window events per wall-clock second, end to end. */
  eventsPerSecond: number;
  totalEvents: number;
  downloadedEvents: number;
  findings: number;
  /** Queries sent for the window (probe included). */
  queries: number;
  /** Seconds the fake spent evaluating and serialising: part of the wall clock, not the adapter's cost. */
  fakeSeconds: number;
  layout: AksLayout;
}

const WINDOW_MS = 6 * 60_000;
const CLUSTER = 'bench-aks';
const RESOURCE_ID = `/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-bench/providers/microsoft.containerservice/managedclusters/${CLUSTER}`;

interface Kind {
  weight: number;
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  user: 'kubelet' | 'controller' | 'sa' | 'human' | 'aks';
  namespaced: boolean;
}

// Leases, watches and status updates from kubelets and controllers dominate; the
// credential-relevant requests are a small tail (research/rules.md §2).
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
  { weight: 30, verb: 'patch', resource: 'nodes', subresource: 'status', user: 'kubelet', namespaced: false },
  { weight: 30, verb: 'create', resource: 'events', user: 'controller', namespaced: true },
  { weight: 20, verb: 'get', resource: 'deployments', group: 'apps', user: 'aks', namespaced: true },
  { weight: 15, verb: 'create', resource: 'subjectaccessreviews', group: 'authorization.k8s.io', user: 'sa', namespaced: false },
  { weight: 10, verb: 'create', resource: 'serviceaccounts', subresource: 'token', user: 'kubelet', namespaced: true },
  { weight: 8, verb: 'get', resource: 'secrets', user: 'kubelet', namespaced: true },
  { weight: 4, verb: 'watch', resource: 'secrets', user: 'controller', namespaced: true },
  { weight: 1, verb: 'list', resource: 'secrets', user: 'human', namespaced: true },
  { weight: 0.4, verb: 'create', resource: 'certificatesigningrequests', group: 'certificates.k8s.io', user: 'kubelet', namespaced: false },
  { weight: 0.2, verb: 'update', resource: 'certificatesigningrequests', group: 'certificates.k8s.io', subresource: 'approval', user: 'controller', namespaced: false },
  { weight: 0.2, verb: 'create', resource: 'pods', subresource: 'exec', user: 'human', namespaced: true },
  { weight: 2, verb: 'create', resource: 'pods', user: 'controller', namespaced: true },
];

const USERS: Record<Kind['user'], (i: number) => { username: string; groups: string[]; ua: string }> = {
  kubelet: (i) => ({ username: `system:node:aks-nodepool1-12345678-vmss00000${i % 8}`, groups: ['system:nodes', 'system:authenticated'], ua: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350' }),
  controller: () => ({ username: 'system:kube-controller-manager', groups: ['system:authenticated'], ua: 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/leader-election' }),
  sa: (i) => ({ username: `system:serviceaccount:kube-system:svc-${i % 12}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'], ua: 'Go-http-client/2.0' }),
  human: () => ({ username: 'ops@example.com', groups: ['system:authenticated'], ua: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' }),
  aks: () => ({ username: 'aksService', groups: ['system:masters', 'system:authenticated'], ua: 'aks-operator/v0.0.0' }),
};

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pick(r: number): Kind {
  const total = MIX.reduce((s, k) => s + k.weight, 0);
  let x = r * total;
  for (const k of MIX) {
    x -= k.weight;
    if (x < 0) return k;
  }
  return MIX[0] as Kind;
}

function event(k: Kind, i: number, at: number): Record<string, unknown> {
  const u = USERS[k.user](i);
  const ns = k.namespaced ? 'kube-system' : undefined;
  const name = k.verb === 'list' || k.verb === 'watch' ? undefined : `obj-${i % 500}`;
  const prefix = k.group === undefined ? '/api/v1' : `/apis/${k.group}/v1`;
  const uri = `${prefix}${ns === undefined ? '' : `/namespaces/${ns}`}/${k.resource}${name === undefined ? '' : `/${name}`}${k.subresource === undefined ? '' : `/${k.subresource}`}`;
  const objectRef: Record<string, string> = { resource: k.resource, apiVersion: 'v1' };
  if (ns !== undefined) objectRef['namespace'] = ns;
  if (name !== undefined) objectRef['name'] = name;
  if (k.group !== undefined) objectRef['apiGroup'] = k.group;
  if (k.subresource !== undefined) objectRef['subresource'] = k.subresource;
  const ts = new Date(at).toISOString();
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: k.verb === 'watch' ? `${uri}?watch=true` : uri,
    verb: k.verb,
    user: { username: u.username, groups: u.groups },
    sourceIPs: [`10.224.0.${i % 200}`],
    userAgent: u.ua,
    objectRef,
    responseStatus: { metadata: {}, code: k.verb === 'create' ? 201 : 200 },
    requestReceivedTimestamp: ts,
    stageTimestamp: ts,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  };
}

function asRow(ev: Record<string, unknown>, layout: AksLayout): Record<string, unknown> {
  if (layout === 'azure-diagnostics') {
    return { TimeGenerated: ev['stageTimestamp'], Category: 'kube-audit', ResourceId: RESOURCE_ID.toUpperCase(), _ResourceId: RESOURCE_ID, log_s: JSON.stringify(ev), pod_s: 'kube-apiserver-0' };
  }
  return {
    TimeGenerated: ev['stageTimestamp'],
    Level: ev['level'],
    AuditId: ev['auditID'],
    Stage: ev['stage'],
    RequestUri: ev['requestURI'],
    Verb: ev['verb'],
    User: ev['user'],
    SourceIps: ev['sourceIPs'],
    UserAgent: ev['userAgent'],
    ObjectRef: ev['objectRef'],
    ResponseStatus: ev['responseStatus'],
    RequestReceivedTime: ev['requestReceivedTimestamp'],
    StageReceivedTime: ev['stageTimestamp'],
    Annotations: ev['annotations'],
    PodName: 'kube-apiserver-0',
    _ResourceId: RESOURCE_ID,
  };
}

export async function runAksWindowBench(
  opts: { rules?: readonly AnyRule[]; layout?: AksLayout; eventsPerSecond?: number } = {},
): Promise<AksWindowBenchResult> {
  const rules = opts.rules ?? RULES;
  const layout = opts.layout ?? 'resource-specific';
  const from = Date.parse('2026-03-02T09:00:00Z');
  const total = (WINDOW_MS / 1_000) * (opts.eventsPerSecond ?? 250);
  const rnd = lcg(11);
  const fake = await FakeLogAnalytics.start();
  try {
    const rows: Array<Record<string, unknown>> = [];
    const ingestedAt: Date[] = [];
    for (let i = 0; i < total; i++) {
      const ingested = from + Math.floor((i * WINDOW_MS) / total);
      // Resource logs are usually 3–10 minutes late (clouds.md §2.4).
      const lag = 3 * 60_000 + Math.floor(rnd() * 7 * 60_000);
      rows.push(asRow(event(pick(rnd()), i, ingested - lag), layout));
      ingestedAt.push(new Date(ingested));
    }
    fake.addRows(layout === 'azure-diagnostics' ? 'AzureDiagnostics' : 'AKSAudit', rows, (_, i) => ingestedAt[i]!);
    rows.length = 0;
    const engine = new Engine({ rules });
    const source = createAksSource({ workspaceId: fake.workspaceId, endpoint: fake.endpoint, credential: fake.credential, tlsOptions: { ca: fake.ca }, cluster: CLUSTER, env: {} });
    const started = performance.now();
    let findings = 0;
    let downloaded = 0;
    for await (const page of source.read({ from: new Date(from), to: new Date(from + WINDOW_MS) }, { needs: unionNeeds(rules) })) {
      downloaded += page.outcomes.length;
      for (const o of page.outcomes) if (o.kind === 'event') findings += engine.process(o.event).findings.length;
    }
    const seconds = (performance.now() - started) / 1_000;
    return { downloadedShare: downloaded / total, eventsPerSecond: total / seconds, totalEvents: total, downloadedEvents: downloaded, findings, queries: fake.requests.length, fakeSeconds: fake.requests.reduce((n, r) => n + (r.ms ?? 0), 0) / 1_000, layout };
  } finally {
    await fake.close();
  }
}
