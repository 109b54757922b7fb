import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGkeSource } from '../../../adapters/gke/source.js';
import { buildGkeRuntimeFilter, createGkeRuntimeSource, type GkeRuntimeSourceOptions } from '../../../adapters/gke/runtime-source.js';
import { Engine } from '../../../core/engine/engine.js';
import { ConfigError, SourceError } from '../../../core/model/errors.js';
import { asGke, k8sEvent } from '../../../examples/audit-records.js';
import { toAlert } from '../../../core/model/finding.js';
import { unionNeeds } from '../../../core/model/needs.js';
import { outcomesOf, Pipeline } from '../../../core/engine/pipeline.js';
import { asCloudLoggingContainer, falcoExec, traceeExec } from '../../../examples/runtime-records.js';
import kubeletPkiReadInContainer from '../../../rules/kubelet-pki-read-in-container.js';
import { FakeCloudLogging, type LogEntryJson } from '../../fakes/cloud-logging.js';

const PROJECT = 'acme-prod';
const CLUSTER = 'gke-prod-1';
const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const WINDOW = { from: new Date('2026-03-02T09:00:00Z'), to: new Date('2026-03-02T09:06:00Z') };

const shell = (argv: string[], time = '2026-03-02T09:01:00.000000Z') => ({ comm: argv[0]!, exe: `/usr/bin/${argv[0]!}`, argv, tty: true, time });
const sensorEntry = (line: Record<string, unknown>, over: { text?: boolean; cluster?: string; received?: string; insertId?: string } = {}): LogEntryJson => {
  const e = asCloudLoggingContainer(line, { project: PROJECT, cluster: over.cluster ?? CLUSTER, ...(over.text === undefined ? {} : { text: over.text }) });
  return { ...e, ...(over.received === undefined ? {} : { receiveTimestamp: over.received }), ...(over.insertId === undefined ? {} : { insertId: over.insertId }) };
};

