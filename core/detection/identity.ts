import type { AuthInfo, Cloud, UserInfo } from '../model/event.js';
import type { CloudIdentityTable, IdentityTables, ManagedCloud } from '../model/identity-tables.js';
import type { EventHistory } from '../model/rule.js';

/**
 * Who a Kubernetes user is, in one place (docs/architecture.md "Layers"): nodes, node bootstrap identities,
 * service accounts, control-plane components per cloud, anonymous, humans. The tables are data;
 * deployments extend them through configuration (see `IdentityTables`).
 */

const UPSTREAM_CSR_CONTROLLERS = Object.freeze([
  // kube-controller-manager's csrapproving/csrsigning/csrcleaner controllers: as itself, or as
  // this service account with --use-service-account-credentials.
  'system:kube-controller-manager',
  'system:serviceaccount:kube-system:certificate-controller',
]);

export const DEFAULT_IDENTITY_TABLES: IdentityTables = Object.freeze({
  controlPlaneUsers: Object.freeze([
    'system:kube-controller-manager',
    'system:kube-scheduler',
    'system:apiserver',
    'system:kube-proxy',
  ]),
  controlPlanePrefixes: Object.freeze([]),
  bootstrapUsers: Object.freeze(['kubelet-nodepool-bootstrap']),
  cloudControlPlane: Object.freeze({
    // EKS components are `eks:<name>` (docs/source-eks.md).
    eks: Object.freeze({ users: Object.freeze([]), prefixes: Object.freeze(['eks:']) }),
    // AKS control plane (docs/source-aks.md).
    aks: Object.freeze({
      users: Object.freeze(['aksService', 'masterclient', 'hcpService', 'readinessChecker']),
      prefixes: Object.freeze([]),
    }),
    // GKE's own controllers on the hosted control plane (general knowledge; extend from your logs).
    gke: Object.freeze({
      users: Object.freeze(['system:gcp-controller-manager', 'system:cloud-controller-manager', 'system:addon-manager']),
      prefixes: Object.freeze([]),
    }),
  }),
  csrControllers: Object.freeze([...UPSTREAM_CSR_CONTROLLERS, 'eks:certificate-controller', 'system:gcp-controller-manager']),
  // EKS runs its cluster-management Lambdas under this role (Panther's EKS rules trust it too).
  controlPlanePrincipals: Object.freeze(['^arn:aws:sts::\\d+:assumed-role/AWSWesleyClusterManagerLambda']),
});

/** Lists of `extra` appended to `base` (deployment configuration adds names, it never removes the defaults silently). */
export function extendIdentityTables(base: IdentityTables, extra: Partial<IdentityTables>): IdentityTables {
  const cat = <T>(a: readonly T[] | undefined, b: readonly T[] | undefined): readonly T[] => Object.freeze([...(a ?? []), ...(b ?? [])]);
  const clouds: Partial<Record<ManagedCloud, CloudIdentityTable>> = {};
  for (const cloud of ['eks', 'aks', 'gke'] as const) {
    const a = base.cloudControlPlane?.[cloud];
    const b = extra.cloudControlPlane?.[cloud];
    if (a === undefined && b === undefined) continue;
    clouds[cloud] = { users: cat(a?.users, b?.users), prefixes: cat(a?.prefixes, b?.prefixes) };
  }
  return Object.freeze({
    controlPlaneUsers: cat(base.controlPlaneUsers, extra.controlPlaneUsers),
    controlPlanePrefixes: cat(base.controlPlanePrefixes, extra.controlPlanePrefixes),
    bootstrapUsers: cat(base.bootstrapUsers, extra.bootstrapUsers),
    cloudControlPlane: clouds,
    csrControllers: cat(base.csrControllers, extra.csrControllers),
    controlPlanePrincipals: cat(base.controlPlanePrincipals, extra.controlPlanePrincipals),
  });
}

export type IdentityKind =
  | 'node'
  | 'node-bootstrap'
  | 'service-account'
  | 'control-plane'
  | 'anonymous'
  | 'system-other'
  | 'human'
  | 'unknown';

export interface Identity {
  kind: IdentityKind;
  name?: string;
  /** For `node`: the node name from `system:node:<name>`. */
  node?: string;
  /** For `service-account`: namespace and name from `system:serviceaccount:<ns>:<name>`. */
  serviceAccount?: { namespace: string; name: string };
}

import { NODE_PREFIX, SA_PREFIX } from '../model/auth.js';

export function nodeName(userName: string | undefined): string | undefined {
  if (!userName?.startsWith(NODE_PREFIX)) return undefined;
  const node = userName.slice(NODE_PREFIX.length);
  return node.length > 0 ? node : undefined;
}

