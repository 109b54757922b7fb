import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAksSource, type AksSourceOptions } from '../../../adapters/aks/source.js';
import { AKS_LIMITS } from '../../../adapters/aks/filter.js';
import { ConfigError, SourceError } from '../../../core/model/errors.js';
import { planFilter, PUSHDOWN_NOTICE } from '../../../core/model/filter-plan.js';
import type { AuditEvent } from '../../../core/model/event.js';
import type { NeedsUnion } from '../../../core/model/needs.js';
import type { LogSource, ScanWindow } from '../../../core/model/source.js';
import { FakeLogAnalytics } from '../../fakes/log-analytics.js';
import { auditEvent, rowFor, type TableName } from './aks-rows.js';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const at = (min: number): Date => new Date(T0 + min * 60_000);
const iso = (min: number): string => at(min).toISOString();

/** Secret reads, CSR writes (object and /approval), exec/attach into pods. */
const NEEDS: NeedsUnion = {
  resources: new Map([
    ['secrets', { verbs: new Set(['get', 'list', 'watch']) }],
    ['certificatesigningrequests', { verbs: new Set(['create', 'update', 'patch']) }],
    ['pods', { subresources: new Set(['exec', 'attach']) }],
  ]),
};

/** One event per case: the ids say whether the needs keep it. */
const EVENTS = [
  auditEvent({ auditID: 'keep-secret-get', time: iso(0) }),
  auditEvent({ auditID: 'keep-secret-list', time: iso(0), verb: 'list', name: undefined }),
  auditEvent({ auditID: 'drop-secret-delete', time: iso(0), verb: 'delete' }),
  auditEvent({ auditID: 'drop-configmap-get', time: iso(0), resource: 'configmaps' }),
  auditEvent({ auditID: 'keep-pod-exec', time: iso(0), verb: 'create', resource: 'pods', name: 'web-0', subresource: 'exec', query: [['command', 'cat'], ['command', '/etc/kubernetes/pki/ca.key']] }),
  auditEvent({ auditID: 'drop-pod-get', time: iso(0), resource: 'pods', name: 'web-0' }),
  auditEvent({ auditID: 'keep-csr-approval', time: iso(0), verb: 'update', resource: 'certificatesigningrequests', namespace: undefined, name: 'csr-1', apiGroup: 'certificates.k8s.io', subresource: 'approval' }),
  auditEvent({ auditID: 'drop-csr-get', time: iso(0), resource: 'certificatesigningrequests', namespace: undefined, name: 'csr-1', apiGroup: 'certificates.k8s.io' }),
];
const KEPT = ['keep-csr-approval', 'keep-pod-exec', 'keep-secret-get', 'keep-secret-list'];

interface ReadResult {
  events: AuditEvent[];
  problems: string[];
  pages: number[];
}

async function readAll(source: LogSource, window: ScanWindow, needs: NeedsUnion = NEEDS): Promise<ReadResult> {
  const out: ReadResult = { events: [], problems: [], pages: [] };
  for await (const page of source.read(window, { needs })) {
    out.pages.push(page.page);
    for (const o of page.outcomes) {
      if (o.kind === 'event') out.events.push(o.event);
      else if (o.kind === 'rejected') out.problems.push(`${o.rejection.reason}: ${o.rejection.detail}`);
      else if (o.kind === 'skipped') out.problems.push(`skipped ${o.skip.reason}`);
      else out.problems.push(`unexpected ${o.kind} outcome`);
    }
  }
  return out;
}

const ids = (r: ReadResult): string[] => r.events.map((e) => e.id).sort();

