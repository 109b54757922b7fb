import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asEks, asGke, k8sEvent } from '../../examples/audit-records.js';
import type { LogSource } from '../../core/model/source.js';
import { asCloudLoggingContainer, asFluentBitCloudWatch, traceeExec } from '../../examples/runtime-records.js';
import type { AksRuntimeFlags, GkeRuntimeFlags, SourceFactories } from '../../functions/cli/live-sources.js';
import kubeletPkiReadInContainer from '../../rules/kubelet-pki-read-in-container.js';
import { FakeCloudLogging } from '../fakes/cloud-logging.js';
import { FakeCloudWatchLogs, type SeedEvent } from '../fakes/cloudwatch-logs.js';
import { cli } from './cli-harness.js';
import { stubAwsCredentialEnv } from '../helpers/aws-clients.js';

const CLUSTER = 'prod-eks-1';
const AUDIT_GROUP = `/aws/eks/${CLUSTER}/cluster`;
const RUNTIME_GROUP = `/aws/containerinsights/${CLUSTER}/application`;
const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const T = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const rules = [kubeletPkiReadInContainer];

function seed(record: Record<string, unknown>): SeedEvent {
  return { logStreamName: String(record['logStreamName']), timestamp: Number(record['timestamp']), ingestionTime: Number(record['ingestionTime']), message: String(record['message']), eventId: String(record['eventId']) };
}
const exec = (pod: string, time: string, user: string) =>
  k8sEvent({ verb: 'create', user, resource: 'pods', subresource: 'exec', namespace: 'default', name: pod, query: [['command', 'sh'], ['container', 'web'], ['tty', 'true']], time, sourceIPs: ['198.51.100.9'] });
const cat = (pod: string, time: string) => traceeExec({ comm: 'cat', exe: '/usr/bin/cat', argv: ['cat', KEY], tty: true, time, pod });
const alertsOf = (stdout: string) =>
  stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { rule: string; cluster: string; event: { user: { name?: string }; target?: { name?: string } } });

