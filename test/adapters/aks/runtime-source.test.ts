import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAksSource } from '../../../adapters/aks/source.js';
import { buildContainerLogQuery, createAksRuntimeSource, type AksRuntimeSourceOptions } from '../../../adapters/aks/runtime-source.js';
import { Engine } from '../../../core/engine/engine.js';
import { ConfigError, SourceError } from '../../../core/model/errors.js';
import { asAks, k8sEvent } from '../../../examples/audit-records.js';
import { toAlert } from '../../../core/model/finding.js';
import { unionNeeds } from '../../../core/model/needs.js';
import { outcomesOf, Pipeline } from '../../../core/engine/pipeline.js';
import { asContainerLogV2, falcoExec, traceeExec } from '../../../examples/runtime-records.js';
import kubeletPkiReadInContainer from '../../../rules/kubelet-pki-read-in-container.js';
import { FakeLogAnalytics } from '../../fakes/log-analytics.js';

const CLUSTER = 'aks-prod-1';
const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const at = (min: number): Date => new Date(T0 + min * 60_000);
const iso = (min: number): string => at(min).toISOString();
const WINDOW = { from: at(0), to: at(6) };

const shell = (argv: string[], time = '2026-03-02T09:01:00.000000Z') => ({ comm: argv[0]!, exe: `/usr/bin/${argv[0]!}`, argv, tty: true, time });

