import { createAksSource } from '../adapters/aks/source.js';
import type { AksLayout } from '../adapters/aks/filter.js';
import { Engine } from '../core/engine/engine.js';
import { unionNeeds } from '../core/model/needs.js';
import type { AnyRule } from '../core/model/rule.js';
import { RULES } from '../rules/index.js';
import { FakeLogAnalytics } from '../test/fakes/log-analytics.js';
import { identities, lcg, pickKind, trafficEvent } from './window-traffic.js';

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

const USERS = identities({
  node: (i) => `aks-nodepool1-12345678-vmss00000${i % 8}`,
  nodeIP: (i) => `10.224.0.${i % 8}`,
  human: 'ops@example.com',
  controlPlane: { username: 'aksService', groups: ['system:masters', 'system:authenticated'], ua: 'aks-operator/v0.0.0' },
});

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
      // Resource logs are usually 3–10 minutes late (https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time).
      const lag = 3 * 60_000 + Math.floor(rnd() * 7 * 60_000);
      const kind = pickKind(rnd());
      rows.push(asRow(trafficEvent(kind, USERS[kind.actor](i), i, ingested - lag, rnd), layout));
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
