import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asAks, k8sEvent } from '../../examples/audit-records.js';
import { RULES } from '../../rules/index.js';
import { FakeLogAnalytics } from '../fakes/log-analytics.js';
import { cli, TEST_RULES } from './cli-harness.js';

const CLUSTER = 'aks-prod-1';
const T = Date.parse('2026-03-02T09:00:00Z');
const at = (min: number): Date => new Date(T + min * 60_000);

function row(init: Parameters<typeof k8sEvent>[0], cluster = CLUSTER): Record<string, unknown> {
  return asAks(k8sEvent(init), { cluster, form: 'aksaudit' });
}

describe('credwatch scan --aks', () => {
  let fake: FakeLogAnalytics;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    fake = await FakeLogAnalytics.start();
    env = { CREDWATCH_AKS_ENDPOINT: fake.endpoint };
    // The CLI cannot hand over test objects: the source trusts the fake's CA and uses a
    // pre-acquired token from the environment instead of DefaultAzureCredential.
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-cli-aks-'));
    writeFileSync(join(dir, 'ca.pem'), fake.ca);
    vi.stubEnv('CREDWATCH_AKS_CA_FILE', join(dir, 'ca.pem'));
    vi.stubEnv('CREDWATCH_AKS_TOKEN', fake.token);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await fake.close();
  });

  it('reads the window of the cluster from the fake workspace and prints the alert', async () => {
    fake.addRows('AKSAudit', [row({ verb: 'list', user: 'alice', resource: 'secrets', namespace: 'payments', auditID: '0b6c5f7e-aaaa-4bbb-8ccc-000000000001', time: '2026-03-02T09:10:00.000000Z' })], at(12));
    fake.addRows('AKSAudit', [row({ verb: 'get', user: 'alice', resource: 'pods', namespace: 'payments', time: '2026-03-02T09:11:00.000000Z' })], at(12));
    fake.addRows('AKSAudit', [row({ verb: 'list', user: 'carol', resource: 'secrets', namespace: 'payments', time: '2026-03-02T09:12:00.000000Z' }, 'aks-dev')], at(13));
    // Ingested after --to: the next scan's event.
    fake.addRows('AKSAudit', [row({ verb: 'list', user: 'bob', resource: 'secrets', namespace: 'payments', time: '2026-03-02T09:59:59.000000Z' })], at(61));
    const out = await cli(
      ['scan', '--aks', fake.workspaceId, '--aks-cluster', CLUSTER, '--from', '2026-03-02T09:00Z', '--to', '2026-03-02T10:00Z', '--format', 'jsonl'],
      { rules: TEST_RULES },
      env,
    );
    expect(out.stderr).not.toContain('failed');
    expect(out.code).toBe(0);
    const alerts = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(alerts.map((a) => [a['rule'], a['severity'], a['cloud'], a['cluster'], a['summary'], (a['event'] as Record<string, unknown>)['id']])).toEqual([
      ['test-secret-list', 'high', 'aks', CLUSTER, 'alice listed secrets in payments', '0b6c5f7e-aaaa-4bbb-8ccc-000000000001'],
    ]);
    expect(fake.requests.map((r) => [r.path, r.status, r.rows])).toEqual([
      [`/v1/workspaces/${fake.workspaceId}/query`, 200, 1],
      [`/v1/workspaces/${fake.workspaceId}/query`, 200, 1],
    ]);
    expect(fake.requests[1]!.query).toContain('| where _ResourceId endswith "/managedclusters/aks-prod-1"');
  });

  it('flags a node credential listing secrets with the real rule set over --since', async () => {
    const auditID = '7d1e6f0a-1111-4222-8333-444455556666';
    fake.addRows('AKSAudit', [row({ verb: 'list', user: 'system:node:aks-nodepool1-12345678-vmss000000', resource: 'secrets', namespace: 'kube-system', sourceIPs: ['198.51.100.77'], auditID, time: '2026-03-02T09:20:00.000000Z' })], at(40));
    const out = await cli(['scan', '--aks', fake.workspaceId, '--since', '2h', '--format', 'jsonl'], { rules: RULES, now: () => at(60) }, env);
    expect(out.code).toBe(0);
    const alerts = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const byNode = alerts.filter((a) => a['rule'] === 'secret-read-by-node');
    expect(byNode.map((a) => [a['cloud'], a['cluster'], (a['event'] as Record<string, unknown>)['id']])).toEqual([['aks', CLUSTER, auditID]]);
  });

  it('says when only kube-audit-admin reaches the workspace', async () => {
    fake.addRows('AKSAuditAdmin', [row({ verb: 'create', user: 'alice', resource: 'configmaps', namespace: 'payments', time: '2026-03-02T09:10:00.000000Z' })], at(12));
    const out = await cli(['scan', '--aks', fake.workspaceId, '--from', '2026-03-02T09:00Z', '--to', '2026-03-02T10:00Z'], { rules: TEST_RULES }, env);
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('enable the "kube-audit" category');
  });
});
