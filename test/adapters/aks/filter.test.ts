import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../../adapters/file/detect.js';
import { buildDataQuery, buildProbeQuery, kqlString, needsPredicate } from '../../../adapters/aks/filter.js';
import { createAksSource } from '../../../adapters/aks/source.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { asAks, k8sEvent, type K8sAuditEventJson } from '../../../examples/audit-records.js';
import { matchesNeeds, unionNeeds, type NeedsUnion } from '../../../core/model/needs.js';
import { RULES } from '../../../rules/index.js';
import { FakeLogAnalytics } from '../../fakes/log-analytics.js';
import { runKql } from '../../fakes/log-analytics-kql-eval.js';
import { examplesOf } from '../../helpers/rule-examples.js';

const W = { from: new Date('2026-03-02T09:00:00.000Z'), to: new Date('2026-03-02T09:06:00.000Z') };

const NEEDS: NeedsUnion = {
  resources: new Map([
    ['secrets', { verbs: new Set(['list', 'get', 'watch']) }],
    ['configmaps', { verbs: new Set(['get', 'list', 'watch']) }],
    ['pods', { subresources: new Set(['exec', 'attach']) }],
    ['certificatesigningrequests', {}],
  ]),
};

describe('aks filter', () => {
  it('compiles the needs for AKSAudit columns, grouping resources with the same constraints', () => {
    expect(needsPredicate(NEEDS, 'resource-specific')).toBe(
      '(tostring(ObjectRef.resource) in ("certificatesigningrequests")) or ' +
        '(tostring(ObjectRef.resource) in ("configmaps", "secrets") and Verb in ("get", "list", "watch")) or ' +
        '(tostring(ObjectRef.resource) in ("pods") and tostring(ObjectRef.subresource) in ("attach", "exec"))',
    );
  });

  it('builds the AKSAudit query: ingestion window, cluster, needs, projection, page cap', () => {
    const needs: NeedsUnion = { resources: new Map([['secrets', { verbs: new Set(['get']) }]]) };
    expect(buildDataQuery({ source: { layout: 'resource-specific', table: 'AKSAudit' }, needs, window: W, cluster: 'aks-prod-1', take: 101 })).toBe(
      [
        'AKSAudit',
        '| where ingestion_time() >= datetime(2026-03-02T09:00:00.000Z) and ingestion_time() < datetime(2026-03-02T09:06:00.000Z)',
        '| where _ResourceId endswith "/managedclusters/aks-prod-1"',
        '| where tostring(ObjectRef.resource) in ("secrets") and Verb in ("get")',
        '| project TimeGenerated, IngestedAt = ingestion_time(), Level, AuditId, Stage, RequestUri, Verb, User, SourceIps, UserAgent, ObjectRef, ' +
          'ResponseStatus, RequestObject, ResponseObject, RequestReceivedTime, StageReceivedTime, Annotations, _ResourceId, Type',
        '| take 101',
      ].join('\n'),
    );
  });

  it('builds the AzureDiagnostics query with a term pre-filter before parse_json', () => {
    const needs: NeedsUnion = { resources: new Map([['secrets', { verbs: new Set(['get']) }], ['pods', { subresources: new Set(['exec']) }]]) };
    expect(buildDataQuery({ source: { layout: 'azure-diagnostics', table: 'AzureDiagnostics', category: 'kube-audit' }, needs, window: W, take: 11 })).toBe(
      [
        'AzureDiagnostics',
        '| where ingestion_time() >= datetime(2026-03-02T09:00:00.000Z) and ingestion_time() < datetime(2026-03-02T09:06:00.000Z)',
        '| where Category == "kube-audit"',
        '| where log_s has_any ("pods", "secrets")',
        '| extend Audit = parse_json(log_s)',
        '| where ((tostring(Audit.objectRef.resource) in ("pods") and tostring(Audit.objectRef.subresource) in ("exec")) or ' +
          '(tostring(Audit.objectRef.resource) in ("secrets") and tostring(Audit.verb) in ("get"))) or not(log_s endswith "}" or log_s endswith "}\\n")',
        '| project TimeGenerated, IngestedAt = ingestion_time(), Category, ResourceId, log_s, Type',
        '| take 11',
      ].join('\n'),
    );
  });

  it('leaves out the term pre-filter when a resource name is not one term', () => {
    const needs: NeedsUnion = { resources: new Map([['secrets', {}], ['secret-stores', {}]]) };
    const q = buildDataQuery({ source: { layout: 'azure-diagnostics', table: 'AzureDiagnostics', category: 'kube-audit' }, needs, window: W, take: 2 });
    expect(q).not.toContain('has_any');
  });

  it('compiles nothing when no rule needs anything', () => {
    expect(needsPredicate({ resources: new Map() }, 'azure-diagnostics')).toBeUndefined();
    expect(buildDataQuery({ source: { layout: 'resource-specific', table: 'AKSAudit' }, needs: { resources: new Map() }, window: W, take: 2 })).toBeUndefined();
  });

  it('probes table and category counts of the window', () => {
    expect(buildProbeQuery(['resource-specific', 'azure-diagnostics'], W, 'c1')).toBe(
      [
        'union isfuzzy=true AKSAudit, AKSAuditAdmin, AzureDiagnostics',
        '| where ingestion_time() >= datetime(2026-03-02T09:00:00.000Z) and ingestion_time() < datetime(2026-03-02T09:06:00.000Z)',
        '| where Type != "AzureDiagnostics" or column_ifexists("Category", "") in ("kube-audit", "kube-audit-admin")',
        '| where _ResourceId endswith "/managedclusters/c1"',
        '| summarize Rows = count() by Type, Category = column_ifexists("Category", "")',
      ].join('\n'),
    );
  });

  it('narrows by user-name prefix and user-agent exclusion, case-sensitively, per rule', () => {
    const union = unionNeeds([
      { needs: { resources: ['pods', 'configmaps'], userPrefixes: ['system:node:'], excludeUserAgentPrefixes: ['kubelet/'] } },
      { needs: { resources: ['pods'], subresources: [''], verbs: ['create'] } },
    ] as unknown as Parameters<typeof unionNeeds>[0]);
    expect(needsPredicate(union, 'resource-specific')).toBe(
      '(tostring(ObjectRef.resource) in ("configmaps", "pods") and tostring(User.username) startswith_cs "system:node:" and ' +
        '(isempty(UserAgent) or not(UserAgent startswith_cs "kubelet/"))) or ' +
        '(tostring(ObjectRef.resource) in ("pods") and tostring(ObjectRef.subresource) in ("") and Verb in ("create"))',
    );
    expect(needsPredicate(union, 'azure-diagnostics')).toBe(
      '(tostring(Audit.objectRef.resource) in ("configmaps", "pods") and tostring(Audit.user.username) startswith_cs "system:node:" and ' +
        '(isempty(tostring(Audit.userAgent)) or not(tostring(Audit.userAgent) startswith_cs "kubelet/"))) or ' +
        '(tostring(Audit.objectRef.resource) in ("pods") and tostring(Audit.objectRef.subresource) in ("") and tostring(Audit.verb) in ("create"))',
    );
  });

  it('the fake evaluates the user and user-agent clauses for real', () => {
    const union = unionNeeds([{ needs: { resources: ['pods'], userPrefixes: ['system:node:'], excludeUserAgentPrefixes: ['kubelet/'] } }] as unknown as Parameters<typeof unionNeeds>[0]);
    const rows: Array<[string, string, string | null]> = [
      ['kubelet', 'system:node:n1', 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350'],
      ['capital-kubelet', 'system:node:n1', 'Kubelet/v1.30.2'],
      ['kubectl', 'system:node:n1', 'kubectl/v1.30.2'],
      ['no-agent', 'system:node:n1', null],
      ['empty-agent', 'system:node:n1', ''],
      ['upper-user', 'SYSTEM:NODE:n1', 'curl/8.5.0'],
      ['controller', 'system:kube-controller-manager', 'curl/8.5.0'],
    ];
    const table = {
      columns: [{ name: 'AuditId', type: 'string' as const }, { name: 'User', type: 'dynamic' as const }, { name: 'UserAgent', type: 'string' as const }, { name: 'ObjectRef', type: 'dynamic' as const }],
      rows: rows.map(([id, user, ua]) => ({ values: { AuditId: id, User: { username: user }, UserAgent: ua, ObjectRef: { resource: 'pods' } }, ingestedAt: W.from })),
    };
    const result = runKql(`AKSAudit | where ${needsPredicate(union, 'resource-specific')!} | project AuditId`, new Map([['AKSAudit', table]]), () => true);
    expect(result.rows.map((r) => r[0])).toEqual(['capital-kubelet', 'kubectl', 'no-agent', 'empty-agent']);
    expect(() => runKql('AKSAudit | where UserAgent startswith_cc "x"', new Map([['AKSAudit', table]]), () => true)).toThrow(/startswith_cc|unexpected/);
  });

  it('escapes string literals', () => {
    expect(kqlString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

/** The raw k8s Event behind an AKS-shaped record, when it has one. */
function aksEventJson(record: unknown): K8sAuditEventJson | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const r = record as Record<string, unknown>;
  const props = r['properties'] as Record<string, unknown> | undefined;
  const log = props?.['log'] ?? r['log_s'];
  if (typeof log === 'object' && log !== null) return log as K8sAuditEventJson;
  if (typeof log !== 'string') return undefined;
  try {
    return JSON.parse(log) as K8sAuditEventJson;
  } catch {
    return undefined;
  }
}

/** An Event with the model's facts, for examples in EKS, GKE or raw shape. */
function eventJsonOf(e: AuditEvent): K8sAuditEventJson | undefined {
  if (e.target.resource === undefined) return undefined;
  const ev = k8sEvent({
    verb: e.verb,
    user: e.user.name ?? 'unknown',
    resource: e.target.resource,
    ...(e.target.subresource === undefined ? {} : { subresource: e.target.subresource }),
    ...(e.target.namespace === undefined ? {} : { namespace: e.target.namespace }),
    ...(e.target.name === undefined ? {} : { name: e.target.name }),
    ...(e.target.apiGroup === undefined ? {} : { apiGroup: e.target.apiGroup }),
    ...(e.requestURI === undefined ? {} : { requestURI: e.requestURI }),
    ...(e.requestObject === undefined ? {} : { requestObject: e.requestObject }),
    ...(e.userAgent === undefined ? {} : { userAgent: e.userAgent }),
    sourceIPs: e.sourceIPs,
    auditID: e.id,
    time: e.time,
  });
  if (e.userAgent !== undefined) return ev;
  // k8sEvent fills in kubectl's agent; the user and user-agent clauses must see the request as logged.
  const { userAgent: _default, ...rest } = ev;
  return rest;
}

describe('aks filter over every rule example', () => {
  const union = unionNeeds(RULES);
  const resourceSpecific: Array<Record<string, unknown>> = [];
  const azureDiagnostics: Array<Record<string, unknown>> = [];
  const expected: string[] = [];
  // Events of positive examples that their own rule needs: they decide a verdict.
  const decisive: string[] = [];
  const SEEN_AT = '2026-03-02T09:01:00.000Z';
  for (const rule of RULES) {
    examplesOf(rule).forEach((example, x) => {
      const records = example.records ?? [example.record];
      records.forEach((record, i) => {
        const origin = { source: `example:${rule.id}:${x}`, index: i };
        for (const outcome of parseAnyRecord(record, origin, example.cluster === undefined ? {} : { cluster: example.cluster })) {
          if (outcome.kind !== 'event') continue;
          const ev = aksEventJson(record) ?? eventJsonOf(outcome.event);
          if (ev === undefined) continue;
          // Filtering never changes a verdict: every event some rule's exact needs match is kept; the rest may go.
          if (RULES.some((r) => matchesNeeds(r.needs, outcome.event))) expected.push(outcome.event.id);
          if (example.expect !== null && matchesNeeds(rule.needs, outcome.event)) decisive.push(outcome.event.id);
          // The example's own AKSAudit row when it is one; else the Event rendered as a row.
          const r = record as Record<string, unknown>;
          // An Event without auditID gets a hash of its record as id; a row built from it keeps that id.
          const withId = { ...ev, auditID: typeof ev.auditID === 'string' ? ev.auditID : outcome.event.id };
          const rsRow = r['Type'] === 'AKSAudit' || r['Type'] === 'AKSAuditAdmin' ? r : asAks(withId, { form: 'aksaudit' });
          resourceSpecific.push({ ...rsRow, TimeGenerated: SEEN_AT });
          const adRow = asAks(ev, { form: 'azure-diagnostics' });
          const rawLog = typeof r['log_s'] === 'string' ? r['log_s'] : typeof (r['properties'] as Record<string, unknown> | undefined)?.['log'] === 'string' ? (r['properties'] as Record<string, string>)['log'] : undefined;
          azureDiagnostics.push({ ...adRow, ...(rawLog === undefined ? {} : { log_s: rawLog }), _ResourceId: String(adRow['ResourceId']), TimeGenerated: SEEN_AT });
        }
      });
    });
  }
  // Requests no rule needs, so the test also shows the filter drops something.
  for (const [i, resource] of ['leases', 'events'].entries()) {
    const ev = k8sEvent({ verb: 'update', user: 'system:node:aks-nodepool1-1-vmss000000', resource, namespace: 'kube-node-lease', name: `n-${i}`, auditID: `unneeded-${i}` });
    resourceSpecific.push({ ...asAks(ev, { form: 'aksaudit' }), TimeGenerated: SEEN_AT });
    const ad = asAks(ev, { form: 'azure-diagnostics' });
    azureDiagnostics.push({ ...ad, _ResourceId: String(ad['ResourceId']), TimeGenerated: SEEN_AT });
  }
  let fake: FakeLogAnalytics;
  beforeAll(async () => {
    fake = await FakeLogAnalytics.start();
    fake.addRows('AKSAudit', resourceSpecific, new Date('2026-03-02T09:02:00.000Z'));
    fake.addRows('AzureDiagnostics', azureDiagnostics, new Date('2026-03-02T09:02:00.000Z'));
  });
  afterAll(async () => {
    await fake.close();
  });

  it('has rule examples to check, some of them needed by no rule', () => {
    expect(RULES.length === 0 || expected.length > 0).toBe(true);
    expect(decisive.length).toBeGreaterThan(0);
    // The kubelet's own node-credential requests in the examples: shown to the filter, needed by no rule.
    expect(resourceSpecific.length - 2).toBeGreaterThan(expected.length);
    expect(union.resources.has('leases') || union.resources.has('events')).toBe(false);
  });

  for (const layout of ['resource-specific', 'azure-diagnostics'] as const) {
    it(`keeps exactly the example events some rule needs (${layout})`, async () => {
      const source = createAksSource({ workspaceId: fake.workspaceId, endpoint: fake.endpoint, credential: fake.credential, tlsOptions: { ca: fake.ca }, layout, env: {} });
      const got: string[] = [];
      const problems: string[] = [];
      for await (const page of source.read(W, { needs: union })) {
        for (const o of page.outcomes) {
          if (o.kind === 'event') got.push(o.event.id);
          else problems.push(o.kind === 'rejected' ? o.rejection.detail : o.kind === 'skipped' ? o.skip.reason : o.kind);
        }
      }
      expect(problems).toEqual([]);
      expect(got.sort()).toEqual([...expected].sort());
      expect(decisive.filter((id) => !got.includes(id))).toEqual([]);
    });
  }
});
