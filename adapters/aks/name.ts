/**
 * The names of an AKS workspace's sources, by cluster when one is given: the key of their
 * checkpoints and leases and the name in every message (docs/architecture.md "Scheduled scans"),
 * so a source that could not be built is reported and leased under the name it has when it works.
 */

export interface AksNameSpec {
  workspaceId: string;
  cluster?: string;
}

export const sourceName = (spec: AksNameSpec): string => `aks:${spec.cluster ?? spec.workspaceId}`;
export const runtimeSourceName = (spec: AksNameSpec): string => `aks-runtime:${spec.cluster ?? spec.workspaceId}`;
