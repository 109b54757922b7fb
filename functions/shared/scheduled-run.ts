import { resolveDetectionConfig } from '../../core/engine/detection-config.js';
import { ConfigError, describeError } from '../../core/model/errors.js';
import type { AnyRule } from '../../core/model/rule.js';
import { selectRules } from '../../core/engine/rule-selection.js';
import { runScheduledScan, type RunSummary } from '../../core/scan/scan.js';
import type { AlertSink } from '../../core/scan/sinks/sink.js';
import type { LogSource, ScanWindow, SourcePage } from '../../core/model/source.js';
import type { StateStore } from '../../core/scan/state/store.js';
import { RULES } from '../../rules/index.js';
import * as aksNames from '../../adapters/aks/name.js';
import * as eksNames from '../../adapters/eks/name.js';
import * as gkeNames from '../../adapters/gke/name.js';
import { notBundled } from './bundled-clouds.js';
import type { CommonRuntimeConfig, SourceSpec } from './runtime-config.js';

/** Builds a live source from its spec; each cloud's adapter (and SDK) loads only when used. */
export type SourceBuilder = (spec: SourceSpec) => Promise<LogSource>;

export const buildLiveSource: SourceBuilder = async (spec) => {
  // Each guard is folded by the deploy's bundler (functions/shared/bundled-clouds.ts): a cloud the
  // deploy does not scan leaves its import, and its SDK, out of the bundle.
  switch (spec.cloud) {
    case 'eks':
      if (process.env['CREDWATCH_OMIT_EKS'] !== 'true') {
        const { createEksSource } = await import('../../adapters/eks/source.js');
        return createEksSource({ cluster: spec.cluster, ...(spec.region === undefined ? {} : { region: spec.region }), ...(spec.roleArn === undefined ? {} : { roleArn: spec.roleArn }) });
      }
      throw notBundled('eks', sourceName(spec));
    case 'aks':
      if (process.env['CREDWATCH_OMIT_AKS'] !== 'true') {
        const { createAksSource } = await import('../../adapters/aks/source.js');
        return createAksSource(spec.cluster === undefined ? { workspaceId: spec.workspaceId } : { workspaceId: spec.workspaceId, cluster: spec.cluster });
      }
      throw notBundled('aks', sourceName(spec));
    case 'gke':
      if (process.env['CREDWATCH_OMIT_GKE'] !== 'true') {
        const { createGkeSource } = await import('../../adapters/gke/source.js');
        return createGkeSource(spec.cluster === undefined ? { projects: spec.projects } : { projects: spec.projects, cluster: spec.cluster });
      }
      throw notBundled('gke', sourceName(spec));
    case 'eks-runtime':
    case 'aks-runtime':
    case 'gke-runtime':
      return buildRuntimeSource(spec);
  }
};

type RuntimeSpec = Extract<SourceSpec, { cloud: 'eks-runtime' | 'aks-runtime' | 'gke-runtime' }>;

/** A runtime sensor source, given the same cluster's audit source (unless `correlate: false`) for the exec behind each read. */
async function buildRuntimeSource(spec: RuntimeSpec): Promise<LogSource> {
  const common = {
    ...(spec.containers === undefined ? {} : { sensorContainers: spec.containers }),
    ...(spec.cluster === undefined ? {} : { cluster: spec.cluster }),
  };
  const correlate = spec.correlate !== false;
  switch (spec.cloud) {
    case 'eks-runtime': {
      if (process.env['CREDWATCH_OMIT_EKS'] !== 'true') {
        const { createEksRuntimeSource } = await import('../../adapters/eks/runtime-source.js');
        const audit = correlate ? await buildLiveSource({ cloud: 'eks', cluster: spec.cluster, ...(spec.region === undefined ? {} : { region: spec.region }), ...(spec.roleArn === undefined ? {} : { roleArn: spec.roleArn }) }) : undefined;
        return createEksRuntimeSource({
          ...common,
          cluster: spec.cluster,
          ...(spec.region === undefined ? {} : { region: spec.region }),
          ...(spec.roleArn === undefined ? {} : { roleArn: spec.roleArn }),
          ...(spec.logGroup === undefined ? {} : { logGroup: spec.logGroup }),
          ...(audit === undefined ? {} : { audit }),
        });
      }
      throw notBundled('eks', sourceName(spec));
    }
    case 'aks-runtime': {
      if (process.env['CREDWATCH_OMIT_AKS'] !== 'true') {
        const { createAksRuntimeSource } = await import('../../adapters/aks/runtime-source.js');
        const audit = correlate ? await buildLiveSource({ cloud: 'aks', workspaceId: spec.workspaceId, ...common }) : undefined;
        return createAksRuntimeSource({ ...common, workspaceId: spec.workspaceId, ...(audit === undefined ? {} : { audit }) });
      }
      throw notBundled('aks', sourceName(spec));
    }
    case 'gke-runtime': {
      if (process.env['CREDWATCH_OMIT_GKE'] !== 'true') {
        const { createGkeRuntimeSource } = await import('../../adapters/gke/runtime-source.js');
        const audit = correlate ? await buildLiveSource({ cloud: 'gke', projects: spec.projects, ...common }) : undefined;
        return createGkeRuntimeSource({ ...common, projects: spec.projects, ...(audit === undefined ? {} : { audit }) });
      }
      throw notBundled('gke', sourceName(spec));
    }
  }
}

