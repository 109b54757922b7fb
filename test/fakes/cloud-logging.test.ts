import { Logging } from '@google-cloud/logging';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGke, k8sEvent } from '../../examples/audit-records.js';
import { FakeCloudLogging } from './cloud-logging.js';

/** The fake, driven by the real `@google-cloud/logging` client over gRPC. */
describe('cloud logging fake', () => {
  let fake: FakeCloudLogging;
  let logging: Logging;
  const TS = 'timestamp>="2026-03-02T00:00:00Z"';
  const list = async (req: Record<string, unknown>) => {
    const [, , raw] = await logging.getEntries({ resourceNames: ['projects/acme-prod'], autoPaginate: false, gaxOptions: { maxRetries: 0 }, ...req });
    const resp = raw as { entries: Array<{ insertId: string }>; nextPageToken: string };
    return { ids: resp.entries.map((e) => e.insertId), token: resp.nextPageToken };
  };
  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: number }) => e.code);

  beforeAll(async () => {
    fake = await FakeCloudLogging.start();
    const options = { projectId: 'acme-prod', apiEndpoint: '127.0.0.1', port: fake.port, sslCreds: credentials.createInsecure() };
    logging = new Logging(options);
    for (const [id, minute, verb] of [['b', 2, 'get'], ['a', 1, 'list'], ['c', 3, 'create']] as const) {
      fake.add({ ...asGke(k8sEvent({ verb, user: 'u', resource: 'secrets', namespace: 'n', time: `2026-03-02T09:0${minute}:00.000000Z` })), insertId: id });
    }
    fake.add({ ...asGke(k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', namespace: 'n' }), { project: 'other-proj' }), insertId: 'x' });
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('orders by timestamp either way and keeps to the named projects', async () => {
    expect((await list({ filter: TS, orderBy: 'timestamp asc' })).ids).toEqual(['a', 'b', 'c']);
    expect((await list({ filter: TS, orderBy: 'timestamp desc' })).ids).toEqual(['c', 'b', 'a']);
  });

  it('evaluates the emitted filter subset and rejects other syntax with INVALID_ARGUMENT', async () => {
    const f = `${TS} AND protoPayload.methodName=~"[.](get|list)$" AND NOT protoPayload.resourceName:"other"`;
    expect((await list({ filter: f, orderBy: 'timestamp asc' })).ids).toEqual(['a', 'b']);
    expect((await list({ filter: `${TS} AND (insertId="A" OR insertId="c")`, orderBy: 'timestamp asc' })).ids).toEqual(['a', 'c']);
    expect(await codeOf(list({ filter: `${TS} and insertId="a"` }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(list({ filter: `${TS} AND insertId=a` }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(list({ filter: `${TS} AND SEARCH("x")` }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(list({ filter: 'timestamp>="yesterday"' }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(list({ filter: TS, pageSize: 1001 }))).toBe(status.INVALID_ARGUMENT);
  });

  it('serves opaque page tokens bound to their query, and empty pages that carry one', async () => {
    fake.emptyPagesPerQuery = 1;
    try {
      const first = await list({ filter: TS, orderBy: 'timestamp asc', pageSize: 2 });
      expect(first.ids).toEqual([]);
      const second = await list({ filter: TS, orderBy: 'timestamp asc', pageSize: 2, pageToken: first.token });
      expect(second.ids).toEqual(['a', 'b']);
      const third = await list({ filter: TS, orderBy: 'timestamp asc', pageSize: 2, pageToken: second.token });
      expect(third).toEqual({ ids: ['c'], token: '' });
      expect(await codeOf(list({ filter: TS, orderBy: 'timestamp desc', pageSize: 2, pageToken: second.token }))).toBe(status.INVALID_ARGUMENT);
      expect(await codeOf(list({ filter: TS, pageSize: 2, pageToken: 'made-up' }))).toBe(status.INVALID_ARGUMENT);
    } finally {
      fake.emptyPagesPerQuery = 0;
    }
  });

  it('runs out of read quota on demand, and logs every request without credentials', async () => {
    const before = fake.requests.length;
    fake.exhaustQuota(1);
    const err = await list({ filter: TS }).catch((e: { code?: number; details?: string }) => e);
    expect((err as { code?: number }).code).toBe(status.RESOURCE_EXHAUSTED);
    expect(String((err as { details?: string }).details)).toContain("Quota exceeded for quota metric 'Read requests'");
    expect((await list({ filter: TS })).ids).toEqual(['c', 'b', 'a']);
    expect(fake.requests.slice(before).map((r) => [r.filter, r.orderBy, r.metadataKeys.includes('authorization')])).toEqual([
      [TS, 'timestamp desc', false],
      [TS, 'timestamp desc', false],
    ]);
  });
});
