/**
 * The names of an EKS cluster's sources: the key of their checkpoints and leases and the name in
 * every message (docs/architecture.md "Scheduled scans"), so a source that could not be built is
 * reported and leased under the name it has when it works.
 */

export interface EksNameSpec {
  cluster: string;
}

export const sourceName = (spec: EksNameSpec): string => `eks:${spec.cluster}`;
export const runtimeSourceName = (spec: EksNameSpec): string => `eks-runtime:${spec.cluster}`;