export function serviceAccountOf(
  userName: string | undefined,
): { namespace: string; name: string } | undefined {
  if (!userName?.startsWith(SA_PREFIX)) return undefined;
  const rest = userName.slice(SA_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { namespace: rest.slice(0, colon), name: rest.slice(colon + 1) };
}

function controlPlaneNames(tables: IdentityTables, cloud: Cloud | undefined): { users: string[]; prefixes: string[] } {
  const users = [...tables.controlPlaneUsers];
  const prefixes = [...tables.controlPlanePrefixes];
  for (const c of ['eks', 'aks', 'gke'] as const) {
    if (cloud !== undefined && cloud !== 'k8s' && cloud !== c) continue;
    users.push(...(tables.cloudControlPlane?.[c]?.users ?? []));
    prefixes.push(...(tables.cloudControlPlane?.[c]?.prefixes ?? []));
  }
  return { users, prefixes };
}

/**
 * What kind of identity a user name is. With `cloud`, a managed cloud's control-plane names
 * count only on that cloud; without it (or with `k8s`), every cloud's names count.
 */
export function classifyIdentity(
  user: UserInfo,
  tables: IdentityTables = DEFAULT_IDENTITY_TABLES,
  cloud?: Cloud,
): Identity {
  const name = user.name;
  if (name === undefined || name === '') return { kind: 'unknown' };
  if (name === 'system:anonymous') return { kind: 'anonymous', name };
  const node = nodeName(name);
  if (node !== undefined) return { kind: 'node', name, node };
  const sa = serviceAccountOf(name);
  if (sa !== undefined) return { kind: 'service-account', name, serviceAccount: sa };
  if (name.startsWith('system:bootstrap:') || tables.bootstrapUsers.includes(name)) {
    return { kind: 'node-bootstrap', name };
  }
  const cp = controlPlaneNames(tables, cloud);
  if (cp.users.includes(name) || cp.prefixes.some((p) => name.startsWith(p))) {
    return { kind: 'control-plane', name };
  }
  if (name.startsWith('system:')) return { kind: 'system-other', name };
  return { kind: 'human', name };
}

/** An identity plus whether the way it authenticated fits what its name claims: a name alone can be minted with an approved CSR. */
export interface CallerIdentity extends Identity {
  /**
   * A system identity (control plane, CSR controller, node, node bootstrap) whose authentication
   * fits its name. Humans, anonymous and ordinary service accounts are never "trusted".
   */
  trusted: boolean;
  /** On the `csrControllers` list and trusted: expected to approve and sign CSRs. */
  csrController: boolean;
  /** Why a system-looking name is not trusted. */
  distrust?: string;
}

export interface TrustSignals {
  /** When this credential id is a client certificate issued through a CSR seen in this scan, a description of that CSR. */
  issuedInScan?: (credentialId: string) => string | undefined;
}

/**
 * Classifies the caller of an event and decides whether a system-looking name is really the
 * component it names:
 * - a certificate issued through a CSR in this scan never makes a control-plane component,
 *   controller or bootstrap identity (those get their credentials out of band; nodes, whose
 *   kubelet certificates do come from CSRs, are judged by the CSR rules instead);
 * - a cloud principal (an IAM role mapped through aws-auth, an Entra ID user) carrying a
 *   control-plane name is a customer identity unless it matches `controlPlanePrincipals`;
 * - a controller service account must use a token that is not bound to a pod (the
 *   kube-controller-manager requests its own), and never a client certificate.
 */
export function classifyCaller(
  event: { user: UserInfo; auth: AuthInfo; cloud: Cloud },
  tables: IdentityTables = DEFAULT_IDENTITY_TABLES,
  signals: TrustSignals = {},
): CallerIdentity {
  const id = classifyIdentity(event.user, tables, event.cloud);
  const auth = event.auth;
  const issued = auth.method === 'x509' && auth.credentialId !== undefined ? signals.issuedInScan?.(auth.credentialId) : undefined;
  const onControllerList = id.name !== undefined && (tables.csrControllers ?? []).includes(id.name);
  const verdict = (distrust: string | undefined): CallerIdentity =>
    distrust === undefined
      ? { ...id, trusted: true, csrController: onControllerList }
      : { ...id, trusted: false, csrController: false, distrust };
  switch (id.kind) {
    case 'control-plane': {
      if (issued !== undefined) return verdict(`authenticated with a certificate issued through ${issued} in this scan`);
      if (auth.method === 'serviceaccount-token') return verdict('a service-account token, not a control-plane credential');
      if (auth.method === 'cloud-iam' && !principalAllowed(auth.cloudPrincipal, tables)) {
        return verdict(`cloud principal ${auth.cloudPrincipal ?? event.user.uid ?? '(unnamed)'} mapped to a control-plane name`);
      }
      return verdict(undefined);
    }
    case 'service-account': {
      if (!onControllerList) return { ...id, trusted: false, csrController: false };
      if (auth.method === 'x509') return verdict('a client certificate carrying a service-account name');
      if (auth.podName !== undefined) return verdict(`a token bound to pod ${auth.podName}, not the controller's own`);
      return verdict(undefined);
    }
    case 'node-bootstrap': {
      if (issued !== undefined) return verdict(`authenticated with a certificate issued through ${issued} in this scan`);
      if (auth.method === 'serviceaccount-token' || auth.method === 'cloud-iam') return verdict(`authenticated as ${auth.method}`);
      return verdict(undefined);
    }
    case 'node':
      if (auth.method === 'serviceaccount-token' || auth.method === 'anonymous') return verdict(`authenticated as ${auth.method}`);
      return verdict(undefined);
    default:
      return { ...id, trusted: false, csrController: false };
  }
}

function principalAllowed(principal: string | undefined, tables: IdentityTables): boolean {
  if (principal === undefined) return false;
  return (tables.controlPlanePrincipals ?? []).some((source) => safeRegExp(source)?.test(principal) === true);
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}


/** Trust signals from a scan's history: certificates handed out through CSRs seen earlier. */
export function trustSignalsFrom(history: EventHistory, cluster: string | undefined): TrustSignals {
  return {
    issuedInScan: (credentialId) => {
      const issuer = history.certificateIssuedBy?.(cluster, credentialId);
      return issuer === undefined ? undefined : `CSR ${issuer.target.name ?? '(unnamed)'}`;
    },
  };
}
