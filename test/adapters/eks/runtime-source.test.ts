import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEksSource } from '../../../adapters/eks/source.js';
import { createEksRuntimeSource, sensorFilterPattern } from '../../../adapters/eks/runtime-source.js';
import { Engine } from '../../../core/engine/engine.js';
import { SourceError } from '../../../core/model/errors.js';
import { asEks, k8sEvent } from '../../../examples/audit-records.js';
import { toAlert } from '../../../core/model/finding.js';
import { unionNeeds } from '../../../core/model/needs.js';
import { Pipeline } from '../../../core/engine/pipeline.js';
import { outcomesOf } from '../../../core/engine/pipeline.js';
import { asBareCloudWatch, asFluentBitCloudWatch, falcoExec, falcoStockOpen, traceeExec, traceeNextExec } from '../../../examples/runtime-records.js';
import { ConfigError as CliConfigError } from '../../../core/model/errors.js';
import { SourceSpecSchema } from '../../../functions/shared/runtime-config.js';
import { planLiveSources } from '../../../functions/cli/live-sources.js';
import kubeletPkiReadInContainer from '../../../rules/kubelet-pki-read-in-container.js';
import { fakeClient, FakeCloudWatchLogs, type SeedEvent } from '../../fakes/cloudwatch-logs.js';

const CLUSTER = 'prod-eks-1';
const AUDIT_GROUP = `/aws/eks/${CLUSTER}/cluster`;
const RUNTIME_GROUP = `/aws/containerinsights/${CLUSTER}/application`;
const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const WINDOW = { from: new Date('2026-03-02T09:00:00Z'), to: new Date('2026-03-02T09:06:00Z') };

function seedOf(record: Record<string, unknown>, ingestionTime?: number): SeedEvent {
  return {
    logStreamName: String(record['logStreamName']),
    timestamp: Number(record['timestamp']),
    ingestionTime: ingestionTime ?? Number(record['ingestionTime']),
    message: String(record['message']),
    eventId: String(record['eventId']) + String(ingestionTime ?? ''),
  };
}

const shell = (argv: string[], time = '2026-03-02T09:01:00.000000Z') => ({ comm: argv[0]!, exe: `/usr/bin/${argv[0]!}`, argv, tty: true, time });

