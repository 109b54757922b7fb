import { ConfigError } from '../../core/errors.js';
import type { LogSource } from '../../core/source.js';

/**
 * Builds the live sources named on the command line. Each cloud's adapter is imported only when
 * its flag is used, so a file scan never loads a cloud SDK.
 */

export interface EksFlags {
  cluster: string;
  region?: string;
  profile?: string;
  endpoint?: string;
}
export interface AksFlags {
  workspaceId: string;
  cluster?: string;
  endpoint?: string;
}
export interface GkeFlags {
  projects: string[];
  cluster?: string;
  endpoint?: string;
}

/** Factories for live sources; tests replace them, the CLI loads the real adapters lazily. */
export interface SourceFactories {
  eks(opts: EksFlags): Promise<LogSource>;
  aks(opts: AksFlags): Promise<LogSource>;
  gke(opts: GkeFlags): Promise<LogSource>;
}

export const lazySourceFactories: SourceFactories = {
  async eks(opts) {
    const { createEksSource } = await import('../../adapters/eks/source.js');
    return createEksSource(opts);
  },
  async aks(opts) {
    const { createAksSource } = await import('../../adapters/aks/source.js');
    return createAksSource(opts);
  },
  async gke(opts) {
    const { createGkeSource } = await import('../../adapters/gke/source.js');
    return createGkeSource(opts);
  },
};

export interface LiveFlags {
  eks?: string[];
  region?: string;
  profile?: string;
  aks?: string[];
  aksCluster?: string;
  gke?: string[];
  gkeCluster?: string;
}

/** One planned source: a label for messages before it exists, and how to build it. */
export interface PlannedSource {
  label: string;
  create(factories: SourceFactories): Promise<LogSource>;
}

/** Environment variables that point a cloud API at another endpoint (tests, sovereign clouds). */
export const ENDPOINT_ENV = Object.freeze({
  eks: 'CREDWATCH_EKS_ENDPOINT',
  aks: 'CREDWATCH_AKS_ENDPOINT',
  gke: 'CREDWATCH_GKE_ENDPOINT',
});

function endpointOf(env: NodeJS.ProcessEnv, name: string): { endpoint?: string } {
  const v = env[name];
  return v === undefined || v === '' ? {} : { endpoint: v };
}

/** Validates the per-cloud flags (a qualifier needs its source) and plans one source per target. */
export function planLiveSources(flags: LiveFlags, env: NodeJS.ProcessEnv): PlannedSource[] {
  const eks = flags.eks ?? [];
  const aks = flags.aks ?? [];
  const gke = flags.gke ?? [];
  if (eks.length === 0 && (flags.region !== undefined || flags.profile !== undefined)) {
    throw new ConfigError('invalid-flags', `${flags.region !== undefined ? '--region' : '--profile'} applies to --eks; add --eks CLUSTER.`);
  }
  if (aks.length === 0 && flags.aksCluster !== undefined) {
    throw new ConfigError('invalid-flags', '--aks-cluster applies to --aks; add --aks WORKSPACE_ID.');
  }
  if (gke.length === 0 && flags.gkeCluster !== undefined) {
    throw new ConfigError('invalid-flags', '--gke-cluster applies to --gke; add --gke PROJECT.');
  }
  const planned: PlannedSource[] = [];
  for (const cluster of eks) {
    const opts: EksFlags = { cluster, ...endpointOf(env, ENDPOINT_ENV.eks) };
    if (flags.region !== undefined) opts.region = flags.region;
    if (flags.profile !== undefined) opts.profile = flags.profile;
    planned.push({ label: `eks:${cluster}`, create: (f) => f.eks(opts) });
  }
  for (const workspaceId of aks) {
    const opts: AksFlags = { workspaceId, ...endpointOf(env, ENDPOINT_ENV.aks) };
    if (flags.aksCluster !== undefined) opts.cluster = flags.aksCluster;
    planned.push({ label: `aks:${workspaceId}`, create: (f) => f.aks(opts) });
  }
  if (gke.length > 0) {
    const opts: GkeFlags = { projects: gke, ...endpointOf(env, ENDPOINT_ENV.gke) };
    if (flags.gkeCluster !== undefined) opts.cluster = flags.gkeCluster;
    planned.push({ label: `gke:${gke.join(',')}`, create: (f) => f.gke(opts) });
  }
  return planned;
}