describe('gke runtime source', () => {
  let fake: FakeCloudLogging;
  const sleeps: number[] = [];
  const source = (over: Partial<GkeRuntimeSourceOptions> = {}) =>
    createGkeRuntimeSource({ projects: [PROJECT], cluster: CLUSTER, endpoint: fake.endpoint, gaxOptions: { maxRetries: 0 }, quota: { sleep: async (ms) => void sleeps.push(ms) }, ...over });

  beforeEach(async () => {
    fake = await FakeCloudLogging.start();
    sleeps.length = 0;
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('builds the container-log filter on receiveTimestamp', () => {
    expect(buildGkeRuntimeFilter({ project: PROJECT, cluster: CLUSTER, containers: ['tracee', 'falco'], window: WINDOW })).toBe(
      [
        `(logName="projects/${PROJECT}/logs/stdout" OR logName="projects/${PROJECT}/logs/stderr")`,
        'resource.type="k8s_container"',
        '(resource.labels.container_name="tracee" OR resource.labels.container_name="falco")',
        `resource.labels.cluster_name="${CLUSTER}"`,
        'receiveTimestamp>="2026-03-02T09:00:00.000Z"',
        'receiveTimestamp<"2026-03-02T09:06:00.000Z"',
        'timestamp>="2026-03-02T07:00:00.000Z"',
      ].join('\nAND '),
    );
  });

  it('reads the execs, then the sensor entries of the window through the real client, and names the exec user', async () => {
    // An exec 11 minutes before the window: found through the look-back, not reported on its own.
    const exec = k8sEvent({ verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p', time: '2026-03-02T08:49:00.000000Z', sourceIPs: ['198.51.100.9'] });
    fake.add({ ...asGke(exec, { project: PROJECT, cluster: CLUSTER }), receiveTimestamp: '2026-03-02T08:49:02Z' });
    const banner = { ...sensorEntry(falcoExec(shell(['cat', KEY]))), jsonPayload: undefined, textPayload: 'Falco initialized with configuration file /etc/falco/falco.yaml', insertId: 'banner' };
    const nginx = { ...sensorEntry(traceeExec(shell(['cat', KEY])), { insertId: 'nginx' }), resource: { type: 'k8s_container', labels: { project_id: PROJECT, cluster_name: CLUSTER, container_name: 'nginx' } } };
    fake.add(
      sensorEntry(traceeExec(shell(['cat', KEY])), { insertId: 'tracee-cat' }),
      sensorEntry(falcoExec(shell(['head', KEY], '2026-03-02T09:02:00.000000Z')), { text: true, insertId: 'falco-head' }),
      banner,
      nginx,
      sensorEntry(traceeExec(shell(['cat', KEY])), { cluster: 'gke-other', insertId: 'other-cluster' }),
      // Received before the window: the previous scan's.
      sensorEntry(traceeExec(shell(['tail', KEY], '2026-03-02T08:58:00.000000Z')), { received: '2026-03-02T08:59:00Z', insertId: 'earlier' }),
    );
    const audit = createGkeSource({ projects: [PROJECT], cluster: CLUSTER, endpoint: fake.endpoint, gaxOptions: { maxRetries: 0 } });
    const rules = [kubeletPkiReadInContainer];
    const engine = new Engine({ rules });
    const delivered: ReturnType<typeof toAlert>[] = [];
    const pipeline = new Pipeline({ engine, onFinding: (f) => void delivered.push(toAlert(f)) });
    await pipeline.consume(outcomesOf(source({ audit, pageSize: 2 }).read(WINDOW, { needs: unionNeeds(rules) })));

    const tally = pipeline.tally();
    expect([tally.records, tally.events, tally.skipped.total, tally.skipped.byReason['other-category'], tally.rejected.total]).toEqual([4, 3, 1, 1, 0]);
    expect(delivered.map((a) => [a.rule, a.severity, a.cluster, a.event.verb, a.event.user.name, a.event.sourceIPs, a.event.runtime?.process.args])).toEqual([
      ['kubelet-pki-read-in-container', 'critical', CLUSTER, 'exec', 'alice@example.com', ['198.51.100.9'], ['cat', KEY]],
      ['kubelet-pki-read-in-container', 'critical', CLUSTER, 'exec', 'alice@example.com', ['198.51.100.9'], ['head', KEY]],
    ]);
    expect(delivered[0]!.facts['execBy']).toMatchObject({ user: 'alice@example.com', time: '2026-03-02T08:49:00.000Z', container: null });

    const runtimeCalls = fake.requests.filter((r) => r.filter.includes('k8s_container'));
    expect(runtimeCalls.map((r) => [r.filter, r.pageSize, r.orderBy, r.pageToken === ''])).toEqual([
      [buildGkeRuntimeFilter({ project: PROJECT, cluster: CLUSTER, containers: ['tracee', 'falco'], window: WINDOW }), 2, 'timestamp asc', true],
      [buildGkeRuntimeFilter({ project: PROJECT, cluster: CLUSTER, containers: ['tracee', 'falco'], window: WINDOW }), 2, 'timestamp asc', false],
    ]);
    const auditCall = fake.requests.find((r) => r.filter.includes('k8s_cluster'));
    expect(auditCall?.filter).toContain('receiveTimestamp>="2026-03-02T08:45:00.000Z"\nAND receiveTimestamp<"2026-03-02T09:06:00.000Z"');
    expect(fake.requests.every((r) => !r.metadataKeys.includes('authorization'))).toBe(true);
  });

  it('reads only the margin before the window when the caller scans the audit window itself', async () => {
    const audit = createGkeSource({ projects: [PROJECT], cluster: CLUSTER, endpoint: fake.endpoint, gaxOptions: { maxRetries: 0 } });
    for await (const _ of source({ audit, execMarginOnly: true }).read(WINDOW, { needs: unionNeeds([kubeletPkiReadInContainer]) })) void _;
    const auditCall = fake.requests.find((r) => r.filter.includes('k8s_cluster'));
    expect(auditCall?.filter).toContain('receiveTimestamp>="2026-03-02T08:45:00.000Z"\nAND receiveTimestamp<"2026-03-02T09:00:00.000Z"');
  });

  it('backs off while the read quota is exhausted, then reads the window', async () => {
    fake.add(sensorEntry(traceeExec(shell(['cat', KEY])), { insertId: 'tracee-cat' }));
    fake.exhaustQuota(2);
    const pages = [];
    for await (const p of source().read(WINDOW, { needs: unionNeeds([]) })) pages.push(p);
    expect(sleeps).toEqual([2_000, 4_000]);
    expect(pages.map((p) => p.outcomes.map((o) => (o.kind === 'runtime' ? o.event.process.args : o.kind)))).toEqual([[['cat', KEY]]]);
  });

  it('says which role is missing on PERMISSION_DENIED, and rejects bad options', async () => {
    fake.failNext({ code: status.PERMISSION_DENIED, message: 'Permission denied on resource project acme-prod.' });
    const read = async () => {
      for await (const _ of source().read(WINDOW, { needs: unionNeeds([]) })) void _;
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toMatch(/^Cloud Logging refused to list the runtime sensor's container logs of project acme-prod \(gke-runtime:gke-prod-1 window \[2026-03-02T09:00:00.000Z, 2026-03-02T09:06:00.000Z\), after 0 page\(s\)/);
    expect((err as SourceError).message).toContain('grant the scanning identity roles/logging.viewer');
    expect(() => source({ sensorContainers: ['Falco'] })).toThrow(ConfigError);
    expect(() => source({ sensorContainers: [] })).toThrow('sensorContainers: name at least one sensor container');
  });
});
