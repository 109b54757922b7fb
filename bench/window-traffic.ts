import { randomUUID } from 'node:crypto';

/**
 * The API traffic of a busy cluster for the live-source window benches: leases, watches and status
 * updates from kubelets and controllers dominate; credential-relevant requests are a small tail
 * (docs/rules-secrets.md). One model for every cloud; only the identities differ.
 */

export type Actor = 'kubelet' | 'controller' | 'scheduler' | 'sa' | 'human' | 'cloud-control-plane';

export interface TrafficKind {
  weight: number;
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  actor: Actor;
  namespaced: boolean;
}

export const TRAFFIC_MIX: readonly TrafficKind[] = Object.freeze([
  { weight: 260, verb: 'update', resource: 'leases', group: 'coordination.k8s.io', actor: 'kubelet', namespaced: true },
  { weight: 90, verb: 'get', resource: 'leases', group: 'coordination.k8s.io', actor: 'controller', namespaced: true },
  { weight: 90, verb: 'get', resource: 'pods', actor: 'controller', namespaced: true },
  { weight: 60, verb: 'list', resource: 'pods', actor: 'controller', namespaced: true },
  { weight: 50, verb: 'watch', resource: 'pods', actor: 'kubelet', namespaced: false },
  { weight: 40, verb: 'patch', resource: 'pods', subresource: 'status', actor: 'kubelet', namespaced: true },
  { weight: 70, verb: 'get', resource: 'configmaps', actor: 'controller', namespaced: true },
  { weight: 40, verb: 'watch', resource: 'configmaps', actor: 'kubelet', namespaced: true },
  { weight: 60, verb: 'get', resource: 'endpoints', actor: 'controller', namespaced: true },
  { weight: 50, verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', actor: 'controller', namespaced: false },
  { weight: 40, verb: 'update', resource: 'endpointslices', group: 'discovery.k8s.io', actor: 'controller', namespaced: true },
  { weight: 30, verb: 'patch', resource: 'nodes', subresource: 'status', actor: 'kubelet', namespaced: false },
  { weight: 20, verb: 'get', resource: 'nodes', actor: 'kubelet', namespaced: false },
  { weight: 30, verb: 'create', resource: 'events', actor: 'controller', namespaced: true },
  { weight: 20, verb: 'get', resource: 'deployments', group: 'apps', actor: 'cloud-control-plane', namespaced: true },
  { weight: 20, verb: 'update', resource: 'replicasets', group: 'apps', subresource: 'status', actor: 'controller', namespaced: true },
  { weight: 15, verb: 'create', resource: 'subjectaccessreviews', group: 'authorization.k8s.io', actor: 'sa', namespaced: false },
  { weight: 15, verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io', actor: 'scheduler', namespaced: false },
  { weight: 10, verb: 'create', resource: 'serviceaccounts', subresource: 'token', actor: 'kubelet', namespaced: true },
  { weight: 8, verb: 'get', resource: 'secrets', actor: 'kubelet', namespaced: true },
  { weight: 4, verb: 'watch', resource: 'secrets', actor: 'controller', namespaced: true },
  { weight: 1, verb: 'list', resource: 'secrets', actor: 'human', namespaced: true },
  { weight: 0.4, verb: 'create', resource: 'certificatesigningrequests', group: 'certificates.k8s.io', actor: 'kubelet', namespaced: false },
  { weight: 0.2, verb: 'update', resource: 'certificatesigningrequests', group: 'certificates.k8s.io', subresource: 'approval', actor: 'controller', namespaced: false },
  { weight: 0.2, verb: 'create', resource: 'pods', subresource: 'exec', actor: 'human', namespaced: true },
  { weight: 2, verb: 'create', resource: 'pods', actor: 'controller', namespaced: true },
  { weight: 1, verb: 'get', resource: 'namespaces', actor: 'human', namespaced: false },
] as TrafficKind[]);

export interface ActorIdentity {
  username: string;
  groups: string[];
  ua: string;
  sourceIP: string;
}

/** Who each actor is on one cloud; `i` spreads nodes and service accounts. */
export type Identities = Record<Actor, (i: number) => ActorIdentity>;

const KUBELET_UA = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';

export function identities(cloud: { node: (i: number) => string; nodeIP: (i: number) => string; human: string; controlPlane: { username: string; groups: string[]; ua: string } }): Identities {
  return {
    kubelet: (i) => ({ username: `system:node:${cloud.node(i)}`, groups: ['system:nodes', 'system:authenticated'], ua: KUBELET_UA, sourceIP: cloud.nodeIP(i) }),
    controller: () => ({ username: 'system:kube-controller-manager', groups: ['system:authenticated'], ua: 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/leader-election', sourceIP: '10.0.255.1' }),
    scheduler: () => ({ username: 'system:kube-scheduler', groups: ['system:authenticated'], ua: 'kube-scheduler/v1.30.2 (linux/amd64) kubernetes/3968350', sourceIP: '10.0.255.1' }),
    sa: (i) => ({ username: `system:serviceaccount:kube-system:svc-${i % 12}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'], ua: 'Go-http-client/2.0', sourceIP: cloud.nodeIP(i) }),
    human: () => ({ username: cloud.human, groups: ['system:authenticated'], ua: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350', sourceIP: '203.0.113.10' }),
    'cloud-control-plane': () => ({ ...cloud.controlPlane, sourceIP: '10.0.255.2' }),
  };
}

/** A deterministic pseudo-random stream, so runs are comparable. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TOTAL_WEIGHT = TRAFFIC_MIX.reduce((s, k) => s + k.weight, 0);

/** The kind for a uniform random number in [0, 1). */
export function pickKind(r: number): TrafficKind {
  let x = r * TOTAL_WEIGHT;
  for (const k of TRAFFIC_MIX) {
    x -= k.weight;
    if (x < 0) return k;
  }
  return TRAFFIC_MIX[0]!;
}

/** One audit.k8s.io/v1 Event of the given kind; `rnd` varies watch resource versions. */
export function trafficEvent(k: TrafficKind, who: ActorIdentity, i: number, at: number, rnd: () => number): Record<string, unknown> {
  const ns = k.namespaced ? 'kube-system' : undefined;
  const name = k.verb === 'list' || k.verb === 'watch' ? undefined : `obj-${i % 500}`;
  const prefix = k.group === undefined ? '/api/v1' : `/apis/${k.group}/v1`;
  const uri = `${prefix}${ns === undefined ? '' : `/namespaces/${ns}`}/${k.resource}${name === undefined ? '' : `/${name}`}${k.subresource === undefined ? '' : `/${k.subresource}`}`;
  const objectRef: Record<string, string> = { resource: k.resource, apiVersion: 'v1' };
  if (ns !== undefined) objectRef['namespace'] = ns;
  if (name !== undefined) objectRef['name'] = name;
  if (k.group !== undefined) objectRef['apiGroup'] = k.group;
  if (k.subresource !== undefined) objectRef['subresource'] = k.subresource;
  const ts = new Date(at).toISOString().replace('Z', '000Z');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: k.verb === 'watch' ? `${uri}?allowWatchBookmarks=true&resourceVersion=${Math.floor(rnd() * 1e7)}&watch=true` : uri,
    verb: k.verb,
    user: { username: who.username, groups: who.groups },
    sourceIPs: [who.sourceIP],
    userAgent: who.ua,
    objectRef,
    responseStatus: { metadata: {}, code: k.verb === 'create' ? 201 : 200 },
    requestReceivedTimestamp: ts,
    stageTimestamp: ts,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding' },
  };
}
