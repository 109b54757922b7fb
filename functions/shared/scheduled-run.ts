import { resolveDetectionConfig } from '../../core/detection-config.js';
import { ConfigError, describeError } from '../../core/errors.js';
import type { AnyRule } from '../../core/rule.js';
import { selectRules } from '../../core/rule-selection.js';
import { runScan, type RunSummary } from '../../core/scan.js';
import type { AlertSink } from '../../core/sinks/sink.js';
import type { LogSource, ScanWindow, SourcePage } from '../../core/source.js';
import type { StateStore } from '../../core/state/store.js';
import { RULES } from '../../rules/index.js';
import type { CommonRuntimeConfig, SourceSpec } from './runtime-config.js';

/** Builds a live source from its spec; each cloud's adapter (and SDK) loads only when used. */
export type SourceBuilder = (spec: SourceSpec) => Promise<LogSource>;

export const buildLiveSource: SourceBuilder = async (spec) => {
  switch (spec.cloud) {
    case 'eks': {
      const { createEksSource } = await import('../../adapters/eks/source.js');
      return createEksSource(spec.region === undefined ? { cluster: spec.cluster } : { cluster: spec.cluster, region: spec.region });
    }
    case 'aks': {
      const { createAksSource } = await import('../../adapters/aks/source.js');
      return createAksSource(spec.cluster === undefined ? { workspaceId: spec.workspaceId } : { workspaceId: spec.workspaceId, cluster: spec.cluster });
    }
    case 'gke': {
      const { createGkeSource } = await import('../../adapters/gke/source.js');
      return createGkeSource(spec.cluster === undefined ? { projects: spec.projects } : { projects: spec.projects, cluster: spec.cluster });
    }
  }
};

export function sourceName(spec: SourceSpec): string {
  if (spec.cloud === 'eks') return `eks:${spec.cluster}`;
  if (spec.cloud === 'aks') return `aks:${spec.workspaceId}${spec.cluster === undefined ? '' : `/${spec.cluster}`}`;
  return `gke:${spec.projects.join(',')}${spec.cluster === undefined ? '' : `/${spec.cluster}`}`;
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
    this.cloud = spec.cloud;
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
}

/** One scheduled run, shared by the Lambda and the Cloud Function. */
export async function scheduledRun(deps: ScheduledRunDeps): Promise<RunSummary> {
  const rules = selectRules(deps.rules ?? RULES, deps.config.rules, 'CREDWATCH_RULES');
  const detection = resolveDetectionConfig(deps.config.detection, rules, 'CREDWATCH_CONFIG');
  const build = deps.buildSource ?? buildLiveSource;
  const sources: LogSource[] = [];
  for (const spec of deps.config.sources) {
    try {
      sources.push(await build(spec));
    } catch (err) {
      sources.push(new UnbuildableSource(sourceName(spec), spec, err));
    }
  }
  return runScan({
    sources,
    engine: { rules, ruleOptions: detection.ruleOptions, identities: detection.identities },
    store: deps.store,
    sink: deps.sink,
    settings: deps.config.settings,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.runId === undefined ? {} : { runId: deps.runId }),
  });
}
