import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asAks, asEks, k8sEvent } from '../../examples/audit-records.js';
import { asContainerLogV2, asFluentBitCloudWatch, traceeExec } from '../../examples/runtime-records.js';
import { MemoryStateStore } from '../../core/scan/state/memory-store.js';
import { ENV, readCommonConfig } from '../../functions/shared/runtime-config.js';
import { buildLiveSource, scheduledRun } from '../../functions/shared/scheduled-run.js';
import kubeletPkiReadInContainer from '../../rules/kubelet-pki-read-in-container.js';
import { FakeCloudWatchLogs, type SeedEvent } from '../fakes/cloudwatch-logs.js';
import { FakeLogAnalytics } from '../fakes/log-analytics.js';
import { RecordingSink } from '../helpers/recording-sink.js';
import { stubAwsCredentialEnv } from '../helpers/aws-clients.js';

const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const NOW = Date.parse('2026-03-02T09:06:00Z');
const rules = [kubeletPkiReadInContainer];

function seed(record: Record<string, unknown>): SeedEvent {
  return { logStreamName: String(record['logStreamName']), timestamp: Number(record['timestamp']), ingestionTime: Number(record['ingestionTime']), message: String(record['message']), eventId: String(record['eventId']) };
}
const exec = (user: string, time: string) =>
  k8sEvent({ verb: 'create', user, resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p', query: [['command', 'sh'], ['container', 'web']], time });
const cat = (time: string) => traceeExec({ comm: 'cat', exe: '/usr/bin/cat', argv: ['cat', KEY], tty: true, time });

describe('scheduled scans of runtime sensor sources', () => {
  let cw: FakeCloudWatchLogs;
  let la: FakeLogAnalytics;
  beforeEach(async () => {
    cw = await FakeCloudWatchLogs.start();
    la = await FakeLogAnalytics.start();
    // The real builder, pointed at the fakes the way a deployment is configured: the SDKs' own
    // endpoint variables for AWS, credwatch's for Log Analytics.
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', cw.endpoint);
    stubAwsCredentialEnv();
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-sched-runtime-'));
    writeFileSync(join(dir, 'ca.pem'), la.ca);
    vi.stubEnv('CREDWATCH_AKS_ENDPOINT', la.endpoint);
    vi.stubEnv('CREDWATCH_AKS_CA_FILE', join(dir, 'ca.pem'));
    vi.stubEnv('CREDWATCH_AKS_TOKEN', la.token);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await cw.close();
    await la.close();
  });

  it('reads CREDWATCH_SOURCES runtime specs and rejects unknown fields, naming them', () => {
    const sources = [
      { cloud: 'eks-runtime', cluster: 'prod-eks-1', region: 'us-west-2', logGroup: '/eks/tracee', containers: ['tracee'] },
      { cloud: 'aks-runtime', workspaceId: la.workspaceId, cluster: 'aks-prod-1' },
      { cloud: 'gke-runtime', projects: ['acme-prod'], cluster: 'gke-prod-1', correlate: false },
    ];
    expect(readCommonConfig({ [ENV.sources]: JSON.stringify(sources) }).sources).toEqual(sources);
    // `containers: []` reads an EKS group of the sensor's own unfiltered; AKS and GKE need names.
    expect(readCommonConfig({ [ENV.sources]: JSON.stringify([{ cloud: 'eks-runtime', cluster: 'c', containers: [] }]) }).sources).toEqual([{ cloud: 'eks-runtime', cluster: 'c', containers: [] }]);
    expect(() => readCommonConfig({ [ENV.sources]: JSON.stringify([{ cloud: 'aks-runtime', workspaceId: 'w', containers: [] }]) })).toThrow(/CREDWATCH_SOURCES: 0\.containers: /);
    expect(() => readCommonConfig({ [ENV.sources]: JSON.stringify([{ cloud: 'aks-runtime', workspaceId: 'w', logGroup: '/x' }]) })).toThrow(/CREDWATCH_SOURCES: 0: Unrecognized key: "logGroup"/);
  });

  it('scans EKS and AKS runtime specs with the real builder, each on its own checkpoint, naming the exec user', async () => {
    cw.putEvents('/aws/eks/prod-eks-1/cluster', [seed(asEks(exec('alice@example.com', '2026-03-02T08:55:00.000000Z')))]);
    cw.putEvents('/aws/containerinsights/prod-eks-1/application', [seed(asFluentBitCloudWatch(cat('2026-03-02T09:02:00.000000Z')))]);
    la.addRows('AKSAudit', [asAks(exec('bob@example.com', '2026-03-02T08:56:00.000000Z'), { cluster: 'aks-prod-1', form: 'aksaudit' })], new Date('2026-03-02T08:56:30Z'));
    la.addRows('ContainerLogV2', [asContainerLogV2(cat('2026-03-02T09:03:00.000000Z'))], new Date('2026-03-02T09:03:30Z'));
    const config = readCommonConfig({
      [ENV.sources]: JSON.stringify([
        { cloud: 'eks-runtime', cluster: 'prod-eks-1', region: 'us-west-2' },
        { cloud: 'aks-runtime', workspaceId: la.workspaceId, cluster: 'aks-prod-1' },
      ]),
    });
    const store = new MemoryStateStore();
    const sink = new RecordingSink();
    const summary = await scheduledRun({ config, store, sink, rules, buildSource: buildLiveSource, clock: () => new Date(NOW), runId: 'run-1' });
    expect(summary.sources.map((s) => [s.source, s.status, s.events, s.alertsSent, s.checkpointAdvanced])).toEqual([
      ['eks-runtime:prod-eks-1', 'ok', 2, 1, true],
      ['aks-runtime:aks-prod-1', 'ok', 2, 1, true],
    ]);
    expect(sink.alerts.map((a) => [a.rule, a.cloud, a.cluster, a.event.user.name])).toEqual([
      ['kubelet-pki-read-in-container', 'eks', 'prod-eks-1', 'alice@example.com'],
      ['kubelet-pki-read-in-container', 'aks', 'aks-prod-1', 'bob@example.com'],
    ]);
    expect((await store.readCheckpoint('eks-runtime:prod-eks-1'))?.to).toBe(new Date(NOW).toISOString());

    // The next run reads what arrived since: nothing new, nothing re-sent.
    const again = await scheduledRun({ config, store, sink, rules, buildSource: buildLiveSource, clock: () => new Date(NOW + 5 * 60_000), runId: 'run-2' });
    expect(again.sources.map((s) => [s.source, s.status, s.alertsSent])).toEqual([
      ['eks-runtime:prod-eks-1', 'ok', 0],
      ['aks-runtime:aks-prod-1', 'ok', 0],
    ]);
    expect(sink.alerts).toHaveLength(2);
  });

  it('reports a runtime spec that cannot be built as a failed source with its own name', async () => {
    const config = readCommonConfig({ [ENV.sources]: JSON.stringify([{ cloud: 'gke-runtime', projects: ['Not_A_Project'], cluster: 'gke-prod-1' }]) });
    const summary = await scheduledRun({ config, store: new MemoryStateStore(), sink: new RecordingSink(), rules, buildSource: buildLiveSource, clock: () => new Date(NOW) });
    expect(summary.sources.map((s) => [s.source, s.status])).toEqual([['gke-runtime:gke-prod-1', 'failed']]);
    expect(summary.sources[0]!.error).toContain('gke-runtime:gke-prod-1 could not be set up: --gke: "Not_A_Project" is not a Google Cloud project ID');
  });
});
