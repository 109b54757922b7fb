import { ConfigError } from '../../core/model/errors.js';
import type { LogSource } from '../../core/model/source.js';
import * as aksNames from '../../adapters/aks/name.js';
import * as eksNames from '../../adapters/eks/name.js';
import * as gkeNames from '../../adapters/gke/name.js';
import { sensorContainers } from '../../adapters/sensors/sensor-containers.js';

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

/** What every runtime source takes beside its cloud's flags (adapters/sensors/*-source.ts). */
export interface RuntimeFlags {
  /** Container names of the sensor pods; the adapters default to tracee and falco. */
  sensorContainers?: string[];
  /** `scan` feeds the audit window to the same engine: the runtime source reads only the exec margin before it. */
  execMarginOnly?: boolean;
}
export type EksRuntimeFlags = EksFlags & RuntimeFlags & { logGroup?: string };
export type AksRuntimeFlags = AksFlags & RuntimeFlags;
export type GkeRuntimeFlags = GkeFlags & RuntimeFlags;

/**
 * Factories for live sources; tests replace them, the CLI loads the real adapters lazily. A
 * runtime factory gets the cluster's audit source, whose pods/exec requests it reads for correlation;
 * one a test leaves out is the real one.
 */
export interface SourceFactories {
  eks(opts: EksFlags): Promise<LogSource>;
  aks(opts: AksFlags): Promise<LogSource>;
  gke(opts: GkeFlags): Promise<LogSource>;
  eksRuntime?(opts: EksRuntimeFlags, audit: LogSource): Promise<LogSource>;
  aksRuntime?(opts: AksRuntimeFlags, audit: LogSource): Promise<LogSource>;
  gkeRuntime?(opts: GkeRuntimeFlags, audit: LogSource): Promise<LogSource>;
}

/**
 * The real adapters, each behind a credential check (live-credentials.ts) unless it talks to a
 * loopback endpoint without credentials (GKE `CREDWATCH_GKE_ENDPOINT`, AKS `CREDWATCH_AKS_TOKEN`).
 */
export const lazySourceFactories: Required<SourceFactories> = {
  async eks(opts) {
    const [{ createEksSource }, client] = await Promise.all([import('../../adapters/eks/source.js'), checkedCloudWatchClient(opts, '--eks')]);
    return createEksSource({ ...opts, client });
  },
  async aks(opts) {
    const [{ createAksSource }, credential] = await Promise.all([import('../../adapters/aks/source.js'), checkedAzureCredential(`--aks ${opts.workspaceId}`)]);
    return createAksSource({ ...opts, ...(credential === undefined ? {} : { credential }) });
  },
  async gke(opts) {
    const [{ createGkeSource }, logging] = await Promise.all([import('../../adapters/gke/source.js'), checkedLogging(opts, `--gke ${opts.projects.join(',')}`)]);
    return createGkeSource({ ...opts, logging, gaxOptions: GKE_CALL_OPTIONS });
  },
  async eksRuntime(opts, audit) {
    const [{ createEksRuntimeSource }, client] = await Promise.all([import('../../adapters/eks/runtime-source.js'), checkedCloudWatchClient(opts, '--eks-runtime')]);
    return createEksRuntimeSource({ ...opts, client, audit });
  },
  async aksRuntime(opts, audit) {
    const [{ createAksRuntimeSource }, credential] = await Promise.all([import('../../adapters/aks/runtime-source.js'), checkedAzureCredential(`--aks-runtime ${opts.workspaceId}`)]);
    return createAksRuntimeSource({ ...opts, ...(credential === undefined ? {} : { credential }), audit });
  },
  async gkeRuntime(opts, audit) {
    const [{ createGkeRuntimeSource }, logging] = await Promise.all([import('../../adapters/gke/runtime-source.js'), checkedLogging(opts, `--gke-runtime ${opts.projects.join(',')}`)]);
    return createGkeRuntimeSource({ ...opts, logging, audit, gaxOptions: GKE_CALL_OPTIONS });
  },
};

/**
 * gax retries UNAVAILABLE (which includes "no connection established") for a whole minute by
 * default; a person at a terminal learns more from a failure after a few attempts. Quota errors
 * are retried by the source itself (adapters/gke/quota-backoff.ts), not by these.
 */
const GKE_CALL_OPTIONS = Object.freeze({ maxRetries: 4 });

async function checkedCloudWatchClient(opts: EksFlags, flag: string) {
  const [{ createClient }, { checkAwsCredentials }] = await Promise.all([import('../../adapters/eks/client.js'), import('./live-credentials.js')]);
  const { client } = createClient(opts, flag);
  await checkAwsCredentials(client, `${flag} ${opts.cluster}`);
  return client;
}

async function checkedAzureCredential(what: string) {
  const token = process.env['CREDWATCH_AKS_TOKEN'];
  if (token !== undefined && token !== '') return undefined;
  const [{ DefaultAzureCredential }, { checkAzureCredentials }] = await Promise.all([import('@azure/identity'), import('./live-credentials.js')]);
  return checkAzureCredentials(new DefaultAzureCredential(), what);
}

async function checkedLogging(opts: GkeFlags, what: string) {
  const [{ createClient }, { checkGoogleCredentials }] = await Promise.all([import('../../adapters/gke/client.js'), import('./live-credentials.js')]);
  const logging = createClient(opts);
  if (opts.endpoint === undefined) await checkGoogleCredentials(logging, what);
  return logging;
}

export interface LiveFlags {
  eks?: string[];
  region?: string;
  profile?: string;
  aks?: string[];
  aksCluster?: string;
  gke?: string[];
  gkeCluster?: string;
  /** Also read the runtime sensor's output of every cloud given. */
  runtimeSensor?: boolean;
  eksRuntime?: boolean;
  aksRuntime?: boolean;
  gkeRuntime?: boolean;
  eksRuntimeLogGroup?: string;
  runtimeContainers?: string[];
}

