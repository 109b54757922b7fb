import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEksSource, type EksSourceOptions } from '../../../adapters/eks/source.js';
import { CUT_LINE_PATTERN } from '../../../adapters/eks/filter.js';
import { ConfigError, SourceError } from '../../../core/model/errors.js';
import { PUSHDOWN_NOTICE } from '../../../core/model/filter-plan.js';
import { asEks, k8sEvent } from '../../../examples/audit-records.js';
import type { NeedsUnion } from '../../../core/model/needs.js';
import type { ScanWindow, SourcePage } from '../../../core/model/source.js';
import { fakeClient, FakeCloudWatchLogs, type SeedEvent } from '../../fakes/cloudwatch-logs.js';

const CLUSTER = 'prod-eks-1';
const GROUP = `/aws/eks/${CLUSTER}/cluster`;
const AUDIT_STREAM = 'kube-apiserver-audit-4f1c2a9e8d7b6c5a4f3e2d1c0b9a8f7e';
const T = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;

const NEEDS: NeedsUnion = {
  resources: new Map([
    ['secrets', { verbs: new Set(['get', 'list', 'watch']) }],
    ['pods', { subresources: new Set(['exec']) }],
  ]),
};

/** One audit event as a stored CloudWatch event; the audit ID doubles as the eventId. */
function seed(id: string, init: { verb: string; resource: string; subresource?: string; at: number; ingested?: number }): SeedEvent {
  const ev = k8sEvent({
    verb: init.verb,
    resource: init.resource,
    ...(init.subresource === undefined ? {} : { subresource: init.subresource }),
    namespace: 'default',
    name: 'x',
    user: 'system:node:ip-10-0-1-7.ec2.internal',
    auditID: id,
    time: new Date(init.at).toISOString(),
  });
  const cw = asEks(ev);
  return { logStreamName: String(cw['logStreamName']), timestamp: init.at, ingestionTime: init.ingested ?? init.at + 2_000, message: String(cw['message']), eventId: `cw-${id}` };
}

const secretGet = (id: string, at: number, ingested?: number): SeedEvent =>
  seed(id, { verb: 'get', resource: 'secrets', at, ...(ingested === undefined ? {} : { ingested }) });
const podList = (id: string, at: number): SeedEvent => seed(id, { verb: 'list', resource: 'pods', at });

async function collect(options: Partial<EksSourceOptions> & { client: EksSourceOptions['client'] }, window: ScanWindow, needs = NEEDS) {
  const source = createEksSource({ cluster: CLUSTER, region: 'us-west-2', ...options });
  const pages: SourcePage[] = [];
  for await (const page of source.read(window, { needs })) pages.push(page);
  const ids = pages.flatMap((p) => p.outcomes.map((o) => (o.kind === 'event' ? o.event.id : `${o.kind}`)));
  return { pages, ids };
}

