import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asEks, k8sEvent, type K8sAuditEventJson } from '../../examples/audit-records.js';
import { RULES } from '../../rules/index.js';
import { csrCreate, csrDecide, csrDelete, csrGet, csrIssue } from '../../rules/data/csr-events.js';
import { PEM } from '../../rules/data/csr-samples.js';
import { FakeCloudWatchLogs, type SeedEvent } from '../fakes/cloudwatch-logs.js';
import { stubAwsCredentialEnv } from '../helpers/aws-clients.js';
import { cli } from './cli-harness.js';

/**
 * The three slow attacks of a half hour of EKS audit log, replayed as the scheduled function
 * would run them (`watch --from/--to`: a run every 5 minutes on a simulated clock). Each spans
 * more than one run's window, so only correlation state carried between runs sees it.
 */
const CLUSTER = 'prod-eks-1';
const GROUP = `/aws/eks/${CLUSTER}/cluster`;
const DAY = '2026-03-02';
const at = (hhmm: string): string => `${DAY}T${hhmm}.000000Z`;
const KUBECTL = 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350';
const KUBELET = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';
const NODE = 'system:node:ip-10-0-1-23.eu-west-1.compute.internal';

let seq = 0;
/** An audit event as CloudWatch holds it, ingested 20 seconds after it happened. */
function seed(ev: K8sAuditEventJson, id: string): SeedEvent {
  const withId = { ...ev, auditID: id };
  const cw = asEks(withId);
  const t = Date.parse(String(withId['requestReceivedTimestamp'] ?? withId['stageTimestamp']));
  return { logStreamName: String(cw['logStreamName']), timestamp: t, ingestionTime: t + 20_000, message: String(cw['message']), eventId: `cw-${++seq}` };
}

function slowAttacks(): SeedEvent[] {
  const csr = 'dev-client';
  const body = { pem: PEM.otherUser, requester: { username: 'dev@example.com' } };
  const csrChain = [
    seed(csrCreate({ name: csr, user: 'dev@example.com', time: at('09:01:00'), userAgent: KUBECTL }, { pem: PEM.otherUser }), 'csr-create'),
    seed(csrDecide({ name: csr, user: 'admin@example.com', time: at('09:09:00'), userAgent: KUBECTL }, body), 'csr-approve'),
    seed(csrIssue({ name: csr, user: 'system:kube-controller-manager', time: at('09:09:02'), sourceIPs: ['10.0.0.2'], userAgent: 'kube-controller-manager/v1.30.2' }, body, PEM.stratusCert), 'csr-issue'),
    seed(csrGet({ name: csr, user: 'dev@example.com', time: at('09:13:00'), userAgent: KUBECTL }, body, PEM.stratusCert), 'csr-read'),
    seed(csrDelete({ name: csr, user: 'dev@example.com', time: at('09:21:00'), userAgent: KUBECTL }), 'csr-delete'),
  ];
  // One Secret a minute in twelve namespaces: ten fall within nine minutes, no run holds more than eight.
  const sweep = Array.from({ length: 12 }, (_, i) =>
    seed(
      k8sEvent({ verb: 'get', resource: 'secrets', namespace: `team-${i}`, name: 'db-password', user: 'jane@example.com', userAgent: KUBECTL, sourceIPs: ['198.51.100.4'], time: at(`09:${String(2 + i).padStart(2, '0')}:30`) }),
      `sweep-${i}`,
    ),
  );
  // The node's kubelet from its own address at 09:03; its credential from outside at 09:16 and 09:24.
  const node = [
    seed(k8sEvent({ verb: 'get', resource: 'secrets', namespace: 'shop', name: 'db-creds', user: NODE, userAgent: KUBELET, sourceIPs: ['10.0.1.23'], time: at('09:03:10') }), 'kubelet-own'),
    seed(k8sEvent({ verb: 'get', resource: 'secrets', namespace: 'shop', name: 'tls-cert', user: NODE, userAgent: KUBELET, sourceIPs: ['203.0.113.50'], time: at('09:16:00') }), 'kubelet-stolen-1'),
    seed(k8sEvent({ verb: 'list', resource: 'pods', user: NODE, sourceIPs: ['203.0.113.50'], time: at('09:17:00') }), 'kubelet-stolen-pods'),
    seed(k8sEvent({ verb: 'get', resource: 'secrets', namespace: 'shop', name: 'api-key', user: NODE, userAgent: KUBELET, sourceIPs: ['203.0.113.50'], time: at('09:24:00') }), 'kubelet-stolen-2'),
  ];
  return [...csrChain, ...sweep, ...node];
}

interface AlertLine {
  id: string;
  rule: string;
  event: { id: string };
  facts: Record<string, unknown>;
}
const alertsOf = (stdout: string): AlertLine[] => stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AlertLine);
const signature = (alerts: AlertLine[]): string[] => alerts.map((a) => `${a.rule} ${a.event.id}`).sort();