describe('aks source', () => {
  let fake: FakeLogAnalytics;
  const source = (extra: Partial<AksSourceOptions> = {}): LogSource =>
    createAksSource({
      workspaceId: fake.workspaceId,
      endpoint: fake.endpoint,
      credential: fake.credential,
      tlsOptions: { ca: fake.ca },
      retryOptions: { maxRetries: 1, retryDelayInMs: 1, maxRetryDelayInMs: 2 },
      env: {},
      ...extra,
    });
  const seed = (table: TableName, cluster = 'aks-prod-1', ingested = at(3), category?: 'kube-audit' | 'kube-audit-admin') =>
    fake.addRows(table, EVENTS.map((ev) => rowFor(table, ev, cluster, category)), ingested);
  const W: ScanWindow = { from: at(0), to: at(6) };

  beforeEach(async () => {
    fake = await FakeLogAnalytics.start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('reads AKSAudit rows of the cluster that the needs select, as events with their ingestion time', async () => {
    seed('AKSAudit');
    seed('AKSAudit', 'aks-other');
    const r = await readAll(source({ cluster: 'aks-prod-1' }), W);
    expect(r.problems).toEqual([]);
    expect(ids(r)).toEqual(KEPT);
    expect(r.events.map((e) => [e.cluster, e.ingestedAt, e.origin.source])).toEqual(KEPT.map(() => ['aks-prod-1', iso(3), 'aks:aks-prod-1']));
    const exec = r.events.find((e) => e.id === 'keep-pod-exec')!;
    expect(exec.target).toMatchObject({ resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'web-0' });
    expect(fake.requests.map((q) => [q.status, q.rows])).toEqual([
      [200, 1],
      [200, 4],
    ]);
    expect(fake.requests[1]!.timespan).toBe(`${iso(-120)}/${iso(11)}`);
  });

  it('reads AzureDiagnostics kube-audit rows the same way and never downloads other categories', async () => {
    seed('AzureDiagnostics');
    fake.addRows(
      'AzureDiagnostics',
      [
        { TimeGenerated: iso(1), Category: 'kube-apiserver', log_s: 'I0302 09:01:00.000000 1 secrets.go:1] secrets get', _ResourceId: '/subscriptions/s/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-prod-1' },
        { TimeGenerated: iso(1), Category: 'guard', log_s: '{"verb":"get","objectRef":{"resource":"secrets"}}', _ResourceId: '/subscriptions/s/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-prod-1' },
      ],
      at(2),
    );
    fake.addRows('AKSControlPlane', [{ TimeGenerated: iso(1), Category: 'kube-apiserver', Message: 'secrets' }], at(2));
    const r = await readAll(source({ cluster: 'aks-prod-1' }), W);
    expect(r.problems).toEqual([]);
    expect(ids(r)).toEqual(KEPT);
    expect(r.events.every((e) => e.cluster === 'aks-prod-1' && e.ingestedAt === iso(3))).toBe(true);
    expect(fake.requests.map((q) => q.rows)).toEqual([1, 4]);
    expect(fake.requests[1]!.query).toContain('| where Category == "kube-audit"');
  });

  it('scans a row that reaches the workspace 30 minutes late exactly once over consecutive windows', async () => {
    fake.addRows('AKSAudit', [rowFor('AKSAudit', auditEvent({ auditID: 'late', time: iso(0) }))], at(30));
    fake.addRows('AKSAudit', [rowFor('AKSAudit', auditEvent({ auditID: 'on-boundary', time: iso(35) }))], at(36));
    const s = source();
    const seen: Array<[string, number]> = [];
    for (let m = 0; m < 60; m += 6) {
      const r = await readAll(s, { from: at(m), to: at(m + 6) });
      for (const e of r.events) seen.push([e.id, m]);
    }
    expect(seen).toEqual([
      ['late', 30],
      ['on-boundary', 36],
    ]);
  });

  it('splits a window whose result the service cut, and reads every row exactly once', async () => {
    const evs = Array.from({ length: 10 }, (_, i) => auditEvent({ auditID: `s-${i}`, time: iso(0) }));
    fake.addRows('AKSAudit', evs.map((ev) => rowFor('AKSAudit', ev)), (_, i) => new Date(T0 + i * 30_000));
    fake.maxRows = 3;
    const r = await readAll(source(), W);
    expect(r.events.map((e) => e.id)).toEqual(evs.map((e) => e.auditID));
    expect(fake.requests.filter((q) => q.partial !== undefined).length).toBeGreaterThan(0);
    expect(fake.requests.filter((q) => q.partial === undefined).reduce((n, q) => n + q.rows, 0)).toBe(1 + 10);
  });

  it('cuts a busy window up front by the probe count, then splits where rows bunch up', async () => {
    const evs = Array.from({ length: 9 }, (_, i) => auditEvent({ auditID: `p-${i}`, time: iso(0) }));
    // 9 rows, 10 s apart: all in the first of three 2-minute pieces.
    fake.addRows('AKSAudit', evs.map((ev) => rowFor('AKSAudit', ev)), (_, i) => new Date(T0 + i * 10_000));
    const r = await readAll(source({ maxRowsPerQuery: 4 }), W);
    expect(r.events.map((e) => e.id)).toEqual(evs.map((e) => e.auditID));
    expect(r.pages).toEqual([1, 2, 3]);
    // probe; [0,2m) overflows (5 = cap + 1); [0,1m) too; [0,30s), [30s,1m), [1m,2m); [2m,4m), [4m,6m).
    expect(fake.requests.map((q) => [q.rows, q.partial !== undefined])).toEqual([
      [1, false],
      [5, false],
      [5, false],
      [3, false],
      [3, false],
      [3, false],
      [0, false],
      [0, false],
    ]);
  });

  it('fails with how far it got when a partial result persists, never returning it as complete', async () => {
    const evs = [auditEvent({ auditID: 'first-half', time: iso(0) }), auditEvent({ auditID: 'second-half', time: iso(0) })];
    fake.addRows('AKSAudit', evs.map((ev) => rowFor('AKSAudit', ev)), (_, i) => at(1 + 3 * i));
    // Only queries of the second half [3, 6) come back partial (not a size cap).
    fake.partialErrorNext(100, `>= datetime(${iso(3)})`);
    const seen: string[] = [];
    let err: unknown;
    try {
      for await (const page of source({ maxRowsPerQuery: 1, maxSplitDepth: 1 }).read(W, { needs: NEEDS })) {
        for (const o of page.outcomes) if (o.kind === 'event') seen.push(o.event.id);
      }
    } catch (e) {
      err = e;
    }
    expect(seen).toEqual(['first-half']);
    expect(err).toBeInstanceOf(SourceError);
    expect([(err as SourceError).code, (err as SourceError).retryable]).toEqual(['aks-partial-result', true]);
    expect((err as SourceError).message).toContain(`read completely up to ${iso(3)} of [${iso(0)}, ${iso(6)})`);
    // probe; the count (2 > 1 per page) cuts the window in two; [3, 6) is partial, so is [3, 4.5).
    expect(fake.requests.map((q) => [q.rows, q.partial !== undefined])).toEqual([
      [1, false],
      [1, false],
      [1, true],
      [1, true],
    ]);
  });

  it('fails at once on a partial result without rows, which splitting cannot cure', async () => {
    // Rows exist (the probe counts them) but none is selected: an empty answer flagged partial.
    fake.addRows('AKSAudit', EVENTS.filter((e) => e.auditID.startsWith('drop-')).map((ev) => rowFor('AKSAudit', ev)), at(3));
    fake.partialErrorNext(100, '| take');
    const err = await readAll(source(), W).catch((e: unknown) => e);
    expect((err as SourceError).code).toBe('aks-partial-result');
    expect(fake.requests.length).toBe(2);
  });

  it('honours 429 with Retry-After and fails retryably when throttling outlasts the retries', async () => {
    seed('AKSAudit');
    fake.throttle(1, '0');
    const ok = await readAll(source(), W);
    expect(ids(ok)).toEqual(KEPT);
    expect(fake.requests.map((q) => q.status)).toEqual([429, 200, 200]);
    fake.throttle(3, '0');
    const err = await readAll(source(), W).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect([(err as SourceError).code, (err as SourceError).retryable]).toEqual(['aks-throttled', true]);
  });

  it('says once per read that only kube-audit-admin arrives, and reads what there is', async () => {
    seed('AKSAuditAdmin');
    const s = source();
    const r = await readAll(s, W);
    expect(ids(r)).toEqual(KEPT);
    expect(s.notices!().map((n) => n.code)).toEqual(['aks-kube-audit-admin-only']);
    expect(s.notices!()[0]!.message).toContain('enable the "kube-audit" category');
    await readAll(s, { from: at(6), to: at(12) });
    expect(s.notices!()).toEqual([]);
  });

  it('says the same for AzureDiagnostics with only the kube-audit-admin category', async () => {
    seed('AzureDiagnostics', 'aks-prod-1', at(3), 'kube-audit-admin');
    const s = source({ layout: 'azure-diagnostics' });
    const r = await readAll(s, W);
    expect(ids(r)).toEqual(KEPT);
    expect(s.notices!().map((n) => n.code)).toEqual(['aks-kube-audit-admin-only']);
    expect(fake.requests[0]!.query).toMatch(/^union isfuzzy=true AzureDiagnostics\n/);
  });

  it('reads only AKSAudit when both audit tables are routed, so admin requests are not counted twice', async () => {
    seed('AKSAudit');
    seed('AKSAuditAdmin');
    const s = source();
    const r = await readAll(s, W);
    expect(ids(r)).toEqual(KEPT);
    expect(s.notices!()).toEqual([]);
    expect(fake.requests[1]!.query).toMatch(/^AKSAudit\n/);
  });

  it('reads nothing from a workspace without data (204)', async () => {
    const r = await readAll(source(), W);
    expect(r).toEqual({ events: [], problems: [], pages: [] });
    expect(fake.requests.map((q) => q.status)).toEqual([204]);
  });

  it('names the RBAC role when the token is refused', async () => {
    seed('AKSAudit');
    const s = source({ credential: { getToken: async () => ({ token: 'other', expiresOnTimestamp: Date.now() + 60_000 }) } });
    const err = await readAll(s, W).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('aks-auth');
    expect((err as SourceError).message).toContain('Log Analytics Reader');
  });

  it('takes endpoint, CA file and a static token from the environment', async () => {
    seed('AKSAudit');
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-aks-'));
    writeFileSync(join(dir, 'ca.pem'), fake.ca);
    const s = createAksSource({
      workspaceId: fake.workspaceId,
      env: { CREDWATCH_AKS_ENDPOINT: fake.endpoint, CREDWATCH_AKS_CA_FILE: join(dir, 'ca.pem'), CREDWATCH_AKS_TOKEN: fake.token },
    });
    expect(ids(await readAll(s, W))).toEqual(KEPT);
    expect(fake.requests[0]!.authorization).toBe(`Bearer ${fake.token}`);
  });

  it('pushes down needs the other clouds cannot carry, so it gives no pushdown notice', async () => {
    seed('AKSAudit');
    // KQL string literals escape anything (adapters/aks/filter.ts AKS_LIMITS): names and prefixes
    // that widen the CloudWatch and Cloud Logging filters are carried here as they are.
    const odd: NeedsUnion = {
      resources: new Map([['secrets', {}]]),
      perRule: [
        { resources: ['secrets'], verbs: ['get" or true or "x'] },
        { resources: ['pods'], subresources: ['exec'], userPrefixes: ['system:*'] },
        { resources: ['secrets'], verbs: ['list'], excludeUserAgentPrefixes: ['a "b"'] },
      ],
    };
    const src = source({ cluster: 'aks-prod-1' });
    const r = await readAll(src, W, odd);
    expect(ids(r)).toEqual(['keep-secret-list']);
    expect(src.notices!().filter((n) => n.code === PUSHDOWN_NOTICE)).toEqual([]);
    const plan = planFilter(odd, AKS_LIMITS);
    expect(plan.kind === 'filter' && plan.unpushed).toEqual([]);
  });

  it('rejects a bad cluster name, workspace ID or page cap at start-up', () => {
    const make = (o: Partial<AksSourceOptions>) => () => createAksSource({ workspaceId: fake.workspaceId, credential: fake.credential, env: {}, ...o });
    expect(make({ cluster: 'prod") | take 1 //' })).toThrow(ConfigError);
    expect(make({ workspaceId: '/subscriptions/x/workspaces/y' })).toThrow(ConfigError);
    expect(make({ maxRowsPerQuery: 500_000 })).toThrow(ConfigError);
    expect(make({ endpoint: 'http://127.0.0.1:1/v1' })).toThrow(ConfigError);
  });
});
