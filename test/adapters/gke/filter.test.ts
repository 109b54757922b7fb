import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGkeFilter, compileNeedsClause, dataAccessProbeFilter, DEFAULT_MAX_LATENESS_MS } from '../../../adapters/gke/filter.js';
import { parseAnyRecord } from '../../../adapters/file/detect.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { asGke, k8sEvent, type K8sEventInit } from '../../../examples/audit-records.js';
import { matchesNeeds, matchesUnion, unionNeeds, type NeedsUnion } from '../../../core/model/needs.js';
import type { AnyRule } from '../../../core/model/rule.js';
import { RULES } from '../../../rules/index.js';
import { FakeCloudLogging, type LogEntryJson } from '../../fakes/cloud-logging.js';
import { examplesOf } from '../../helpers/rule-examples.js';

const PROJECT = 'acme-prod';
const WINDOW = { from: new Date('2026-03-02T09:00:00Z'), to: new Date('2026-03-02T09:06:00Z') };
const input = { project: PROJECT, window: WINDOW };

/** The GKE LogEntry of an event: the example's own record when it is one, else rendered from the event. */
function gkeRecordOf(event: AuditEvent, original: unknown): LogEntryJson {
  if (original !== null && typeof original === 'object' && 'protoPayload' in original) {
    return { ...(original as LogEntryJson), receiveTimestamp: '2026-03-02T09:01:00.5Z', timestamp: '2026-03-02T09:00:59Z', logName: logNameFor(event) };
  }
  const init: K8sEventInit = { verb: event.verb, user: event.user.name ?? 'system:anonymous', resource: event.target.resource ?? '', time: '2026-03-02T09:00:59.000000Z', auditID: event.id };
  if (event.target.subresource !== undefined) init.subresource = event.target.subresource;
  if (event.target.namespace !== undefined) init.namespace = event.target.namespace;
  if (event.target.name !== undefined) init.name = event.target.name;
  if (event.target.apiGroup !== undefined) init.apiGroup = event.target.apiGroup;
  if (event.target.apiVersion !== undefined) init.apiVersion = event.target.apiVersion;
  // Some captured Events put `group/version` in objectRef.apiVersion and leave apiGroup out.
  const slash = event.target.apiVersion?.indexOf('/') ?? -1;
  if (slash > 0 && !event.target.apiGroup) {
    init.apiGroup = event.target.apiVersion!.slice(0, slash);
    init.apiVersion = event.target.apiVersion!.slice(slash + 1);
  }
  if (event.requestObject !== undefined) init.requestObject = event.requestObject;
  // The user and user-agent clauses must see the request as logged (k8sEvent fills in kubectl's agent).
  init.sourceIPs = event.sourceIPs;
  const ev = k8sEvent({ ...init, ...(event.userAgent === undefined ? {} : { userAgent: event.userAgent }) });
  if (event.userAgent === undefined) delete ev['userAgent'];
  return asGke(ev, { project: PROJECT, delayMs: 1_500 });
}

const READS = new Set(['get', 'list', 'watch']);
const logNameFor = (e: AuditEvent) => `projects/${PROJECT}/logs/cloudaudit.googleapis.com%2F${READS.has(e.verb) ? 'data_access' : 'activity'}`;

interface Case { rule: string; example: string; id: string; record: LogEntryJson; needed: boolean; decisive: boolean }

/**
 * Every example event of these rules as a GKE record, with whether `union` (some rule's exact
 * needs) needs it and whether it decides its own positive example's verdict.
 */
function casesFor(rules: readonly AnyRule[], union: NeedsUnion): Case[] {
  const out: Case[] = [];
  for (const rule of rules) {
    for (const example of examplesOf(rule)) {
      const records = example.records ?? [example.record];
      records.forEach((record, index) => {
        const hints = example.cluster === undefined ? {} : { cluster: example.cluster };
        for (const outcome of parseAnyRecord(record, { source: 'example', index }, hints)) {
          if (outcome.kind !== 'event' || outcome.event.target.resource === undefined) continue;
          const needed = matchesUnion(union, outcome.event);
          const gke = gkeRecordOf(outcome.event, record);
          // The GKE rendering must parse back to an event with the same verdict, or the case proves nothing.
          const back = parseAnyRecord(gke, { source: 'gke' });
          expect([rule.id, example.name, back.map((o) => (o.kind === 'event' ? matchesUnion(union, o.event) : o.kind === 'rejected' ? o.rejection.detail : o.kind))]).toEqual([rule.id, example.name, [needed]]);
          const decisive = example.expect !== null && matchesNeeds(rule.needs, outcome.event);
          out.push({ rule: rule.id, example: example.name, id: `${rule.id}#${out.length}`, record: { ...gke, insertId: `${rule.id}#${out.length}` }, needed, decisive });
        }
      });
    }
  }
  return out;
}