describe('aks runtime source', () => {
  let fake: FakeLogAnalytics;
  const clientOpts = () => ({
    workspaceId: fake.workspaceId,
    endpoint: fake.endpoint,
    credential: fake.credential,
    tlsOptions: { ca: fake.ca },
    retryOptions: { maxRetries: 0, retryDelayInMs: 1, maxRetryDelayInMs: 2 },
    env: {},
  });
  const source = (over: Partial<AksRuntimeSourceOptions> = {}) => createAksRuntimeSource({ ...clientOpts(), cluster: CLUSTER, ...over });
  const rows = (pages: Array<{ outcomes: unknown[] }>) => pages.flatMap((p) => p.outcomes as Array<{ kind: string; event?: { process: { args: string[] } } }>).map((o) => (o.kind === 'runtime' ? o.event!.process.args.join(' ') : o.kind));

  beforeEach(async () => {
    fake = await FakeLogAnalytics.start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('compiles the sensor containers and the window into KQL on ingestion time', () => {
    expect(buildContainerLogQuery({ containers: ['tracee', 'falco'], window: WINDOW, cluster: CLUSTER, take: 11 })).toBe(
      [
        'ContainerLogV2',
        `where ingestion_time() >= datetime(${iso(0)}) and ingestion_time() < datetime(${iso(6)})`,
        'where ContainerName in ("falco", "tracee")',
        'where _ResourceId endswith "/managedclusters/aks-prod-1"',
        'project TimeGenerated, IngestedAt = ingestion_time(), Computer, ContainerName, PodName, PodNamespace, LogMessage, _ResourceId',
        'take 11',
      ].join('\n| '),
    );
  });

  it('reads the execs, then the sensor rows of the window through the real client, and names the exec user', async () => {
    const exec = k8sEvent({
      verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p',
      query: [['command', 'sh'], ['container', 'web'], ['stdin', 'true'], ['tty', 'true']], time: '2026-03-02T08:49:00.000000Z', sourceIPs: ['198.51.100.9'],
    });
    fake.addRows('AKSAudit', [asAks(exec, { cluster: CLUSTER, form: 'aksaudit' })], at(-10));
    const nginx = { ...asContainerLogV2(traceeExec(shell(['cat', KEY]))), ContainerName: 'nginx' };
    const banner = { ...asContainerLogV2(falcoExec(shell(['cat', KEY]))), LogMessage: 'Falco initialized with configuration file /etc/falco/falco.yaml' };
    fake.addRows('ContainerLogV2', [asContainerLogV2(traceeExec(shell(['cat', KEY]))), asContainerLogV2(falcoExec(shell(['head', KEY])), { asString: true }), banner, nginx], at(2));
    fake.addRows('ContainerLogV2', [asContainerLogV2(traceeExec(shell(['cat', KEY])), { cluster: 'aks-other' })], at(2));
    // Ingested before the window: the previous scan's.
    fake.addRows('ContainerLogV2', [asContainerLogV2(traceeExec(shell(['tail', KEY], '2026-03-02T08:58:00.000000Z')))], at(-1));

    const audit = createAksSource({ ...clientOpts(), cluster: CLUSTER });
    const rules = [kubeletPkiReadInContainer];
    const engine = new Engine({ rules });
    const delivered: ReturnType<typeof toAlert>[] = [];
    const pipeline = new Pipeline({ engine, onFinding: (f) => void delivered.push(toAlert(f)) });
    await pipeline.consume(outcomesOf(source({ audit }).read(WINDOW, { needs: unionNeeds(rules) })));

    const tally = pipeline.tally();
    expect([tally.records, tally.events, tally.skipped.byReason['other-category'], tally.rejected.total]).toEqual([4, 3, 1, 0]);
    expect(delivered.map((a) => [a.rule, a.severity, a.cluster, a.event.user.name, a.event.sourceIPs, a.event.runtime?.process.args, a.event.runtime?.node])).toEqual([
      ['kubelet-pki-read-in-container', 'critical', CLUSTER, 'alice@example.com', ['198.51.100.9'], ['cat', KEY], 'aks-nodepool1-31718369-vmss000002'],
      ['kubelet-pki-read-in-container', 'critical', CLUSTER, 'alice@example.com', ['198.51.100.9'], ['head', KEY], 'aks-nodepool1-31718369-vmss000002'],
    ]);
    expect(delivered[0]!.facts['execBy']).toMatchObject({ user: 'alice@example.com', container: 'web', tty: true });
    const runtimeQueries = fake.requests.filter((r) => r.query?.startsWith('ContainerLogV2') === true);
    expect(runtimeQueries.map((r) => [r.status, r.rows, r.timespan])).toEqual([[200, 3, `${iso(-120)}/${iso(11)}`]]);
    // The audit source read the exec window [from − 15 min, to).
    expect(fake.requests.some((r) => r.query?.includes(`ingestion_time() >= datetime(${iso(-15)}) and ingestion_time() < datetime(${iso(6)})`) === true)).toBe(true);
  });

  it('splits a window whose rows overflow a query, and reads each half once', async () => {
    fake.addRows('ContainerLogV2', [asContainerLogV2(traceeExec(shell(['cat', KEY])))], at(1));
    fake.addRows('ContainerLogV2', [asContainerLogV2(traceeExec(shell(['head', KEY])))], at(4));
    const pages = [];
    for await (const p of source({ maxRowsPerQuery: 1 }).read(WINDOW, { needs: unionNeeds([]) })) pages.push(p);
    expect(rows(pages)).toEqual([`cat ${KEY}`, `head ${KEY}`]);
    expect(pages.map((p) => p.page)).toEqual([1, 2]);
    expect(fake.requests.map((r) => [r.rows, /ingestion_time\(\) >= datetime\(([^)]+)\)/.exec(r.query ?? '')?.[1]])).toEqual([
      [2, iso(0)],
      [1, iso(0)],
      [1, iso(3)],
    ]);
  });

  it('fails the window with what to do when the identity lacks the reader role, and rejects bad options', async () => {
    fake.fail(403, 'InsufficientAccessError', 'The provided credentials have insufficient access to perform the requested operation');
    const read = async () => {
      for await (const _ of source().read(WINDOW, { needs: unionNeeds([]) })) void _;
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toContain(`aks-runtime:${CLUSTER}: workspace ${fake.workspaceId} ContainerLogV2 [${iso(0)}, ${iso(6)}): HTTP 403`);
    expect((err as SourceError).message).toContain('needs the Log Analytics Reader role');
    expect(() => source({ sensorContainers: ['bad name'] })).toThrow(ConfigError);
    expect(() => source({ cluster: 'bad/cluster' })).toThrow(ConfigError);
  });
});
