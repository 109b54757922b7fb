import type { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../../core/model/errors.js';
import type { Alert } from '../../../core/model/finding.js';
import { PubSubSink } from '../../../core/scan/sinks/pubsub.js';
import { PubSubFake } from '../../fakes/pubsub.js';
import { testPubSub } from '../../helpers/gcp-clients.js';

const TOPIC = 'projects/acme-prod/topics/credwatch-alerts';
/** Fast retries so the retry cases take milliseconds, as a real publish would take seconds. */
const FAST = { initialRetryDelayMillis: 1, maxRetryDelayMillis: 5 };

function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: '7e1d0c9b8a7f6e5d4c3b2a1908f7e6d5',
    rule: 'secret-read-by-node',
    title: 'Node credential reads Secrets',
    severity: 'high',
    summary: 'system:node:gke-prod-1-pool-x7k2 list secrets in payments from 198.51.100.7',
    cloud: 'gke',
    cluster: 'gke-prod-1',
    time: '2026-03-02T09:01:00.000Z',
    event: {
      id: 'a1b2c3d4-0000-4000-8000-000000000001',
      verb: 'list',
      user: { name: 'system:node:gke-prod-1-pool-x7k2', groups: ['system:nodes', 'system:authenticated'] },
      sourceIPs: ['198.51.100.7'],
      userAgent: 'kubectl/v1.30.2',
      target: { apiGroup: '', resource: 'secrets', namespace: 'payments' },
      outcome: { result: 'success', code: 200 },
      origin: { source: 'gke:gke-prod-1', page: 1 },
    },
    facts: { node: 'gke-prod-1-pool-x7k2' },
    mitre: ['T1552.007'],
    ...overrides,
  };
}

describe('Pub/Sub sink', () => {
  let fake: PubSubFake;
  let pubsub: PubSub;
  let sink: PubSubSink;
  beforeAll(async () => {
    fake = await PubSubFake.start();
    fake.topics.add(TOPIC);
    pubsub = testPubSub(fake.endpoint);
    sink = new PubSubSink(pubsub, 'credwatch-alerts', { ...FAST, totalTimeoutMillis: 5_000 });
  });
  afterAll(async () => {
    await pubsub.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  it('publishes the alert JSON as data with rule, severity, cluster and alertId attributes', async () => {
    const a = alert();
    await sink.send(a);
    expect(sink.name).toBe(`pubsub:${TOPIC}`);
    expect(fake.requests).toEqual([{ topic: TOPIC, messageCount: 1, metadataKeys: expect.arrayContaining(['x-goog-api-client']) as unknown, status: 'OK' }]);
    expect(fake.published).toHaveLength(1);
    const msg = fake.published[0]!;
    expect(JSON.parse(msg.data)).toEqual(a);
    expect(msg.attributes).toEqual({ rule: 'secret-read-by-node', severity: 'high', cluster: 'gke-prod-1', alertId: '7e1d0c9b8a7f6e5d4c3b2a1908f7e6d5' });
    expect(msg.orderingKey).toBe('');
  });

  it('uses "unknown" for an alert without a cluster, since empty attribute values filter badly', async () => {
    await sink.send(alert({ cluster: null }));
    expect(fake.published[0]!.attributes['cluster']).toBe('unknown');
  });

  it('trims evidence, never the alert, to stay under 1 MiB', async () => {
    const big = alert({ facts: { pem: 'B'.repeat(3_000_000), steps: Array.from({ length: 3000 }, (_, i) => ({ step: i, who: 'y'.repeat(900) })) } });
    await sink.send(big);
    const data = fake.published[0]!.data;
    expect(Buffer.byteLength(data)).toBeLessThan(1_048_576);
    const body = JSON.parse(data) as Alert;
    expect(body.id).toBe(big.id);
    expect(body.summary).toBe(big.summary);
    expect(body.facts['trimmed']).toEqual(['facts strings cut to 512 chars']);
    expect((body.facts['pem'] as string).startsWith('B'.repeat(512) + '…[2999488 more chars]')).toBe(true);
  });

  it('rides out an unavailable service through bounded retries', async () => {
    fake.failNext('UNAVAILABLE', 2);
    await sink.send(alert());
    expect(fake.requests.map((r) => r.status)).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'OK']);
    expect(fake.published).toHaveLength(1);
  });

  it('gives up when retries run past the total timeout, leaving the alert to the next run', async () => {
    const short = new PubSubSink(pubsub, 'credwatch-alerts', { ...FAST, totalTimeoutMillis: 150 });
    fake.failAlways('UNAVAILABLE');
    const err = await short.send(alert()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('pubsub-publish-failed');
    expect((err as Error).message).toContain('Gave up after 0.15 s of retries; the alert is retried by the next run.');
    expect(fake.published).toHaveLength(0);
    expect(new Set(fake.requests.map((r) => r.status))).toEqual(new Set(['UNAVAILABLE']));
  });

  it('fails a publish the service never answers once the total timeout is spent', async () => {
    const short = new PubSubSink(pubsub, 'credwatch-alerts', { ...FAST, totalTimeoutMillis: 150 });
    const hang = fake.holdNext();
    const err = await short.send(alert()).catch((e: unknown) => e);
    hang.release();
    expect(err).toBeInstanceOf(SinkError);
    expect(((err as SinkError).cause as { code?: number }).code).toBe(4);
    expect((err as Error).message).toContain('Gave up after 0.15 s of retries');
  });

  it('says which role to grant when publishing is denied, without retrying', async () => {
    fake.failNext('PERMISSION_DENIED');
    const err = await sink.send(alert()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as Error).message).toContain(`Grant roles/pubsub.publisher on ${TOPIC} to the function's service account.`);
    expect(fake.requests).toHaveLength(1);
  });

  it('names a topic that does not exist', async () => {
    const gone = new PubSubSink(pubsub, 'projects/acme-prod/topics/gone', FAST);
    const err = await gone.send(alert()).catch((e: unknown) => e);
    expect((err as Error).message).toContain('Resource not found (resource=gone).');
    expect((err as Error).message).toContain('The topic projects/acme-prod/topics/gone does not exist: create it, or set CREDWATCH_PUBSUB_TOPIC');
  });
});
