import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { buildGkeFilter } from '../../../adapters/gke/filter.js';
import { createClient } from '../../../adapters/gke/client.js';
import { createGkeSource, type GkeSourceOptions } from '../../../adapters/gke/source.js';
import { ConfigError, SourceError } from '../../../core/model/errors.js';
import { PUSHDOWN_NOTICE } from '../../../core/model/filter-plan.js';
import { asGke, k8sEvent, type K8sEventInit } from '../../../examples/audit-records.js';
import type { NeedsUnion } from '../../../core/model/needs.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';
import type { ScanWindow, SourcePage } from '../../../core/model/source.js';
import { FakeCloudLogging, type LogEntryJson } from '../../fakes/cloud-logging.js';

const NEEDS: NeedsUnion = {
  resources: new Map([
    ['secrets', { subresources: new Set(['']), verbs: new Set(['get', 'list', 'watch']) }],
    ['certificatesigningrequests', {}],
  ]),
};
const W = (from: string, to: string): ScanWindow => ({ from: new Date(from), to: new Date(to) });
const WINDOW = W('2026-03-02T09:00:00Z', '2026-03-02T09:06:00Z');

/** A GKE entry with an explicit event time and arrival time. */
function entry(id: string, init: Partial<K8sEventInit> & { time: string; received: string; project?: string; cluster?: string }): LogEntryJson {
  const { received, project, cluster, ...rest } = init;
  const ev = k8sEvent({ verb: 'get', user: 'system:serviceaccount:ci:deployer', resource: 'secrets', namespace: 'prod', name: 'db', auditID: id, ...rest });
  return { ...asGke(ev, { project: project ?? 'acme-prod', cluster: cluster ?? 'gke-prod-1' }), insertId: id, receiveTimestamp: received };
}

const ids = (pages: SourcePage[]) => pages.flatMap((p) => p.outcomes.map((o) => (o.kind === 'event' ? o.event.id : `${o.kind}`)));

async function readAll(source: ReturnType<typeof createGkeSource>, window: ScanWindow = WINDOW, needs: NeedsUnion = NEEDS): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const p of source.read(window, { needs })) pages.push(p);
  return pages;
}