export interface PlanOptions {
  /** All sources feed one engine (`scan`), so runtime sources read only the exec margin before the window. */
  sharedEngine?: boolean;
}

/** One planned source: its name (adapters/<cloud>/name.ts) for messages before it exists, and how to build it. */
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

/** Which clouds' runtime sensor output to read; a runtime flag without its cloud source is a usage error. */
function runtimeClouds(flags: LiveFlags): { eks: boolean; aks: boolean; gke: boolean } {
  const has = { eks: (flags.eks ?? []).length > 0, aks: (flags.aks ?? []).length > 0, gke: (flags.gke ?? []).length > 0 };
  const orphan: Array<[boolean | undefined, boolean, string]> = [
    [flags.eksRuntime, has.eks, '--eks-runtime applies to --eks; add --eks CLUSTER.'],
    [flags.eksRuntimeLogGroup !== undefined, has.eks, '--eks-runtime-log-group applies to --eks; add --eks CLUSTER.'],
    [flags.aksRuntime, has.aks, '--aks-runtime applies to --aks; add --aks WORKSPACE_ID.'],
    [flags.gkeRuntime, has.gke, '--gke-runtime applies to --gke; add --gke PROJECT.'],
    [flags.runtimeSensor, has.eks || has.aks || has.gke, '--runtime-sensor applies to live sources; add --eks, --aks or --gke.'],
  ];
  for (const [set, ok, message] of orphan) if (set === true && !ok) throw new ConfigError('invalid-flags', message);
  if (flags.eksRuntimeLogGroup !== undefined && (flags.eks ?? []).length > 1) {
    throw new ConfigError('invalid-flags', '--eks-runtime-log-group names the log group of one cluster; give a single --eks CLUSTER.');
  }
  const all = flags.runtimeSensor === true;
  const clouds = {
    eks: has.eks && (all || flags.eksRuntime === true || flags.eksRuntimeLogGroup !== undefined),
    aks: has.aks && (all || flags.aksRuntime === true),
    gke: has.gke && (all || flags.gkeRuntime === true),
  };
  if (flags.runtimeContainers !== undefined && !clouds.eks && !clouds.aks && !clouds.gke) {
    throw new ConfigError('invalid-flags', '--runtime-containers applies to runtime sources; add --runtime-sensor (or --eks-runtime, --aks-runtime, --gke-runtime).');
  }
  // No container filter (an empty list) only suits an EKS group of the sensor's own.
  if (flags.runtimeContainers !== undefined) sensorContainers(flags.runtimeContainers, '--runtime-containers', { allowNone: !clouds.aks && !clouds.gke });
  return clouds;
}

/**
 * Validates the per-cloud flags (a qualifier needs its source) and plans one source per target.
 * Runtime sources come after every audit source: in `scan` one engine sees them all, and a read
 * is tied to the exec only if the exec was seen first (the engine holds it until the input ends).
 */
export function planLiveSources(flags: LiveFlags, env: NodeJS.ProcessEnv, options: PlanOptions = {}): PlannedSource[] {
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
  const runtime = runtimeClouds(flags);
  const runtimeFlags: RuntimeFlags = {
    ...(flags.runtimeContainers === undefined ? {} : { sensorContainers: flags.runtimeContainers }),
    ...(options.sharedEngine === true ? { execMarginOnly: true } : {}),
  };
  const planned: PlannedSource[] = [];
  const runtimePlans: PlannedSource[] = [];
  for (const cluster of eks) {
    const opts: EksFlags = { cluster, ...endpointOf(env, ENDPOINT_ENV.eks) };
    if (flags.region !== undefined) opts.region = flags.region;
    if (flags.profile !== undefined) opts.profile = flags.profile;
    planned.push({ label: eksNames.sourceName(opts), create: (f) => f.eks(opts) });
    if (runtime.eks) {
      const r: EksRuntimeFlags = { ...opts, ...runtimeFlags, ...(flags.eksRuntimeLogGroup === undefined ? {} : { logGroup: flags.eksRuntimeLogGroup }) };
      runtimePlans.push({ label: eksNames.runtimeSourceName(opts), create: async (f) => (f.eksRuntime ?? lazySourceFactories.eksRuntime)(r, await f.eks(opts)) });
    }
  }
  for (const workspaceId of aks) {
    const opts: AksFlags = { workspaceId, ...endpointOf(env, ENDPOINT_ENV.aks) };
    if (flags.aksCluster !== undefined) opts.cluster = flags.aksCluster;
    planned.push({ label: aksNames.sourceName(opts), create: (f) => f.aks(opts) });
    if (runtime.aks) {
      const r: AksRuntimeFlags = { ...opts, ...runtimeFlags };
      runtimePlans.push({ label: aksNames.runtimeSourceName(opts), create: async (f) => (f.aksRuntime ?? lazySourceFactories.aksRuntime)(r, await f.aks(opts)) });
    }
  }
  if (gke.length > 0) {
    const opts: GkeFlags = { projects: gke, ...endpointOf(env, ENDPOINT_ENV.gke) };
    if (flags.gkeCluster !== undefined) opts.cluster = flags.gkeCluster;
    planned.push({ label: gkeNames.sourceName(opts), create: (f) => f.gke(opts) });
    if (runtime.gke) {
      const r: GkeRuntimeFlags = { ...opts, ...runtimeFlags };
      runtimePlans.push({ label: gkeNames.runtimeSourceName(opts), create: async (f) => (f.gkeRuntime ?? lazySourceFactories.gkeRuntime)(r, await f.gke(opts)) });
    }
  }
  return [...planned, ...runtimePlans];
}