describe('eks runtime source', () => {
  let fake: FakeCloudWatchLogs;
  beforeEach(async () => {
    fake = await FakeCloudWatchLogs.start({ scanLimit: 2 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('compiles the sensor containers into a JSON filter on Fluent Bit records', () => {
    expect(sensorFilterPattern(['tracee', 'falco'])).toBe('{ $.kubernetes.container_name = "tracee" || $.kubernetes.container_name = "falco" }');
    expect(sensorFilterPattern([])).toBeUndefined();
  });

  it('reads the execs, then the sensor lines of the window, and ties the read to the kubectl exec', async () => {
    // An exec 12 minutes before the window: found through the look-back, not reported on its own.
    const exec = k8sEvent({
      verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p',
      query: [['command', 'sh'], ['container', 'web'], ['stdin', 'true'], ['tty', 'true']], time: '2026-03-02T08:49:00.000000Z', sourceIPs: ['198.51.100.9'],
    });
    const secretGet = k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', namespace: 'default', name: 's', time: '2026-03-02T09:00:30.000000Z' });
    fake.putEvents(AUDIT_GROUP, [seedOf(asEks(exec)), seedOf(asEks(secretGet))]);
    const nginx = { ...asFluentBitCloudWatch(falcoExec(shell(['cat', KEY]))), message: JSON.stringify({ log: 'GET / 200', kubernetes: { container_name: 'nginx' } }), eventId: 'nginx-1' };
    const late = asFluentBitCloudWatch(falcoExec(shell(['head', KEY], '2026-03-02T08:58:00.000000Z')));
    fake.putEvents(RUNTIME_GROUP, [
      seedOf(asFluentBitCloudWatch(traceeExec(shell(['cat', KEY])))),
      seedOf(nginx),
      seedOf(asFluentBitCloudWatch(traceeExec(shell(['cat', '/etc/hostname'])))),
      seedOf(late, Date.parse('2026-03-02T08:59:00Z')), // ingested before the window: the previous scan's
    ]);
    const client = fakeClient(fake.endpoint);
    const audit = createEksSource({ cluster: CLUSTER, client });
    const source = createEksRuntimeSource({ cluster: CLUSTER, client, audit });
    const rules = [kubeletPkiReadInContainer];
    const engine = new Engine({ rules });
    const delivered: ReturnType<typeof toAlert>[] = [];
    const pipeline = new Pipeline({ engine, onFinding: (f) => void delivered.push(toAlert(f)) });
    await pipeline.consume(outcomesOf(source.read(WINDOW, { needs: unionNeeds(rules) })));

    const tally = pipeline.tally();
    expect([tally.records, tally.events, tally.skipped.total, tally.rejected.total]).toEqual([3, 3, 0, 0]);
    expect(delivered.map((a) => [a.rule, a.severity, a.event.verb, a.event.user.name, a.event.sourceIPs, a.event.target, a.event.runtime?.process.args])).toEqual([
      ['kubelet-pki-read-in-container', 'critical', 'exec', 'alice@example.com', ['198.51.100.9'], { resource: 'pods', namespace: 'default', name: 'web-7d4b9c-x2x4p' }, ['cat', KEY]],
    ]);
    expect(delivered[0]!.facts['execBy']).toMatchObject({ user: 'alice@example.com', auditId: exec.auditID, container: 'web', tty: true });

    const bodies = fake.requests.filter((r) => r.status === 200).map((r) => r.body);
    const auditCalls = bodies.filter((b) => b['logGroupName'] === AUDIT_GROUP);
    const runtimeCalls = bodies.filter((b) => b['logGroupName'] === RUNTIME_GROUP);
    expect(auditCalls[0]?.['startTime']).toBe(Date.parse('2026-03-02T08:45:00Z') - 30 * 60_000);
    expect(runtimeCalls.map((b) => b['filterPattern'])).toEqual(runtimeCalls.map(() => sensorFilterPattern(['tracee', 'falco'])));
    expect(runtimeCalls.length).toBeGreaterThanOrEqual(2); // scanLimit 2 over 4 stored lines: paged
    expect(runtimeCalls.slice(1).every((b) => typeof b['nextToken'] === 'string')).toBe(true);
  });

  it('reports a missing sensor log group as what to do, not as missing audit logs', async () => {
    const source = createEksRuntimeSource({ cluster: CLUSTER, client: fakeClient(fake.endpoint, { maxAttempts: 1 }) });
    const read = async () => {
      for await (const _ of source.read(WINDOW, { needs: unionNeeds([]) })) void _;
    };
    await expect(read()).rejects.toThrow(SourceError);
    await expect(read()).rejects.toThrow(/log group \/aws\/containerinsights\/prod-eks-1\/application does not exist: no runtime sensor output/);
  });

  describe('a log group of the sensor\'s own, holding bare Tracee and Falco lines', () => {
    const OWN_GROUP = '/credwatch/prod-eks-1/sensors';
    const execIn = k8sEvent({
      verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p',
      query: [['command', 'sh'], ['container', 'web'], ['stdin', 'true'], ['tty', 'true']], time: '2026-03-02T09:00:30.000000Z', sourceIPs: ['198.51.100.9'],
    });
    const seedBare = () => {
      fake.putEvents(AUDIT_GROUP, [seedOf(asEks(execIn))]);
      fake.putEvents(OWN_GROUP, [
        seedOf(asBareCloudWatch(traceeExec(shell(['cat', KEY])), { stream: 'tracee-7xk2p' })),
        seedOf(asBareCloudWatch(falcoStockOpen(shell(['head', KEY], '2026-03-02T09:01:10.000000Z'), KEY), { stream: 'falco-q8r2v' })),
        { ...seedOf(asBareCloudWatch(falcoExec(shell(['tail', KEY])), { stream: 'falco-q8r2v' })), message: JSON.stringify(traceeNextExec(shell(['awk', '1', KEY], '2026-03-02T09:01:20.000000Z'))), eventId: 'next-1' },
      ]);
    };
    const scan = async (sensorContainers?: string[], execMarginOnly = false) => {
      const client = fakeClient(fake.endpoint);
      const audit = createEksSource({ cluster: CLUSTER, client });
      const source = createEksRuntimeSource({ cluster: CLUSTER, client, audit, logGroup: OWN_GROUP, execMarginOnly, ...(sensorContainers === undefined ? {} : { sensorContainers }) });
      const rules = [kubeletPkiReadInContainer];
      const engine = new Engine({ rules });
      const delivered: ReturnType<typeof toAlert>[] = [];
      const pipeline = new Pipeline({ engine, onFinding: (f) => void delivered.push(toAlert(f)) });
      await pipeline.consume(outcomesOf(source.read(WINDOW, { needs: unionNeeds(rules) })));
      const calls = fake.requests.filter((r) => r.status === 200 && r.body['logGroupName'] === OWN_GROUP).map((r) => r.body);
      return { tally: pipeline.tally(), delivered, notices: source.notices?.() ?? [], calls };
    };

    it('the default container filter downloads nothing from it, and the scan says why while the audit log shows an exec', async () => {
      seedBare();
      const { delivered, notices, calls } = await scan();
      expect(delivered).toEqual([]);
      expect(calls.every((b) => b['filterPattern'] === sensorFilterPattern(['tracee', 'falco']))).toBe(true);
      expect(notices.map((n) => n.code)).toEqual(['runtime-no-sensor-lines']);
      expect(notices[0]?.message).toContain(`log group ${OWN_GROUP} returned no line`);
      expect(notices[0]?.message).toContain('1 pods/exec request in it');
      expect(notices[0]?.message).toContain("sensorContainers: [], CLI --runtime-containers ''");
    });

    it('counts the window\'s execs itself when the audit window is scanned elsewhere (credwatch scan)', async () => {
      seedBare();
      const { notices } = await scan(undefined, true);
      expect(notices.map((n) => n.code)).toEqual(['runtime-no-sensor-lines']);
    });

    it('with sensorContainers [] reads every line unfiltered: Tracee, stock-rule Falco and Tracee next, each tied to the exec', async () => {
      seedBare();
      const { tally, delivered, notices, calls } = await scan([]);
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.every((b) => !('filterPattern' in b))).toBe(true);
      expect([tally.records, tally.events, tally.skipped.total, tally.rejected.total]).toEqual([4, 4, 0, 0]);
      const got = delivered.map((a) => [a.severity, a.event.runtime?.sensor, a.event.runtime?.process.args, (a.facts['execBy'] as { user?: string } | null)?.user]);
      expect(got.map((g) => JSON.stringify(g)).sort()).toEqual([
        ['critical', 'falco', ['head', KEY], 'alice@example.com'],
        ['critical', 'tracee', ['awk', '1', KEY], 'alice@example.com'],
        ['critical', 'tracee', ['cat', KEY], 'alice@example.com'],
      ].map((g) => JSON.stringify(g)));
      expect(notices).toEqual([]);
    });

    it('no notice when the audit log shows no exec either', async () => {
      fake.putEvents(AUDIT_GROUP, [seedOf(asEks(k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', namespace: 'default', name: 's', time: '2026-03-02T09:00:30.000000Z' })))]);
      fake.putEvents(OWN_GROUP, []);
      const { notices } = await scan();
      expect(notices).toEqual([]);
    });
  });

  it('accepts sensorContainers [] from the CLI flag and the deployed config for EKS, and refuses it for AKS and GKE', () => {
    const plan = planLiveSources({ eks: [CLUSTER], eksRuntimeLogGroup: '/credwatch/sensors', runtimeContainers: [] }, {});
    expect(plan.map((p) => p.label)).toEqual([`eks:${CLUSTER}`, `eks-runtime:${CLUSTER}`]);
    expect(() => planLiveSources({ aks: ['ws-1'], aksRuntime: true, runtimeContainers: [] }, {})).toThrow(CliConfigError);
    expect(() => planLiveSources({ aks: ['ws-1'], aksRuntime: true, runtimeContainers: [] }, {})).toThrow(/applies only to an EKS runtime log group/);
    expect(SourceSpecSchema.safeParse({ cloud: 'eks-runtime', cluster: CLUSTER, logGroup: '/credwatch/sensors', containers: [] }).success).toBe(true);
    expect(SourceSpecSchema.safeParse({ cloud: 'aks-runtime', workspaceId: 'ws-1', containers: [] }).success).toBe(false);
    expect(() => createEksRuntimeSource({ cluster: CLUSTER, client: fakeClient(fake.endpoint), sensorContainers: ['Bad'] })).toThrow(/"Bad" is not a Kubernetes container name/);
  });
});
