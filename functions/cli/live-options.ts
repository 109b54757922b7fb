import type { Command } from 'commander';
import type { LiveFlags } from './live-sources.js';
import { collectList } from './scan-options.js';

/**
 * The live-source options `scan` and `watch` share: the audit sources of each cloud and the
 * runtime sensor output read beside them (docs/cli.md, docs/runtime-sensors.md).
 */
export function addLiveOptions(command: Command): Command {
  return command
    .option('--eks <cluster>', 'EKS cluster to read from CloudWatch Logs (repeatable)', collectList)
    .option('--region <region>', 'AWS region of the --eks clusters (default: the AWS SDK chain)')
    .option('--profile <profile>', 'AWS profile for --eks')
    .option('--aks <workspace-id>', 'Log Analytics workspace holding AKS kube-audit logs (repeatable)', collectList)
    .option('--aks-cluster <name>', 'only this AKS cluster of the workspace')
    .option('--gke <project>', 'GCP project whose GKE audit logs to read (repeatable, comma-separated)', collectList)
    .option('--gke-cluster <name>', 'only this GKE cluster')
    .option('--runtime-sensor', 'also read Tracee/Falco output of every cloud given (--eks-runtime, --aks-runtime, --gke-runtime together)')
    .option('--eks-runtime', 'also read the runtime sensor output of the --eks clusters (Container Insights log group)')
    .option('--eks-runtime-log-group <name>', 'log group holding the sensor output of the one --eks cluster (default /aws/containerinsights/<cluster>/application; implies --eks-runtime)')
    .option('--aks-runtime', 'also read the runtime sensor output of the --aks workspaces (ContainerLogV2)')
    .option('--gke-runtime', 'also read the runtime sensor output of the --gke projects (k8s_container logs)')
    .option('--runtime-containers <names>', 'container names of the sensor pods (default tracee,falco; comma-separated)', collectList);
}

/** The options `addLiveOptions` defines, as commander hands them over: the live-source flags. */
export type LiveOptionValues = LiveFlags;

const KEYS = [
  'eks', 'region', 'profile', 'aks', 'aksCluster', 'gke', 'gkeCluster',
  'runtimeSensor', 'eksRuntime', 'eksRuntimeLogGroup', 'aksRuntime', 'gkeRuntime', 'runtimeContainers',
] as const satisfies ReadonlyArray<keyof LiveFlags>;

/** Only the options given, so `exactOptionalPropertyTypes`-style checks see no explicit undefined. */
export function liveFlagsOf(values: LiveOptionValues): LiveFlags {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) if (values[k] !== undefined) out[k] = values[k];
  return out;
}