const noise = (init: K8sEventInit, id: string): LogEntryJson => ({ ...asGke(k8sEvent({ time: '2026-03-02T09:01:00.000000Z', ...init }), { project: PROJECT }), insertId: id });

describe('gke filter', () => {
  it('compiles needs into anchored resourceName and methodName patterns', () => {
    const union = unionNeeds([
      { needs: { resources: ['secrets'], subresources: [''], verbs: ['get', 'list'] } },
      { needs: { resources: ['pods'], subresources: ['exec'], verbs: ['create'] } },
      { needs: { resources: ['nodes'], subresources: ['proxy'] } },
      { needs: { resources: ['certificatesigningrequests'] } },
    ] as unknown as AnyRule[]);
    expect(compileNeedsClause(union)).toBe(
      '(protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?certificatesigningrequests(/[^/]+(/[^/]+(/[^/]+)?)?|/[^/]+/proxy/.*)?$"' +
        ' OR protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?nodes/[^/]+/proxy(/.*)?$"' +
        ' OR (protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?pods/[^/]+/exec(/[^/]+)?$" AND protoPayload.methodName=~"[.]create$")' +
        ' OR (protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?secrets(/[^/]+)?$" AND protoPayload.methodName=~"[.](get|list)$"))',
    );
  });

  it('selects the audit logs, the receive-time window and a lateness-wide timestamp bound', () => {
    const union = unionNeeds([{ needs: { resources: ['secrets'] } }] as unknown as AnyRule[]);
    expect(buildGkeFilter({ ...input, cluster: 'gke-prod-1' }, union)).toBe(
      [
        '(logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity" OR logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access")',
        'resource.type="k8s_cluster"',
        'protoPayload.serviceName="k8s.io"',
        'resource.labels.cluster_name="gke-prod-1"',
        'receiveTimestamp>="2026-03-02T09:00:00.000Z"',
        'receiveTimestamp<"2026-03-02T09:06:00.000Z"',
        'timestamp>="2026-03-02T07:00:00.000Z"',
        '(protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?secrets(/[^/]+(/[^/]+(/[^/]+)?)?|/[^/]+/proxy/.*)?$")',
      ].join('\nAND '),
    );
    expect(DEFAULT_MAX_LATENESS_MS).toBe(7_200_000);
    expect(dataAccessProbeFilter(input)).toBe(
      [
        'logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access"',
        'resource.type="k8s_cluster"',
        'protoPayload.serviceName="k8s.io"',
        'receiveTimestamp>="2026-03-02T09:00:00.000Z"',
        'receiveTimestamp<"2026-03-02T09:06:00.000Z"',
        'timestamp>="2026-03-02T07:00:00.000Z"',
      ].join('\nAND '),
    );
  });

  it('reads nothing for an empty union and everything for names it cannot carry safely', () => {
    expect(buildGkeFilter(input, { resources: new Map() })).toBeUndefined();
    const odd = buildGkeFilter(input, { resources: new Map([['secrets"', {}]]) });
    expect(odd?.endsWith('timestamp>="2026-03-02T07:00:00.000Z"')).toBe(true);
  });

  it('never changes a verdict: keeps every example event some rule needs, as the fake evaluates the filter', async () => {
    const fake = await FakeCloudLogging.start();
    try {
      const failures: string[] = [];
      let kept = 0;
      for (const rule of RULES) {
        const union = unionNeeds([rule]);
        const cases = casesFor([rule], union).filter((c) => c.needed);
        const filter = buildGkeFilter(input, union)!;
        fake.add(...cases.map((c) => c.record));
        const selected = new Set(fake.select(filter, [PROJECT]).map((e) => e['insertId']));
        for (const c of cases) if (!selected.has(c.id)) failures.push(`${c.rule}: "${c.example}" (${String((c.record['protoPayload'] as LogEntryJson)['resourceName'])})`);
        kept += cases.length;
      }
      // The union of all rules too, over every example event: that is the filter a scan sends.
      const all = unionNeeds(RULES);
      const allCases = casesFor(RULES, all).map((c) => ({ ...c, id: `all:${c.id}`, record: { ...c.record, insertId: `all:${c.id}` } }));
      fake.add(...allCases.map((c) => c.record));
      const selected = new Set(fake.select(buildGkeFilter(input, all)!, [PROJECT]).map((e) => e['insertId']));
      for (const c of allCases) {
        if (c.decisive && !c.needed) failures.push(`all rules: positive "${c.example}" of ${c.rule} is needed by no rule`);
        if (c.needed && !selected.has(c.id)) failures.push(`all rules: ${c.rule} "${c.example}"`);
      }
      expect(failures).toEqual([]);
      expect(RULES.length).toBeGreaterThanOrEqual(7);
      expect(kept).toBeGreaterThanOrEqual(RULES.length);
      expect(allCases.some((c) => c.decisive)).toBe(true);
      // An event no rule needs may be dropped: the kubelet's own node-credential requests and other users' pod reads are.
      const dropped = allCases.filter((c) => c.rule === 'node-credential-off-node' && !selected.has(c.id)).map((c) => c.example);
      expect([...new Set(dropped)]).toEqual([
        'kubelet user agent forged, from an address the node never used (AKS, two records)',
        'benign: the kubelet lists its own pods with its user agent (EKS)',
        'benign: kubelet traffic from the same address twice (AKS)',
        'benign: human with kubectl is not a node identity (GKE)',
        'real GKE capture: system:node kubelet deletes a pod with its own user agent (gke-labs/kube-agents delete_call)',
      ]);
    } finally {
      await fake.stop();
    }
  });

  it('compiles user-name prefixes and user-agent exclusions per rule, keeping entries without a user agent', async () => {
    const union = unionNeeds([
      { needs: { resources: ['pods', 'configmaps', 'namespaces'], userPrefixes: ['system:node:'], excludeUserAgentPrefixes: ['kubelet/'] } },
      { needs: { resources: ['pods'], subresources: [''], verbs: ['create'] } },
    ] as unknown as AnyRule[]);
    const user = '(protoPayload.authenticationInfo.principalEmail=~"^system:node:" OR protoPayload.authenticationInfo.principalSubject=~"^system:node:")';
    const agent = 'NOT protoPayload.requestMetadata.callerSuppliedUserAgent=~"^kubelet/"';
    expect(compileNeedsClause(union)).toBe(
      `((protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?(configmaps|pods)(/[^/]+(/[^/]+(/[^/]+)?)?|/[^/]+/proxy/.*)?$" AND ${user} AND ${agent})` +
        ` OR (protoPayload.resourceName=~"^[^/]+/[^/]+/namespaces(/[^/]+(/(finalize|status))?)?$" AND ${user} AND ${agent})` +
        ` OR (protoPayload.resourceName=~"^[^/]+/[^/]+/(namespaces/[^/]+/)?pods(/[^/]+)?$" AND protoPayload.methodName=~"[.]create$"))`,
    );
    const fake = await FakeCloudLogging.start();
    try {
      const node = 'system:node:gke-pool-1';
      const noAgent = noise({ verb: 'get', user: node, resource: 'configmaps', namespace: 'kube-system', name: 'c' }, 'node-without-agent');
      delete (noAgent['protoPayload'] as LogEntryJson & { requestMetadata: Record<string, unknown> }).requestMetadata['callerSuppliedUserAgent'];
      fake.add(
        noise({ verb: 'list', user: node, resource: 'pods', userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350' }, 'kubelet-list'),
        noise({ verb: 'list', user: node, resource: 'pods', userAgent: 'Kubelet/v1.30.2' }, 'capital-kubelet-list'),
        noise({ verb: 'list', user: node, resource: 'pods', userAgent: 'curl/8.5.0' }, 'node-curl-list'),
        noise({ verb: 'get', user: node, resource: 'namespaces', name: 'kube-system', userAgent: 'curl/8.5.0' }, 'node-curl-namespace'),
        noise({ verb: 'list', user: 'system:kube-controller-manager', resource: 'pods', userAgent: 'curl/8.5.0' }, 'controller-list'),
        noise({ verb: 'create', user: 'system:kube-controller-manager', resource: 'pods', namespace: 'a', name: 'p' }, 'controller-pod-create'),
        noAgent,
      );
      const ids = fake.select(buildGkeFilter(input, union)!, [PROJECT]).map((e) => e['insertId']).sort();
      expect(ids).toEqual(['capital-kubelet-list', 'controller-pod-create', 'node-curl-list', 'node-curl-namespace', 'node-without-agent']);
    } finally {
      await fake.stop();
    }
  });

  it('drops entries no rule can use, and sees through the resourceName traps', async () => {
    const fake = await FakeCloudLogging.start();
    try {
      fake.add(
        noise({ verb: 'get', user: 'system:node:n1', resource: 'configmaps', namespace: 'kube-system', name: 'c' }, 'configmap-get'),
        noise({ verb: 'update', user: 'system:node:n1', resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n1' }, 'node-lease-update'),
        noise({ verb: 'get', user: 'u', resource: 'namespaces', name: 'kube-system' }, 'namespace-get'),
        noise({ verb: 'update', user: 'u', resource: 'namespaces', name: 'x', subresource: 'finalize' }, 'namespace-finalize'),
        noise({ verb: 'update', user: 'system:kube-scheduler', resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: 'l' }, 'lease-update'),
        noise({ verb: 'get', user: 'u', resource: 'namespaces', name: 'secrets' }, 'namespace-named-secrets'),
        noise({ verb: 'get', user: 'u', resource: 'configmaps', namespace: 'secrets', name: 'c' }, 'configmap-in-ns-secrets'),
        noise({ verb: 'update', user: 'u', resource: 'secrets', namespace: 'a', name: 's' }, 'secret-update'),
        noise({ verb: 'get', user: 'u', resource: 'secrets', namespace: 'a', name: 's' }, 'secret-get'),
        noise({ verb: 'list', user: 'u', resource: 'secrets' }, 'secret-list-cluster-wide'),
        noise({ verb: 'create', user: 'u', resource: 'pods', subresource: 'exec', namespace: 'a', name: 'p' }, 'pod-exec'),
        noise({ verb: 'get', user: 'u', resource: 'pods', subresource: 'log', namespace: 'a', name: 'p' }, 'pod-log'),
        noise({ verb: 'update', user: 'u', resource: 'certificatesigningrequests', subresource: 'approval', apiGroup: 'certificates.k8s.io', name: 'csr-1' }, 'csr-approval'),
      );
      const union = unionNeeds([
        { needs: { resources: ['secrets'], subresources: [''], verbs: ['get', 'list', 'watch'] } },
        { needs: { resources: ['pods'], subresources: ['exec'], verbs: ['create', 'get'] } },
        { needs: { resources: ['certificatesigningrequests'], subresources: ['', 'approval'] } },
        { needs: { resources: ['namespaces'] } },
      ] as unknown as AnyRule[]);
      const ids = fake.select(buildGkeFilter(input, union)!, [PROJECT]).map((e) => e['insertId']).sort();
      expect(ids).toEqual(['csr-approval', 'namespace-finalize', 'namespace-get', 'namespace-named-secrets', 'pod-exec', 'secret-get', 'secret-list-cluster-wide']);
    } finally {
      await fake.stop();
    }
  });

  it('keeps real nodes/proxy entries whose resourceName names the kubelet path, for the node-proxy rule and for all rules', async () => {
    // A real GKE entry (Panther's GCP audit-log parser test) and variants of its exact shape with other kubelet paths.
    const real = JSON.parse(readFileSync(new URL('../../fixtures/real/panther/gke-nodes-proxy-cadvisor.jsonl', import.meta.url), 'utf8')) as LogEntryJson;
    const at = (path: string, id: string): LogEntryJson => {
      const text = JSON.stringify({ ...real, insertId: id, receiveTimestamp: '2026-03-02T09:01:00.5Z', timestamp: '2026-03-02T09:00:59Z', logName: `projects/${PROJECT}/logs/cloudaudit.googleapis.com%2Factivity` });
      return JSON.parse(text.replaceAll('/proxy/metrics/cadvisor', path)) as LogEntryJson;
    };
    const fake = await FakeCloudLogging.start();
    try {
      fake.add(
        at('/proxy/metrics/cadvisor', 'cadvisor'),
        at('/proxy/run/default/web/web', 'run'),
        at('/proxy/exec/kube-system/agent-x/agent', 'exec'),
        at('/proxy/checkpoint/default/web/web', 'checkpoint'),
        at('/proxy', 'bare-proxy'),
        at('/status', 'node-status'),
      );
      const rule = RULES.find((r) => r.id === 'pki-read-via-node-proxy')!;
      for (const union of [unionNeeds([rule]), unionNeeds(RULES)]) {
        const ids = fake.select(buildGkeFilter(input, union)!, [PROJECT]).map((e) => e['insertId']);
        expect(ids).toEqual(expect.arrayContaining(['cadvisor', 'run', 'exec', 'checkpoint', 'bare-proxy']));
      }
      expect(fake.select(buildGkeFilter(input, unionNeeds([rule]))!, [PROJECT]).map((e) => e['insertId'])).not.toContain('node-status');
    } finally {
      await fake.stop();
    }
  });
});