describe('credwatch scan and watch with runtime sensor sources', () => {
  let cw: FakeCloudWatchLogs;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    cw = await FakeCloudWatchLogs.start();
    env = { CREDWATCH_EKS_ENDPOINT: cw.endpoint };
    stubAwsCredentialEnv();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await cw.close();
  });

  it('scan --eks --runtime-sensor ties reads to execs in the window and in the margin before it, counting each exec once', async () => {
    cw.putEvents(AUDIT_GROUP, [
      seed(asEks(exec('web-a', '2026-03-02T08:50:00.000000Z', 'alice@example.com'))), // margin before the window
      seed(asEks(exec('web-b', '2026-03-02T09:20:00.000000Z', 'bob@example.com'))), // in the window
    ]);
    cw.putEvents(RUNTIME_GROUP, [seed(asFluentBitCloudWatch(cat('web-a', '2026-03-02T09:01:00.000000Z'))), seed(asFluentBitCloudWatch(cat('web-b', '2026-03-02T09:21:00.000000Z')))]);
    const out = await cli(['scan', '--eks', CLUSTER, '--region', 'us-west-2', '--runtime-sensor', '--from', '2026-03-02T09:00Z', '--to', '2026-03-02T10:00Z', '--format', 'jsonl'], { rules }, env);
    expect(out.stderr).not.toContain('FAILED');
    expect(out.code).toBe(0);
    expect(alertsOf(out.stdout).map((a) => [a.rule, a.cluster, a.event.target?.name, a.event.user.name])).toEqual([
      ['kubelet-pki-read-in-container', CLUSTER, 'web-a', 'alice@example.com'],
      ['kubelet-pki-read-in-container', CLUSTER, 'web-b', 'bob@example.com'],
    ]);
    // The audit window, then the runtime source: the exec margin [from − 15 min, from), then the sensor group.
    expect(cw.requests.map((r) => [r.body['logGroupName'], r.body['startTime'], r.body['endTime']])).toEqual([
      [AUDIT_GROUP, T - 30 * MIN, T + 61 * MIN],
      [AUDIT_GROUP, T - 45 * MIN, T + 1 * MIN],
      [RUNTIME_GROUP, T - 30 * MIN, T + 61 * MIN],
    ]);
    expect(out.stderr.split('\n')[0]).toMatch(/^credwatch: 4 records → 4 events, 0 skipped, 0 rejected in /);
  });

  it('watch --eks-runtime-log-group scans the runtime source on its own checkpoint, reading the execs itself', async () => {
    const group = '/eks/prod-eks-1/tracee';
    cw.putEvents(AUDIT_GROUP, [seed(asEks(exec('web-a', '2026-03-02T08:50:00.000000Z', 'alice@example.com')))]);
    cw.putEvents(group, [seed(asFluentBitCloudWatch(cat('web-a', '2026-03-02T08:57:00.000000Z')))]);
    const state = join(await mkdtemp(join(tmpdir(), 'credwatch-watch-runtime-')), 'state.json');
    const argv = ['watch', '--eks', CLUSTER, '--region', 'us-west-2', '--eks-runtime-log-group', group, '--runtime-containers', 'tracee', '--format', 'jsonl', '--state', state, '--runs', '1'];
    const out = await cli(argv, { rules, now: () => new Date(T) }, env);
    expect(out.code).toBe(0);
    expect(alertsOf(out.stdout).map((a) => [a.event.target?.name, a.event.user.name])).toEqual([['web-a', 'alice@example.com']]);
    expect(out.stderr).toContain('credwatch watch: eks:prod-eks-1 ok');
    expect(out.stderr).toContain('credwatch watch: eks-runtime:prod-eks-1 ok');
    const runtimeCall = cw.requests.find((r) => r.body['logGroupName'] === group);
    expect(runtimeCall?.body['filterPattern']).toBe('{ $.kubernetes.container_name = "tracee" }');
    // Its own exec read: [window start − 15 min, window end).
    expect(cw.requests.filter((r) => r.body['logGroupName'] === AUDIT_GROUP).map((r) => r.body['startTime'])).toEqual([T - 6 * MIN - 30 * MIN, T - 21 * MIN - 30 * MIN]);
    const saved = JSON.parse(await readFile(state, 'utf8')) as { checkpoints: Record<string, { to: string }> };
    expect(Object.keys(saved.checkpoints).sort()).toEqual(['eks-runtime:prod-eks-1', 'eks:prod-eks-1']);
  });

  it('scan --gke --gke-runtime reads the sensor container logs through the real client', async () => {
    const gcl = await FakeCloudLogging.start();
    try {
      gcl.add({ ...asGke(exec('web-a', '2026-03-02T08:58:00.000000Z', 'carol@example.com'), { project: 'acme-prod', cluster: 'gke-prod-1' }), receiveTimestamp: '2026-03-02T08:58:02Z' });
      gcl.add(asCloudLoggingContainer(cat('web-a', '2026-03-02T09:01:00.000000Z'), { project: 'acme-prod', cluster: 'gke-prod-1' }));
      const out = await cli(['scan', '--gke', 'acme-prod', '--gke-cluster', 'gke-prod-1', '--gke-runtime', '--from', '2026-03-02T09:00Z', '--to', '2026-03-02T09:06Z', '--format', 'jsonl'], { rules }, { CREDWATCH_GKE_ENDPOINT: gcl.endpoint });
      expect(out.code).toBe(0);
      expect(alertsOf(out.stdout).map((a) => [a.cluster, a.event.target?.name, a.event.user.name])).toEqual([['gke-prod-1', 'web-a', 'carol@example.com']]);
      expect(gcl.requests.filter((r) => r.filter.includes('k8s_container')).map((r) => r.filter.split('\nAND ').slice(1, 3))).toEqual([
        ['resource.type="k8s_container"', '(resource.labels.container_name="tracee" OR resource.labels.container_name="falco")'],
      ]);
    } finally {
      await gcl.stop();
    }
  });

  it('plans the AKS and GKE runtime sources after the audit sources, with their audit source and options', async () => {
    const calls: Array<[string, unknown, string?]> = [];
    const stub = (name: string): LogSource => ({ name, cloud: 'aks', async *read() {} });
    const factories: SourceFactories = {
      eks: async () => stub('eks'),
      aks: async (o) => (calls.push(['aks', o]), stub(`aks:${o.workspaceId}`)),
      gke: async (o) => (calls.push(['gke', o]), stub(`gke:${o.projects.join(',')}`)),
      aksRuntime: async (o: AksRuntimeFlags, audit) => (calls.push(['aks-runtime', o, audit.name]), stub('aks-runtime')),
      gkeRuntime: async (o: GkeRuntimeFlags, audit) => (calls.push(['gke-runtime', o, audit.name]), stub('gke-runtime')),
    };
    const out = await cli(['scan', '--aks', 'ws-1', '--aks-cluster', 'aks-prod-1', '--gke', 'p1', '--runtime-sensor', '--runtime-containers', 'falco', '--since', '1h'], { rules, sources: factories, now: () => new Date(T) });
    expect(out.code).toBe(0);
    expect(calls).toEqual([
      ['aks', { workspaceId: 'ws-1', cluster: 'aks-prod-1' }],
      ['gke', { projects: ['p1'] }],
      ['aks', { workspaceId: 'ws-1', cluster: 'aks-prod-1' }],
      ['aks-runtime', { workspaceId: 'ws-1', cluster: 'aks-prod-1', sensorContainers: ['falco'], execMarginOnly: true }, 'aks:ws-1'],
      ['gke', { projects: ['p1'] }],
      ['gke-runtime', { projects: ['p1'], sensorContainers: ['falco'], execMarginOnly: true }, 'gke:p1'],
    ]);
  });

  it('rejects a runtime flag without its cloud source, naming the flag', async () => {
    const cases: Array<[string[], string]> = [
      [['--runtime-sensor'], 'credwatch: --runtime-sensor applies to live sources; add --eks, --aks or --gke.\n'],
      [['--eks-runtime', '--gke', 'p1'], 'credwatch: --eks-runtime applies to --eks; add --eks CLUSTER.\n'],
      [['--eks-runtime-log-group', '/x', '--aks', 'ws'], 'credwatch: --eks-runtime-log-group applies to --eks; add --eks CLUSTER.\n'],
      [['--aks-runtime', '--eks', 'c'], 'credwatch: --aks-runtime applies to --aks; add --aks WORKSPACE_ID.\n'],
      [['--gke-runtime', '--eks', 'c'], 'credwatch: --gke-runtime applies to --gke; add --gke PROJECT.\n'],
      [['--eks', 'c', '--runtime-containers', 'falco'], 'credwatch: --runtime-containers applies to runtime sources; add --runtime-sensor (or --eks-runtime, --aks-runtime, --gke-runtime).\n'],
      [['--eks', 'a', '--eks', 'b', '--eks-runtime-log-group', '/x'], 'credwatch: --eks-runtime-log-group names the log group of one cluster; give a single --eks CLUSTER.\n'],
      [['--eks', 'c', '--runtime-sensor', '--runtime-containers', 'Falco'], 'credwatch: --runtime-containers: "Falco" is not a Kubernetes container name (lower-case letters, digits and -)\n'],
      // No container filter suits only an EKS group of the sensor's own (`--runtime-containers ''` there is accepted).
      [['--gke', 'p1', '--runtime-sensor', '--runtime-containers', ','], "credwatch: --runtime-containers: name at least one sensor container (e.g. tracee or falco); an empty list (no container filter) applies only to an EKS runtime log group that holds the sensor's lines alone\n"],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['scan', ...flags, '--since', '1h'], { rules });
      expect({ flags, code: r.code, stderr: r.stderr }).toEqual({ flags, code: 2, stderr: message });
    }
    const w = await cli(['watch', '--gke-runtime', '--eks', 'c'], { rules });
    expect([w.code, w.stderr]).toEqual([2, 'credwatch: --gke-runtime applies to --gke; add --gke PROJECT.\n']);
  });
});
