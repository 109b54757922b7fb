import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asGke, k8sEvent, KUBECTL_UA } from '../../examples/audit-records.js';
import { runCli } from '../../functions/cli/run-cli.js';
import { FakeCloudLogging } from '../fakes/cloud-logging.js';

const NODE = 'system:node:gke-gke-prod-1-default-pool-1a2b3c4d-x7k2';

function capture() {
  const out = { stdout: '', stderr: '' };
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  return { out, stdout, stderr };
}

describe('credwatch scan --gke', () => {
  let fake: FakeCloudLogging;
  beforeEach(async () => {
    fake = await FakeCloudLogging.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  const run = async (argv: string[], now = new Date('2026-03-02T10:00:00Z')) => {
    const { out, stdout, stderr } = capture();
    const code = await runCli(argv, { stdout, stderr, stdin: new PassThrough(), env: { CREDWATCH_GKE_ENDPOINT: fake.endpoint } }, { now: () => now });
    return { code, ...out };
  };

  it('scans the fake through the real client and prints the alert', async () => {
    const list = k8sEvent({ verb: 'list', user: NODE, resource: 'secrets', namespace: 'payments', userAgent: KUBECTL_UA, sourceIPs: ['198.51.100.7'], time: '2026-03-02T09:01:00.000000Z', auditID: 'a1b2c3d4-0000-4000-8000-000000000001' });
    fake.add(asGke(list, { project: 'acme-prod', cluster: 'gke-prod-1' }));
    fake.add(asGke(k8sEvent({ verb: 'list', user: NODE, resource: 'secrets', namespace: 'payments', userAgent: KUBECTL_UA, time: '2026-03-02T09:01:00.000000Z' }), { project: 'acme-prod', cluster: 'gke-other' }));
    const r = await run(['scan', '--gke', 'acme-prod', '--gke-cluster', 'gke-prod-1', '--from', '2026-03-02T09:00:00Z', '--to', '2026-03-02T09:06:00Z', '--format', 'jsonl']);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(alerts.map((a) => [a['rule'], a['cloud'], a['cluster'], (a['event'] as Record<string, unknown>)['id']])).toEqual([
      ['secret-read-by-node', 'gke', 'gke-prod-1', 'a1b2c3d4-0000-4000-8000-000000000001'],
    ]);
    expect(r.stderr).not.toContain('Data Access');
    expect(fake.requests[0]!.filter).toContain('resource.labels.cluster_name="gke-prod-1"');
    expect(fake.requests[0]!.filter).toContain('receiveTimestamp>="2026-03-02T09:00:00.000Z"');
  });

  it('takes --since from now and says when Data Access logs are off', async () => {
    fake.add(asGke(k8sEvent({ verb: 'create', user: 'alice@example.com', resource: 'pods', namespace: 'a', name: 'p', time: '2026-03-02T09:30:00.000000Z' }), { project: 'acme-prod' }));
    const r = await run(['scan', '--gke', 'acme-prod', '--since', '2h']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('No Kubernetes Data Access audit entries for project acme-prod');
    expect(fake.requests[0]!.filter).toContain('receiveTimestamp>="2026-03-02T08:00:00.000Z"\nAND receiveTimestamp<"2026-03-02T10:00:00.000Z"');
  });
});
