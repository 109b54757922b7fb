import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAksSource } from '../../adapters/aks/source.js';
import { createAksRuntimeSource } from '../../adapters/aks/runtime-source.js';
import { createEksSource } from '../../adapters/eks/source.js';
import { createEksRuntimeSource } from '../../adapters/eks/runtime-source.js';
import { createGkeSource } from '../../adapters/gke/source.js';
import { createGkeRuntimeSource } from '../../adapters/gke/runtime-source.js';
import type { LogSource } from '../../core/model/source.js';
import { MemoryStateStore } from '../../core/scan/state/memory-store.js';
import { planLiveSources, type SourceFactories } from '../../functions/cli/live-sources.js';
import type { SourceSpec } from '../../functions/shared/runtime-config.js';
import { buildLiveSource, scheduledRun, sourceName } from '../../functions/shared/scheduled-run.js';
import { stubAwsCredentialEnv } from '../helpers/aws-clients.js';
import { RecordingSink } from '../helpers/recording-sink.js';

/**
 * A source's name keys its checkpoint and lease (docs/architecture.md "Scheduled scans"): a
 * source that cannot be built must be reported and leased under the name it has when it works,
 * or its failure is invisible next to its checkpoint and its lease guards nothing.
 */

const WORKSPACE = '0f2d5c1e-8a3b-4c7d-9e6f-1a2b3c4d5e6f';
// Building a source sends nothing; the endpoints are loopback all the same, should one ever be reached.
const SPECS: SourceSpec[] = [
  { cloud: 'eks', cluster: 'prod-eks-1', region: 'us-west-2' },
  { cloud: 'aks', workspaceId: WORKSPACE },
  { cloud: 'aks', workspaceId: WORKSPACE, cluster: 'aks-prod-1' },
  { cloud: 'gke', projects: ['acme-prod', 'acme-stage'] },
  { cloud: 'gke', projects: ['acme-prod'], cluster: 'gke-prod-1' },
  { cloud: 'eks-runtime', cluster: 'prod-eks-1', region: 'us-west-2' },
  { cloud: 'aks-runtime', workspaceId: WORKSPACE, cluster: 'aks-prod-1' },
  { cloud: 'aks-runtime', workspaceId: WORKSPACE, correlate: false },
  { cloud: 'gke-runtime', projects: ['acme-prod'], cluster: 'gke-prod-1' },
  { cloud: 'gke-runtime', projects: ['acme-prod', 'acme-stage'], correlate: false },
];

describe('one name per source', () => {
  beforeEach(() => {
    stubAwsCredentialEnv();
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', 'http://127.0.0.1:9');
    vi.stubEnv('CREDWATCH_AKS_ENDPOINT', 'https://127.0.0.1:9/v1');
    vi.stubEnv('CREDWATCH_AKS_TOKEN', 'test-token');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('the scheduled run reports and leases a source that fails to build under the name it has when built', async () => {
    const working = await Promise.all(SPECS.map(async (spec) => (await buildLiveSource(spec)).name));
    expect(working).toEqual(SPECS.map(sourceName));

    const store = new MemoryStateStore();
    const leased: string[] = [];
    const acquire = store.acquireLease.bind(store);
    store.acquireLease = async (source, ...rest) => {
      leased.push(source);
      return acquire(source, ...rest);
    };
    const summary = await scheduledRun({
      config: { sources: SPECS, settings: {}, detection: undefined },
      store,
      sink: new RecordingSink(),
      buildSource: () => Promise.reject(new Error('no credentials')),
      clock: () => new Date('2026-03-02T09:06:00Z'),
    });
    expect(summary.sources.map((s) => s.source)).toEqual(working);
    expect(summary.sources.every((s) => s.error?.includes('could not be set up') === true)).toBe(true);
    expect(leased).toEqual(working);
  });

  it('the CLI plans each source under the name the source gives itself', async () => {
    const real: Required<SourceFactories> = {
      eks: async (o) => createEksSource(o),
      aks: async (o) => createAksSource(o),
      gke: async (o) => createGkeSource(o),
      eksRuntime: async (o, audit) => createEksRuntimeSource({ ...o, audit }),
      aksRuntime: async (o, audit) => createAksRuntimeSource({ ...o, audit }),
      gkeRuntime: async (o, audit) => createGkeRuntimeSource({ ...o, audit }),
    };
    const env = { CREDWATCH_AKS_ENDPOINT: 'https://127.0.0.1:9/v1', CREDWATCH_GKE_ENDPOINT: '127.0.0.1:9' };
    const plans = [
      ...planLiveSources({ eks: ['prod-eks-1', 'stage-eks-2'], region: 'us-west-2', aks: [WORKSPACE], gke: ['acme-prod', 'acme-stage'], runtimeSensor: true }, env),
      ...planLiveSources({ aks: [WORKSPACE], aksCluster: 'aks-prod-1', gke: ['acme-prod'], gkeCluster: 'gke-prod-1', runtimeSensor: true }, env),
    ];
    const built: LogSource[] = await Promise.all(plans.map((p) => p.create(real)));
    expect(plans.map((p) => p.label)).toEqual(built.map((s) => s.name));
    expect(plans.map((p) => p.label)).toContain('aks:aks-prod-1');
    expect(plans.map((p) => p.label)).toContain('gke:gke-prod-1');
  });
});
