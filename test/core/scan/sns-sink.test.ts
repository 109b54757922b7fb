import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../../core/model/errors.js';
import type { Alert } from '../../../core/model/finding.js';
import { SnsSink } from '../../../core/scan/sinks/sns.js';
import { SnsFake } from '../../fakes/sns.js';
import { testSnsClient } from '../../helpers/aws-clients.js';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:credwatch-alerts';

export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: '0f3c9a7d2b1e4c5f8a9b0c1d2e3f4a5b',
    rule: 'csr-privileged-subject',
    title: 'CSR requests a privileged identity',
    severity: 'critical',
    summary: 'mallory created CSR evil asking for CN=system:kube-controller-manager in prod-eks-1 from 203.0.113.24',
    cloud: 'eks',
    cluster: 'prod-eks-1',
    time: '2026-03-02T09:00:00.000Z',
    event: {
      id: '6c1f3c7e-1111-4222-8333-444455556666',
      verb: 'create',
      user: { name: 'mallory', groups: ['system:authenticated'], extra: { arn: ['arn:aws:iam::111122223333:user/mallory'] } },
      sourceIPs: ['203.0.113.24'],
      userAgent: 'kubectl/v1.30.2',
      target: { apiGroup: 'certificates.k8s.io', resource: 'certificatesigningrequests', name: 'evil' },
      outcome: { result: 'success', code: 201 },
      origin: { source: 'eks:prod-eks-1', page: 1 },
    },
    facts: { subject: { cn: ['system:kube-controller-manager'], o: [] } },
    mitre: ['T1098'],
    ...overrides,
  };
}

describe('SNS sink', () => {
  const fake = new SnsFake();
  let sink: SnsSink;
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await fake.start();
    fake.topics.add(TOPIC);
    sink = new SnsSink(testSnsClient(endpoint), TOPIC);
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.published.length = 0;
    fake.faults = {};
  });

  it('publishes the alert JSON as the body with rule, severity and cluster attributes', async () => {
    const alert = sampleAlert();
    await sink.send(alert);
    expect(fake.published).toHaveLength(1);
    const msg = fake.published[0]!;
    expect(JSON.parse(msg.message)).toEqual(alert);
    expect(msg.attributes).toEqual({
      rule: { dataType: 'String', value: 'csr-privileged-subject' },
      severity: { dataType: 'String', value: 'critical' },
      cluster: { dataType: 'String', value: 'prod-eks-1' },
    });
    expect(msg.subject).toBe('credwatch CRITICAL: CSR requests a privileged identity (prod-eks-1)');
  });

  it('trims evidence, never the alert, to stay under 256 KB', async () => {
    const alert = sampleAlert({ facts: { pem: 'A'.repeat(400_000), steps: Array.from({ length: 500 }, (_, i) => ({ step: i, who: 'x'.repeat(900) })) } });
    await sink.send(alert);
    const body = JSON.parse(fake.published[0]!.message) as Alert;
    expect(Buffer.byteLength(fake.published[0]!.message)).toBeLessThan(262_144);
    expect(body.id).toBe(alert.id);
    expect(body.summary).toBe(alert.summary);
    expect(body.facts['trimmed']).toEqual(['facts strings cut to 512 chars']);
    expect((body.facts['pem'] as string).startsWith('A'.repeat(512) + '…[399488 more chars]')).toBe(true);
  });

  it('uses "unknown" for an alert without a cluster, since SNS rejects empty attributes', async () => {
    await sink.send(sampleAlert({ cluster: null }));
    expect(fake.published[0]!.attributes['cluster']!.value).toBe('unknown');
  });

  it('rides out throttling through the SDK retries', async () => {
    fake.faults.throttle = 2;
    await sink.send(sampleAlert());
    expect(fake.published).toHaveLength(1);
  });

  it('reports a refused publish as a SinkError that says what to fix', async () => {
    fake.faults.error = 'AuthorizationError';
    const err = await sink.send(sampleAlert()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as Error).message).toContain(`Grant sns:Publish on ${TOPIC}`);
  });

  it('names a topic that does not exist', async () => {
    const other = 'arn:aws:sns:us-east-1:111122223333:gone';
    const s = new SnsSink(testSnsClient(endpoint), other);
    const err = await s.send(sampleAlert()).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`The topic ${other} does not exist`);
  });
});
