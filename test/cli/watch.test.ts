import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asEks, k8sEvent } from '../../examples/audit-records.js';
import { FakeCloudWatchLogs, type SeedEvent } from '../fakes/cloudwatch-logs.js';
import type { Alert } from '../../core/model/finding.js';
import { groupFindings, renderGroup } from '../../functions/cli/findings-table.js';
import { cli, TEST_RULES } from './cli-harness.js';
import { stubAwsCredentialEnv } from '../helpers/aws-clients.js';

const CLUSTER = 'prod-eks-1';
const GROUP = `/aws/eks/${CLUSTER}/cluster`;
const T = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;

function secretList(id: string, at: number, ingestedAt: number): SeedEvent {
  const cw = asEks(k8sEvent({ verb: 'list', user: 'alice', resource: 'secrets', namespace: 'payments', auditID: id, time: new Date(at).toISOString() }));
  return { logStreamName: String(cw['logStreamName']), timestamp: at, ingestionTime: ingestedAt, message: String(cw['message']), eventId: `cw-${id}` };
}

describe('credwatch watch', () => {
  let fake: FakeCloudWatchLogs;
  let env: NodeJS.ProcessEnv;
  let state: string;
  beforeEach(async () => {
    fake = await FakeCloudWatchLogs.start();
    fake.createLogGroup(GROUP);
    env = { CREDWATCH_EKS_ENDPOINT: fake.endpoint };
    state = join(await mkdtemp(join(tmpdir(), 'credwatch-watch-')), 'state.json');
    stubAwsCredentialEnv();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await fake.close();
  });

  /** The clock moves 5 minutes per `sleep`, as the real timer would. */
  function timeline(start: number) {
    let now = start;
    const sleeps: number[] = [];
    return {
      now: () => new Date(now),
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      sleeps,
    };
  }

  const argv = ['watch', '--eks', CLUSTER, '--region', 'us-west-2', '--format', 'jsonl', '--min-severity', 'low'];

  it('alerts each event once across runs, late arrivals and a restart', async () => {
    fake.putEvents(GROUP, [
      secretList('a-1', T - 3 * MIN, T - 2 * MIN), // in the first run's 6-minute lookback
      secretList('a-2', T + 1 * MIN, T + 2 * MIN), // second run
      secretList('a-3', T - 18 * MIN, T + 7 * MIN), // ingested 25 min after it happened: third run
    ]);
    const clock = timeline(T);
    const first = await cli([...argv, '--state', state, '--runs', '2'], { rules: TEST_RULES, now: clock.now, sleep: clock.sleep }, env);
    expect(first.code).toBe(0);
    expect(clock.sleeps).toEqual([5 * MIN]);
    const ids = (out: string) => out.trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { event: { id: string } }).event.id);
    expect(ids(first.stdout)).toEqual(['a-1', 'a-2']);
    expect(first.stderr).toContain('credwatch watch: eks:prod-eks-1 ok');

    // A new process with the same state file: continues from the checkpoint, repeats nothing.
    const later = timeline(T + 10 * MIN);
    const second = await cli([...argv, '--state', state, '--runs', '1'], { rules: TEST_RULES, now: later.now, sleep: later.sleep }, env);
    expect(second.code).toBe(0);
    expect(ids(second.stdout)).toEqual(['a-3']);
    const saved = JSON.parse(await readFile(state, 'utf8')) as { checkpoints: Record<string, { to: string }> };
    expect(saved.checkpoints['eks:prod-eks-1']?.to).toBe(new Date(T + 10 * MIN).toISOString());
  });

  it('prints the table of scan, one group per request, with --format table', async () => {
    fake.putEvents(GROUP, [secretList('t-1', T - 3 * MIN, T - 2 * MIN), secretList('t-2', T - 2 * MIN, T - 1 * MIN)]);
    const table = await cli(['watch', '--eks', CLUSTER, '--region', 'us-west-2', '--min-severity', 'low', '--state', state, '--runs', '1'], { rules: TEST_RULES, now: () => new Date(T), sleep: async () => undefined }, env);
    const jsonState = join(await mkdtemp(join(tmpdir(), 'credwatch-watch-')), 'state.json');
    const json = await cli(['watch', '--eks', CLUSTER, '--region', 'us-west-2', '--min-severity', 'low', '--format', 'jsonl', '--state', jsonState, '--runs', '1'], { rules: TEST_RULES, now: () => new Date(T), sleep: async () => undefined }, env);
    const alerts = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Alert);
    expect(alerts).toHaveLength(2);
    const layout = { style: { color: false }, ruleWidth: Math.max(...TEST_RULES.map((r) => r.id.length)), clusterWidth: 0 };
    const expected = groupFindings(alerts).map((g) => renderGroup(g, layout)).join('');
    expect(table.stdout).toBe(expected);
    expect(table.stdout).toMatch(/^HIGH {6}2026-03-02T08:57:00Z  prod-eks-1  alice list secrets in namespace payments/);
  });

  it('takes over at once the lease of a watch killed with -9, instead of waiting for it to expire', async () => {
    fake.putEvents(GROUP, [secretList('k-1', T - 3 * MIN, T - 2 * MIN)]);
    // A real process takes the lease through the state file and dies by SIGKILL holding it.
    const storeModule = new URL('../../core/scan/state/file-store.ts', import.meta.url).href;
    const script = `const { FileStateStore } = await import(${JSON.stringify(storeModule)}); await new FileStateStore(${JSON.stringify(state)}).acquireLease('eks:prod-eks-1', 'killed-run', new Date(${T}), 300000); process.kill(process.pid, 'SIGKILL');`;
    const killed = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(killed.signal).toBe('SIGKILL');
    const saved = JSON.parse(await readFile(state, 'utf8')) as { leases: Record<string, { owner: string }> };
    expect(saved.leases['eks:prod-eks-1']?.owner).toBe('killed-run');
    const clock = timeline(T + MIN);
    const out = await cli([...argv, '--state', state, '--runs', '1'], { rules: TEST_RULES, now: clock.now, sleep: clock.sleep }, env);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/the lease on eks:prod-eks-1 in .* was held by process \d+, which is gone: taken over/);
    expect(out.stderr).toContain('credwatch watch: eks:prod-eks-1 ok');
    expect(out.stdout).toContain('"k-1"');
  });

  it('stops between runs when interrupted', async () => {
    const controller = new AbortController();
    const clock = timeline(T);
    const out = await cli([...argv, '--state', state], {
      rules: TEST_RULES,
      now: clock.now,
      signal: controller.signal,
      sleep: async (ms) => {
        await clock.sleep(ms);
        controller.abort();
      },
    }, env);
    expect(out.code).toBe(0);
    expect(clock.sleeps).toEqual([5 * MIN]);
  });

  it('refuses to run without a live source or with a too-short interval', async () => {
    const none = await cli(['watch', '--state', state], { rules: TEST_RULES }, env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('watch needs a live source: --eks, --aks or --gke');
    const fast = await cli([...argv, '--every', '1s', '--state', state], { rules: TEST_RULES }, env);
    expect(fast.code).toBe(2);
    expect(fast.stderr).toContain('--every must be at least 10s');
  });

  it('reports a failing source and exits 2 after the last run', async () => {
    const out = await cli(['watch', '--eks', 'no-such-cluster', '--region', 'us-west-2', '--state', state, '--runs', '1'], { rules: TEST_RULES, now: () => new Date(T) }, env);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('eks:no-such-cluster failed');
  });
});