/** The name the spec's source gives itself (adapters/<cloud>/name.ts), built or not. */
export function sourceName(spec: SourceSpec): string {
  switch (spec.cloud) {
    case 'eks':
      return eksNames.sourceName(spec);
    case 'aks':
      return aksNames.sourceName(spec);
    case 'gke':
      return gkeNames.sourceName(spec);
    case 'eks-runtime':
      return eksNames.runtimeSourceName(spec);
    case 'aks-runtime':
      return aksNames.runtimeSourceName(spec);
    case 'gke-runtime':
      return gkeNames.runtimeSourceName(spec);
  }
}

/** The cloud a spec reads, runtime or audit. */
function cloudOf(spec: SourceSpec): LogSource['cloud'] {
  return spec.cloud === 'eks-runtime' ? 'eks' : spec.cloud === 'aks-runtime' ? 'aks' : spec.cloud === 'gke-runtime' ? 'gke' : spec.cloud;
}

/**
 * A source that could not even be built (bad region, missing credentials): it goes through the
 * scan like any other and fails there, so it is reported per source and the others still run.
 */
class UnbuildableSource implements LogSource {
  readonly cloud: LogSource['cloud'];
  constructor(
    readonly name: string,
    spec: SourceSpec,
    private readonly error: unknown,
  ) {
    this.cloud = cloudOf(spec);
  }
  async *read(_window: ScanWindow): AsyncIterable<SourcePage> {
    throw new ConfigError('source-unbuildable', `${this.name} could not be set up: ${describeError(this.error)}`);
  }
}

export interface ScheduledRunDeps {
  config: CommonRuntimeConfig;
  store: StateStore;
  sink: AlertSink;
  buildSource?: SourceBuilder;
  rules?: readonly AnyRule[];
  clock?: () => Date;
  runId?: string;
  /** The invocation's remaining time: the run's leases and claims expire with it. */
  runTimeoutMs?: number;
}

/**
 * EKS sources built by earlier runs in this (warm) container: each keeps its adaptive
 * late-arrival margin (adapters/eks/source.ts `LateArrivalMargin`), which a source built afresh starts at its cap.
 */
const warmEksSources = new Map<string, LogSource>();

/** One scheduled run, shared by the Lambda and the Cloud Function. */
export async function scheduledRun(deps: ScheduledRunDeps): Promise<RunSummary> {
  const rules = selectRules(deps.rules ?? RULES, deps.config.rules, 'CREDWATCH_RULES');
  const detection = resolveDetectionConfig(deps.config.detection, rules, 'CREDWATCH_CONFIG');
  const build = deps.buildSource ?? buildLiveSource;
  const sources: LogSource[] = [];
  for (const spec of deps.config.sources) {
    try {
      const key = spec.cloud === 'eks' && deps.buildSource === undefined ? JSON.stringify(spec) : undefined;
      const warm = key === undefined ? undefined : warmEksSources.get(key);
      const source = warm ?? (await build(spec));
      if (key !== undefined) warmEksSources.set(key, source);
      sources.push(source);
    } catch (err) {
      sources.push(new UnbuildableSource(sourceName(spec), spec, err));
    }
  }
  return runScheduledScan({
    sources,
    engine: { rules, ruleOptions: detection.ruleOptions, identities: detection.identities },
    store: deps.store,
    sink: deps.sink,
    settings: deps.runTimeoutMs === undefined ? deps.config.settings : { ...deps.config.settings, leaseTtlMs: deps.runTimeoutMs, claimTtlMs: deps.runTimeoutMs },
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.runId === undefined ? {} : { runId: deps.runId }),
  });
}