describe('gke source', () => {
  let fake: FakeCloudLogging;
  const sleeps: number[] = [];
  const source = (over: Partial<GkeSourceOptions> = {}) =>
    createGkeSource({ projects: ['acme-prod'], endpoint: fake.endpoint, gaxOptions: { maxRetries: 0 }, quota: { sleep: async (ms) => void sleeps.push(ms) }, ...over });

  beforeEach(async () => {
    fake = await FakeCloudLogging.start();
    sleeps.length = 0;
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('pages oldest first through empty pages until the token is absent, with the explicit filter and no credentials', async () => {
    fake.add(
      entry('e3', { time: '2026-03-02T09:03:00.000000Z', received: '2026-03-02T09:03:01Z' }),
      entry('e1', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z' }),
      entry('e2', { time: '2026-03-02T09:02:00.000000Z', received: '2026-03-02T09:02:01Z', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', namespace: undefined, verb: 'create' }),
      entry('off', { time: '2026-03-02T09:07:00.000000Z', received: '2026-03-02T09:07:01Z' }),
    );
    fake.emptyPagesPerQuery = 2;
    const pages = await readAll(source({ pageSize: 2 }));
    expect(pages.map((p) => [p.page, p.outcomes.length])).toEqual([[1, 0], [2, 0], [3, 2], [4, 1]]);
    expect(ids(pages)).toEqual(['e1', 'e2', 'e3']);
    const filter = buildGkeFilter({ project: 'acme-prod', window: WINDOW }, NEEDS);
    expect(fake.requests.map((r) => [r.resourceNames, r.filter === filter, r.orderBy, r.pageSize, r.pageToken === ''])).toEqual([
      [['projects/acme-prod'], true, 'timestamp asc', 2, true],
      [['projects/acme-prod'], true, 'timestamp asc', 2, false],
      [['projects/acme-prod'], true, 'timestamp asc', 2, false],
      [['projects/acme-prod'], true, 'timestamp asc', 2, false],
    ]);
    expect(fake.requests.every((r) => !r.metadataKeys.includes('authorization'))).toBe(true);
  });

  it('decodes the AuditLog Any into events with full-precision times, bodies and origin', async () => {
    const csr = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'csr-x' }, spec: { signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] } };
    fake.add(entry('c1', { time: '2026-03-02T09:01:02.123456Z', received: '2026-03-02T09:01:03.987654321Z', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', namespace: undefined, name: 'csr-x', verb: 'create', requestObject: csr, code: 403 }));
    const [page] = await readAll(source());
    const out = page!.outcomes[0] as Extract<ParseOutcome, { kind: 'event' }>;
    expect(out.kind).toBe('event');
    expect(out.event).toMatchObject({
      id: 'c1', cloud: 'gke', cluster: 'gke-prod-1', time: '2026-03-02T09:01:02.123456Z', ingestedAt: '2026-03-02T09:01:03.987654321Z', verb: 'create',
      target: { apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'csr-x' },
      outcome: { result: 'failure', code: 403 }, sourceIPs: ['203.0.113.24'], requestObject: csr,
      origin: { source: 'gke:acme-prod', page: 1, index: 0, recordId: 'c1' },
    });
  });

  it('scans an entry that reaches Cloud Logging 30 minutes late exactly once over consecutive windows', async () => {
    fake.add(
      entry('late', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:31:00.000000001Z' }),
      entry('edge', { time: '2026-03-02T09:11:59.000000Z', received: '2026-03-02T09:12:00.000000000Z' }),
    );
    const seen: string[] = [];
    for (let m = 0; m < 42; m += 6) {
      const from = new Date(Date.UTC(2026, 2, 2, 9, m));
      const pages = await readAll(source(), { from, to: new Date(from.getTime() + 6 * 60_000) });
      for (const id of ids(pages)) seen.push(`${id}@${from.toISOString().slice(11, 16)}`);
    }
    expect(seen).toEqual(['edge@09:12', 'late@09:30']);
  });

  it('reads each project with its own query and keeps only the chosen cluster', async () => {
    fake.add(
      entry('a1', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z', project: 'acme-prod' }),
      entry('a2', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z', project: 'acme-prod', cluster: 'other' }),
      entry('b1', { time: '2026-03-02T09:00:30.000000Z', received: '2026-03-02T09:01:01Z', project: 'acme-stage' }),
    );
    expect(ids(await readAll(source({ projects: ['acme-prod', 'acme-stage'] })))).toEqual(['a1', 'a2', 'b1']);
    const scoped = source({ projects: ['acme-prod', 'acme-stage'], cluster: 'gke-prod-1' });
    expect(scoped.name).toBe('gke:gke-prod-1');
    expect(ids(await readAll(scoped))).toEqual(['a1', 'b1']);
    expect(fake.requests.slice(-2).map((r) => r.resourceNames)).toEqual([['projects/acme-prod'], ['projects/acme-stage']]);
  });

  it('backs off on RESOURCE_EXHAUSTED and then reads on', async () => {
    fake.add(entry('q1', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z' }));
    fake.exhaustQuota(2);
    expect(ids(await readAll(source()))).toEqual(['q1']);
    expect(sleeps).toEqual([2_000, 4_000]);
  });

  it('gives up after the bounded attempts with a retryable SourceError saying how far it got', async () => {
    fake.exhaustQuota(5);
    const err = await readAll(source({ quota: { attempts: 3, sleep: async (ms) => void sleeps.push(ms) } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('gke-quota');
    expect((err as SourceError).retryable).toBe(true);
    expect((err as SourceError).message).toContain('after 0 page(s) and 0 entries of this project');
    expect(sleeps).toEqual([2_000, 4_000]);
    expect(fake.requests.length).toBe(3);
  });

  it('names the roles needed on PERMISSION_DENIED', async () => {
    fake.failNext({ code: status.PERMISSION_DENIED, message: 'The caller does not have permission' });
    const err = (await readAll(source()).catch((e: unknown) => e)) as SourceError;
    expect([err.code, err.retryable]).toEqual(['gke-permission-denied', false]);
    expect(err.message).toContain('roles/logging.privateLogViewer');
    expect(err.message).toContain('roles/logging.viewer');
  });

  it('fails mid-window with how far it got, and a retried window reads everything once', async () => {
    for (let i = 1; i <= 5; i++) fake.add(entry(`m${i}`, { time: `2026-03-02T09:0${i}:00.000000Z`, received: `2026-03-02T09:0${i}:01Z` }));
    fake.failCall(2, { code: status.UNAVAILABLE, message: 'backend unavailable' });
    const got: string[] = [];
    const err = await (async () => {
      for await (const p of source({ pageSize: 2 }).read(WINDOW, { needs: NEEDS })) got.push(...ids([p]));
    })().catch((e: unknown) => e);
    expect(got).toEqual(['m1', 'm2']);
    expect((err as SourceError).code).toBe('gke-read-failed');
    expect((err as SourceError).message).toContain('after 1 page(s) and 2 entries of this project');
    expect(ids(await readAll(source({ pageSize: 2 })))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('rejects an entry whose AuditLog bytes do not decode, and reads the rest', async () => {
    fake.add(
      entry('bad', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z' }),
      entry('ok', { time: '2026-03-02T09:02:00.000000Z', received: '2026-03-02T09:02:01Z' }),
    );
    fake.corrupted.add('bad');
    const [page] = await readAll(source());
    expect(page!.outcomes.map((o) => (o.kind === 'rejected' ? [o.rejection.reason, o.rejection.origin.index] : o.kind))).toEqual([['decode-failed', 0], 'event']);
  });

  it('says once per read that Data Access logs are off when the window has none', async () => {
    fake.add(
      entry('w1', { verb: 'create', time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', namespace: undefined }),
      entry('w2', { verb: 'create', time: '2026-03-02T09:02:00.000000Z', received: '2026-03-02T09:02:01Z', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', namespace: undefined }),
    );
    const src = source({ pageSize: 1, cluster: 'gke-prod-1' });
    await readAll(src);
    const notices = src.notices!();
    expect(notices.map((n) => n.code)).toEqual(['gke-data-access-off']);
    expect(notices[0]!.message).toContain('cluster gke-prod-1 (project acme-prod)');
    expect(notices[0]!.message).toContain('gcloud projects get-iam-policy acme-prod');
    expect(notices[0]!.message).toContain('"service":"container.googleapis.com"');
    expect(fake.requests.at(-1)!.filter).toContain('logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access"\nAND');
    // A Data Access entry no rule needs (a configmap read) still proves the log is on.
    fake.add(entry('cm', { time: '2026-03-02T09:03:00.000000Z', received: '2026-03-02T09:03:01Z', resource: 'configmaps' }));
    await readAll(src);
    expect(src.notices!()).toEqual([]);
  });

  it('skips the probe when the read itself saw Data Access entries', async () => {
    fake.add(entry('s1', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z' }));
    const src = source();
    await readAll(src);
    expect(src.notices!()).toEqual([]);
    expect(fake.requests.length).toBe(1);
  });

  it('says in its notices which needs it could not push down, and reads more rather than less', async () => {
    fake.add(entry('s1', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z' }));
    fake.add(entry('c1', { time: '2026-03-02T09:01:00.000000Z', received: '2026-03-02T09:01:01Z', resource: 'configmaps', verb: 'list' }));
    const src = source();
    await readAll(src);
    expect(src.notices!()).toEqual([]);
    // A resource name the filter cannot carry: the scope alone is sent, every k8s.io entry is read.
    const odd: NeedsUnion = { resources: new Map([['secrets', {}]]), perRule: [{ resources: ['secrets'] }, { resources: ['Config_Maps'] }] };
    expect(ids(await readAll(src, WINDOW, odd)).sort()).toEqual(['c1', 's1']);
    expect(fake.requests.at(-1)!.filter).not.toContain('protoPayload.resourceName');
    expect(src.notices!()).toEqual([{ code: PUSHDOWN_NOTICE, message: expect.stringMatching(/^gke:acme-prod: 1 rule need could not be pushed down .*"Config_Maps"/) }]);
    // A user prefix the filter cannot carry widens only that need.
    const user: NeedsUnion = { resources: new Map([['secrets', {}]]), perRule: [{ resources: ['secrets'], userPrefixes: ['system:serviceaccount:ci:*'] }] };
    expect(ids(await readAll(src, WINDOW, user))).toEqual(['s1']);
    expect(src.notices!().map((n) => n.code)).toEqual([PUSHDOWN_NOTICE]);
  });

  it('refuses a non-loopback plain-text endpoint and bad project IDs', () => {
    expect(() => createGkeSource({ projects: ['acme-prod'], endpoint: 'logging.example.com:443' })).toThrow(ConfigError);
    expect(() => createGkeSource({ projects: ['Bad Project'] })).toThrow(ConfigError);
    expect(() => createGkeSource({ projects: ['acme-prod'], endpoint: '127.0.0.1:1', pageSize: 1001 })).toThrow(/1 to 1000/);
  });
});

describe('gke source client for a loopback endpoint', () => {
  it('names its universe domain, so the auth library never probes the GCE metadata server', async () => {
    const logging = createClient({ projects: ['acme-prod'], endpoint: '127.0.0.1:1234' });
    // Without it, gax asks the credentials for their universe, and ADC looks for a metadata server.
    const lookup = vi.spyOn(logging.auth, 'getClient');
    expect(await logging.auth.getUniverseDomain()).toBe('googleapis.com');
    expect(lookup).not.toHaveBeenCalled();
    expect(() => createClient({ projects: ['acme-prod'], endpoint: 'logging.googleapis.com:443' })).toThrow('must be a loopback host:port');
  });
});
