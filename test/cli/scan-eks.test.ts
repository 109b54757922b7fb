import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asEks, k8sEvent } from '../../examples/audit-records.js';
import { RULES } from '../../rules/index.js';
import { FakeCloudWatchLogs, type SeedEvent } from '../fakes/cloudwatch-logs.js';
import { cli, TEST_RULES } from './cli-harness.js';
import { stubAwsCredentialEnv } from '../helpers/aws-clients.js';

const CLUSTER = 'prod-eks-1';
const GROUP = `/aws/eks/${CLUSTER}/cluster`;
const T = Date.parse('2026-03-02T09:00:00Z');

function stored(init: Parameters<typeof k8sEvent>[0], ingestedAfterMs = 2_000): SeedEvent {
  const cw = asEks(k8sEvent(init));
  const timestamp = Number(cw['timestamp']);
  return { logStreamName: String(cw['logStreamName']), timestamp, ingestionTime: timestamp + ingestedAfterMs, message: String(cw['message']), eventId: String(cw['eventId']) };
}

const nodeListsSecrets = {
  verb: 'list',
  user: 'system:node:ip-10-0-1-7.ec2.internal',
  resource: 'secrets',
  namespace: 'kube-system',
  sourceIPs: ['198.51.100.77'],
  auditID: '7d1e6f0a-1111-4222-8333-444455556666',
  time: '2026-03-02T09:20:00.000000Z',
};

describe('credwatch scan --eks', () => {
  let fake: FakeCloudWatchLogs;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    fake = await FakeCloudWatchLogs.start();
    env = { CREDWATCH_EKS_ENDPOINT: fake.endpoint };
    stubAwsCredentialEnv();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await fake.close();
  });

  it('reads the window from the fake and prints the alert', async () => {
    fake.putEvents(GROUP, [
      stored({ verb: 'list', user: 'alice', resource: 'secrets', namespace: 'payments', auditID: '0b6c5f7e-aaaa-4bbb-8ccc-000000000001', time: '2026-03-02T09:10:00.000000Z' }),
      stored({ verb: 'get', user: 'alice', resource: 'pods', namespace: 'payments', time: '2026-03-02T09:11:00.000000Z' }),
      // Outside --to by ingestion time: the next scan's event.
      stored({ verb: 'list', user: 'bob', resource: 'secrets', namespace: 'payments', time: '2026-03-02T09:59:59.000000Z' }, 5_000),
    ]);
    const out = await cli(
      ['scan', '--eks', CLUSTER, '--region', 'us-west-2', '--from', '2026-03-02T09:00Z', '--to', '2026-03-02T10:00Z', '--format', 'jsonl'],
      { rules: TEST_RULES },
      env,
    );
    expect(out.stderr).not.toContain('failed');
    expect(out.code).toBe(0);
    const alerts = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(alerts.map((a) => [a['rule'], a['severity'], a['cloud'], a['cluster'], a['summary'], (a['event'] as Record<string, unknown>)['id']])).toEqual([
      ['test-secret-list', 'high', 'eks', CLUSTER, 'alice listed secrets in payments', '0b6c5f7e-aaaa-4bbb-8ccc-000000000001'],
    ]);
    expect(fake.requests.map((r) => r.body)).toEqual([
      {
        logGroupName: GROUP,
        logStreamNamePrefix: 'kube-apiserver-audit-',
        startTime: T - 30 * 60_000,
        endTime: T + 61 * 60_000,
        filterPattern:
          '{ ($.objectRef.resource = "configmaps" && $.verb = "get") || ($.objectRef.resource = "secrets" && $.verb = "list") }',
      },
      // The lines CloudWatch cut ([Truncated...]) match no JSON pattern: one more query brings them.
      { logGroupName: GROUP, logStreamNamePrefix: 'kube-apiserver-audit-', startTime: T - 30 * 60_000, endTime: T + 61 * 60_000, filterPattern: '"[Truncated...]"' },
    ]);
  });

  it('flags a node credential listing secrets with the real rule set over --since', async () => {
    fake.putEvents(GROUP, [stored(nodeListsSecrets)]);
    const out = await cli(['scan', '--eks', CLUSTER, '--region', 'us-west-2', '--since', '2h', '--format', 'jsonl'], { rules: RULES, now: () => new Date(T + 60 * 60_000) }, env);
    expect(out.code).toBe(0);
    const alerts = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const byNode = alerts.filter((a) => a['rule'] === 'secret-read-by-node');
    expect(byNode.map((a) => [a['cluster'], (a['event'] as Record<string, unknown>)['id']])).toEqual([[CLUSTER, nodeListsSecrets.auditID]]);
    expect(fake.requests[0]?.body['startTime']).toBe(T - 60 * 60_000 - 30 * 60_000);
  });

  it('explains a cluster without audit logging', async () => {
    const out = await cli(['scan', '--eks', 'dev-eks', '--region', 'eu-west-1', '--since', '1h'], { rules: TEST_RULES, now: () => new Date(T) }, env);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      `aws eks update-cluster-config --name dev-eks --region eu-west-1 --logging '{"clusterLogging":[{"types":["audit"],"enabled":true}]}'`,
    );
  });
});