describe('credwatch watch --from/--to (replay)', () => {
  let fake: FakeCloudWatchLogs;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    fake = await FakeCloudWatchLogs.start();
    fake.createLogGroup(GROUP);
    fake.putEvents(GROUP, slowAttacks());
    env = { CREDWATCH_EKS_ENDPOINT: fake.endpoint };
    stubAwsCredentialEnv();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await fake.close();
  });

  const base = ['--eks', CLUSTER, '--region', 'us-west-2', '--format', 'jsonl', '--min-severity', 'low'];
  const now = () => new Date(`${DAY}T12:00:00Z`);
  const replay = (from: string, to: string, extra: string[] = []) => cli(['watch', ...base, '--from', from, '--to', to, ...extra], { rules: RULES, now }, env);

  it('alerts each slow attack exactly once across 5-minute runs, naming the earlier runs\' events', async () => {
    const out = await replay(`${DAY}T09:00Z`, `${DAY}T09:30Z`);
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('replayed 6 runs every 5m');
    const alerts = alertsOf(out.stdout);
    // Nothing is printed twice, whatever the window overlaps re-read.
    expect(new Set(alerts.map((a) => a.id)).size).toBe(alerts.length);

    const chain = alerts.filter((a) => a.rule === 'csr-issuance-chain');
    expect(chain).toHaveLength(1);
    expect((chain[0]!.facts['steps'] as Array<{ step: string }>).map((s) => s.step)).toEqual(['create', 'approve', 'issue', 'read', 'delete']);
    expect(chain[0]!.facts['approver']).toBe('admin@example.com');
    const chainEarlier = (chain[0]!.facts['earlierRuns'] as Array<{ id: string; time: string }>).map((e) => e.id);
    expect(chainEarlier).toEqual(expect.arrayContaining(['csr-create', 'csr-approve', 'csr-issue', 'csr-read']));

    const sweep = alerts.filter((a) => a.rule === 'secret-sweep');
    expect(sweep).toHaveLength(1);
    expect(sweep[0]!.event.id).toBe('sweep-9');
    expect(sweep[0]!.facts['distinctSecrets']).toBe(10);
    expect((sweep[0]!.facts['earlierRuns'] as unknown[]).length).toBeGreaterThan(0);

    const node = alerts.filter((a) => a.rule === 'secret-read-by-node');
    // The stolen credential's two reads; the kubelet's own read is no finding. The first outside
    // read never becomes the node's known address, so the second one is judged the same way.
    expect(node.map((a) => a.event.id).sort()).toEqual(['kubelet-stolen-1', 'kubelet-stolen-2']);
    for (const a of node) {
      expect(a.facts['kubeletAddresses']).toEqual(['10.0.1.23']);
      expect(a.facts['earlierRuns']).toEqual([expect.objectContaining({ id: 'kubelet-own', time: at('09:03:10'), run: expect.any(String) })]);
    }
    const offNode = alerts.filter((a) => a.rule === 'node-credential-off-node');
    expect(offNode.map((a) => a.event.id)).toEqual(['kubelet-stolen-pods']);
    expect(offNode[0]!.facts['knownAddresses']).toEqual(['10.0.1.23']);
  });

  it('gives the same findings as one scan of the whole period, wherever the runs\' windows start', async () => {
    const whole = await cli(['scan', ...base, '--from', `${DAY}T08:55Z`, '--to', `${DAY}T09:40Z`], { rules: RULES, now }, env);
    expect(whole.code).toBe(0);
    const expected = signature(alertsOf(whole.stdout));
    expect(expected).toEqual(expect.arrayContaining(['csr-issuance-chain csr-approve', 'secret-sweep sweep-9', 'secret-read-by-node kubelet-stolen-1']));
    const seen = new Map<string, string[]>();
    for (const [offset, every] of [[0, '5m'], [1, '5m'], [2, '5m'], [3, '5m'], [4, '5m'], [0, '7m'], [2, '3m']] as const) {
      const from = new Date(Date.parse(`${DAY}T08:55:00Z`) + offset * 60_000).toISOString();
      const out = await replay(from, `${DAY}T09:40Z`, ['--every', every, '--lookback', '10m']);
      expect(out.code).toBe(0);
      seen.set(`${every}+${offset}m`, signature(alertsOf(out.stdout)));
    }
    for (const [schedule, got] of seen) expect({ schedule, got }).toEqual({ schedule, got: expected });
  });

  it('keeps a replay out of the live state file unless one is named, and refuses a period not in the past', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'credwatch-replay-'));
    const state = join(dir, 'state.json');
    const named = await replay(`${DAY}T09:00Z`, `${DAY}T09:10Z`, ['--state', state]);
    expect(named.code).toBe(0);
    const saved = JSON.parse(await readFile(state, 'utf8')) as { checkpoints: Record<string, { to: string; seq: number; correlation?: string }> };
    expect(saved.checkpoints['eks:prod-eks-1']).toMatchObject({ to: `${DAY}T09:10:00.000Z`, seq: expect.any(Number) });
    expect(saved.checkpoints['eks:prod-eks-1']!.correlation).toBeDefined();

    const future = await cli(['watch', ...base, '--from', `${DAY}T11:00Z`, '--to', `${DAY}T13:00Z`], { rules: RULES, now }, env);
    expect(future.code).toBe(2);
    expect(future.stderr).toContain('is in the future: a replay covers a past period');
    const half = await cli(['watch', ...base, '--from', `${DAY}T11:00Z`], { rules: RULES, now }, env);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('watch --from and --to go together');
  });
});