describe('eks source', () => {
  let fake: FakeCloudWatchLogs;
  beforeEach(async () => {
    fake = await FakeCloudWatchLogs.start({ scanLimit: 3 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('follows nextToken through empty pages and parses each page', async () => {
    fake.putEvents(GROUP, [
      secretGet('a', T + 1_000),
      ...Array.from({ length: 7 }, (_, i) => podList(`p${i}`, T + 2_000 + i)),
      secretGet('b', T + 60_000),
      { logStreamName: 'kube-apiserver-0f0f', timestamp: T + 61_000, message: 'I0302 09:01:01 klog line' },
      seed('c', { verb: 'create', resource: 'pods', subresource: 'exec', at: T + 62_000 }),
    ]);
    const window = { from: new Date(T), to: new Date(T + 5 * MIN) };
    const { pages, ids } = await collect({ client: fakeClient(fake.endpoint) }, window);
    expect(ids).toEqual(['a', 'b', 'c']);
    // 11 stored events, 3 scanned per request: matches come back on requests 1, 3 and 4; request 2 is an empty page with a token.
    const audit = fake.requests.filter((r) => r.body['filterPattern'] !== CUT_LINE_PATTERN);
    expect(audit.map((r) => [r.events, r.nextToken !== undefined])).toEqual([
      [1, true],
      [0, true],
      [1, true],
      [1, false],
    ]);
    // The cut-line query scans the same window and finds nothing here (no line is cut).
    const cut = fake.requests.filter((r) => r.body['filterPattern'] === CUT_LINE_PATTERN);
    expect(cut.map((r) => r.events)).toEqual([0, 0, 0, 0]);
    expect(cut[0]?.body).toMatchObject({ startTime: T - 30 * MIN, endTime: T + 5 * MIN + MIN, logStreamNamePrefix: 'kube-apiserver-audit-' });
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
    expect(fake.requests[0]?.body).toEqual({
      logGroupName: GROUP,
      logStreamNamePrefix: 'kube-apiserver-audit-',
      startTime: T - 30 * MIN,
      endTime: T + 5 * MIN + MIN,
      filterPattern:
        '{ ($.objectRef.resource = "pods" && $.objectRef.subresource = "exec") || ($.objectRef.resource = "secrets" && ($.verb = "get" || $.verb = "list" || $.verb = "watch")) }',
    });
    const first = pages[0]?.outcomes[0];
    expect(first?.kind === 'event' && first.event).toMatchObject({
      cloud: 'eks',
      cluster: CLUSTER,
      verb: 'get',
      ingestedAt: new Date(T + 3_000).toISOString(),
      origin: { source: 'eks:prod-eks-1', page: 1, index: 0, recordId: 'cw-a' },
    });
  });

  it('downloads the lines CloudWatch cut ([Truncated...]) with their own query and salvages them as in files', async () => {
    const big = k8sEvent({
      verb: 'create', user: 'alice@example.com', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', name: 'big-csr', auditID: 'cut-1',
      time: new Date(T + 1_000).toISOString(), requestObject: { spec: { request: 'QUFB'.repeat(70_000), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] } },
    });
    const msg = JSON.stringify(big);
    // CloudWatch keeps the first 256 KiB of a line and marks the cut.
    const cutLine: SeedEvent = { logStreamName: AUDIT_STREAM, timestamp: T + 1_000, ingestionTime: T + 3_000, message: `${msg.slice(0, 256 * 1024 - 14)}[Truncated...]`, eventId: 'cw-cut-1' };
    // A whole JSON line that merely mentions the phrase is read once, by its JSON query, not twice.
    const mentions = seed('mentions', { verb: 'get', resource: 'secrets', at: T + 2_000 });
    mentions.message = mentions.message.replace('"name":"x"', '"name":"x","note":"[Truncated...]"');
    fake.putEvents(GROUP, [cutLine, mentions, secretGet('plain', T + 3_000)]);
    const needs: NeedsUnion = { resources: new Map([['certificatesigningrequests', { subresources: new Set(['']), verbs: new Set(['create']) }], ['secrets', { verbs: new Set(['get']) }]]) };
    const { pages, ids } = await collect({ client: fakeClient(fake.endpoint) }, { from: new Date(T), to: new Date(T + 5 * MIN) }, needs);
    expect(ids).toEqual(['cut-1', 'mentions', 'plain']);
    const first = pages[0]?.outcomes[0];
    expect(first?.kind === 'event' && [first.event.truncated, first.event.verb, first.event.user.name, first.event.target.name]).toEqual([true, 'create', 'alice@example.com', 'big-csr']);
    const patterns = new Set(fake.requests.map((r) => r.body['filterPattern']));
    expect(patterns.has(CUT_LINE_PATTERN)).toBe(true);
    // Without the cut-line query the same window would not have downloaded the cut line.
    const jsonOnly = fake.requests.filter((r) => r.body['filterPattern'] !== CUT_LINE_PATTERN).reduce((n, r) => n + (r.events ?? 0), 0);
    expect(jsonOnly).toBe(2);
  });

  it('hands an event 30 minutes late to exactly one of two consecutive windows', async () => {
    fake.putEvents(GROUP, [
      secretGet('on-time', T + 1 * MIN),
      secretGet('late-30m', T + 2 * MIN - 30 * MIN, T + 2 * MIN),
      secretGet('crosses', T + 4 * MIN, T + 6 * MIN),
      secretGet('at-boundary', T + 4 * MIN, T + 5 * MIN),
      secretGet('late-in-second', T + 7 * MIN - 29 * MIN, T + 7 * MIN),
      secretGet('too-late-32m', T + MIN - 32 * MIN, T + MIN),
      secretGet('next-window', T + 11 * MIN),
    ]);
    const client = fakeClient(fake.endpoint);
    const first = await collect({ client }, { from: new Date(T), to: new Date(T + 5 * MIN) });
    const second = await collect({ client }, { from: new Date(T + 5 * MIN), to: new Date(T + 10 * MIN) });
    expect(first.ids).toEqual(['late-30m', 'on-time']);
    expect(second.ids).toEqual(['late-in-second', 'at-boundary', 'crosses']);
  });

  it('retries throttling through the SDK retry strategy', async () => {
    fake.putEvents(GROUP, [secretGet('a', T + 1_000)]);
    fake.inject({ code: 'ThrottlingException', times: 2 });
    const { ids } = await collect({ client: fakeClient(fake.endpoint, { maxAttempts: 3 }) }, { from: new Date(T), to: new Date(T + MIN) });
    expect(ids).toEqual(['a']);
    expect(fake.requests.map((r) => r.errorCode ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'ok', 'ok']);
    expect(fake.requests[3]?.body['filterPattern']).toBe(CUT_LINE_PATTERN);
  });

  it('reports throttling that outlasts the retries as a retryable SourceError', async () => {
    fake.createLogGroup(GROUP);
    fake.inject({ code: 'ThrottlingException', times: Infinity });
    const err = await collect({ client: fakeClient(fake.endpoint, { maxAttempts: 2 }) }, { from: new Date(T), to: new Date(T + MIN) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'eks-throttled', retryable: true });
    expect(fake.requests.length).toBe(2);
  });

  it('says a missing log group means no audit logging, with the command that enables it', async () => {
    const err = await collect({ client: fakeClient(fake.endpoint, { maxAttempts: 1 }) }, { from: new Date(T), to: new Date(T + MIN) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('eks-no-audit-log-group');
    expect((err as SourceError).message).toBe(
      'eks:prod-eks-1: log group /aws/eks/prod-eks-1/cluster does not exist in us-west-2: cluster prod-eks-1 sends no control-plane logs to CloudWatch (or the cluster name or Region is wrong). ' +
        `Enable audit logs with: aws eks update-cluster-config --name prod-eks-1 --region us-west-2 --logging '{"clusterLogging":[{"types":["audit"],"enabled":true}]}'`,
    );
  });

  it('names the IAM action and the log group ARN when access is denied', async () => {
    fake.createLogGroup(GROUP);
    fake.inject({ code: 'AccessDeniedException' });
    const err = await collect({ client: fakeClient(fake.endpoint, { maxAttempts: 1 }) }, { from: new Date(T), to: new Date(T + MIN) }).catch((e: unknown) => e);
    expect((err as SourceError).code).toBe('eks-access-denied');
    expect((err as SourceError).message).toContain(
      'eks:prod-eks-1: access denied: the credentials need logs:FilterLogEvents on arn:aws:logs:us-west-2:111122223333:log-group:/aws/eks/prod-eks-1/cluster:*',
    );
  });

  it('fails mid-window with how far it got, and the same window reads in full afterwards', async () => {
    fake.putEvents(GROUP, Array.from({ length: 9 }, (_, i) => secretGet(`s${i}`, T + i * 1_000)));
    // Requests 2-4 are the cut-line query's empty pages; the third page of the audit query fails.
    fake.inject({ code: 'ServiceUnavailableException', afterRequests: 5, times: 2 });
    const client = fakeClient(fake.endpoint, { maxAttempts: 2 });
    const window = { from: new Date(T), to: new Date(T + MIN) };
    const source = createEksSource({ cluster: CLUSTER, region: 'us-west-2', client });
    const seen: number[] = [];
    let failure: unknown;
    try {
      for await (const page of source.read(window, { needs: NEEDS })) seen.push(page.outcomes.length);
    } catch (err) {
      failure = err;
    }
    expect(seen).toEqual([3, 3]);
    expect(failure).toBeInstanceOf(SourceError);
    expect(failure).toMatchObject({ code: 'eks-read-failed', retryable: true });
    expect((failure as SourceError).message).toBe(
      'eks:prod-eks-1: ingestion window [2026-03-02T09:00:00.000Z, 2026-03-02T09:01:00.000Z) not read after 6 request(s), 2 page(s), 6 event(s) downloaded ' +
        '(last event time 2026-03-02T09:00:05.000Z); the window is left for the next scan: ServiceUnavailableException: The service cannot complete the request.',
    );
    const again = await collect({ client }, window);
    expect(again.ids).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']);
  });

  it('splits a long pattern into several queries and merges them in event-time order', async () => {
    const many: NeedsUnion = { resources: new Map() };
    for (let i = 0; i < 40; i++) many.resources.set(`widgets${String(i).padStart(2, '0')}`, { verbs: new Set([`verb${i}`, 'get']) });
    many.resources.set('secrets', { verbs: new Set(['get']) });
    fake.putEvents(GROUP, [
      seed('w39', { verb: 'get', resource: 'widgets39', at: T + 1_000 }),
      seed('w00', { verb: 'verb0', resource: 'widgets00', at: T + 2_000 }),
      seed('w00-no', { verb: 'verb1', resource: 'widgets00', at: T + 2_500 }),
      secretGet('sec', T + 3_000),
      seed('w20', { verb: 'verb20', resource: 'widgets20', at: T + 4_000 }),
    ]);
    const { ids } = await collect({ client: fakeClient(fake.endpoint) }, { from: new Date(T), to: new Date(T + MIN) }, many);
    expect(ids).toEqual(['w39', 'w00', 'sec', 'w20']);
    const patterns = [...new Set(fake.requests.map((r) => String(r.body['filterPattern'])))];
    expect(patterns.length).toBeGreaterThanOrEqual(2);
    expect(patterns.every((p) => p.length <= 1024)).toBe(true);
  });

  it('drops a second copy of one eventId', async () => {
    const e = secretGet('dup', T + 1_000);
    fake.putEvents(GROUP, [e, e]);
    const { ids } = await collect({ client: fakeClient(fake.endpoint) }, { from: new Date(T), to: new Date(T + MIN) });
    expect(ids).toEqual(['dup']);
  });

  it('reads nothing when no rule needs anything', async () => {
    const { pages } = await collect({ client: fakeClient(fake.endpoint) }, { from: new Date(T), to: new Date(T + MIN) }, { resources: new Map() });
    expect(pages).toEqual([]);
    expect(fake.requests).toEqual([]);
  });

  it('says in its notices which needs it could not push down, and reads more rather than less', async () => {
    fake.putEvents(GROUP, [secretGet('a', T + 1_000), podList('p', T + 2_000)]);
    const window = { from: new Date(T), to: new Date(T + MIN) };
    const source = createEksSource({ cluster: CLUSTER, region: 'us-west-2', client: fakeClient(fake.endpoint) });
    const read = async (needs: NeedsUnion) => {
      const got: string[] = [];
      for await (const page of source.read(window, { needs })) for (const o of page.outcomes) if (o.kind === 'event') got.push(o.event.id);
      return got;
    };
    expect(await read(NEEDS)).toEqual(['a']);
    expect(source.notices!()).toEqual([]);
    // A user prefix the pattern cannot quote is left out: more is read, and the notice says so.
    const userOdd: NeedsUnion = { resources: new Map([['secrets', {}]]), perRule: [{ resources: ['secrets'], userPrefixes: ['system:node:*'] }] };
    expect(await read(userOdd)).toEqual(['a']);
    expect(source.notices!()).toEqual([{ code: PUSHDOWN_NOTICE, message: expect.stringMatching(/^eks:prod-eks-1: 1 rule need could not be pushed down .*user prefixes "system:node:\*"/) }]);
    // A verb the pattern cannot carry: no pattern at all, every audit event is read.
    const verbOdd: NeedsUnion = { resources: new Map([['secrets', {}]]), perRule: [{ resources: ['secrets'], verbs: ['get" || $.verb = "x'] }, { resources: ['pods'], verbs: ['list'] }] };
    expect(await read(verbOdd)).toEqual(['a', 'p']);
    expect(fake.requests.at(-1)!.body['filterPattern']).toBeUndefined();
    expect(source.notices!().map((n) => n.message)).toEqual([expect.stringMatching(/1 rule need could not be pushed down .*every record of the window is read/)]);
  });

  it('requires a Region', () => {
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    try {
      expect(() => createEksSource({ cluster: CLUSTER })).toThrow(ConfigError);
      expect(() => createEksSource({ cluster: CLUSTER })).toThrow('--region is required for --eks prod-eks-1 (or set AWS_REGION)');
      expect(() => createEksSource({ cluster: '../etc', region: 'us-west-2' })).toThrow(ConfigError);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
