/**
 * The names of a GKE scan's sources, by cluster when one is given, else by its projects: the key
 * of their checkpoints and leases and the name in every message (docs/architecture.md "Scheduled
 * scans"), so a source that could not be built is reported and leased under the name it has when
 * it works.
 */

export interface GkeNameSpec {
  projects: readonly string[];
  cluster?: string;
}

export const sourceName = (spec: GkeNameSpec): string => `gke:${spec.cluster ?? spec.projects.join(',')}`;
export const runtimeSourceName = (spec: GkeNameSpec): string => `gke-runtime:${spec.cluster ?? spec.projects.join(',')}`;
