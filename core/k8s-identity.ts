import type { AuthInfo, AuthMethod, Cloud, UserInfo } from './event.js';

/**
 * Who a Kubernetes user is, in one place (DESIGN.md "Layout"): nodes, node bootstrap identities,
 * service accounts, control-plane components per cloud, anonymous, humans. The tables are data;
 * deployments extend them through configuration (see `IdentityTables`).
 */

export const USER_EXTRA = Object.freeze({
  credentialId: 'authentication.kubernetes.io/credential-id',
  podName: 'authentication.kubernetes.io/pod-name',
  podUid: 'authentication.kubernetes.io/pod-uid',
  nodeName: 'authentication.kubernetes.io/node-name',
  eksArn: 'arn',
  eksCanonicalArn: 'canonicalArn',
});

export interface IdentityTables {
  /** Exact user names of control-plane components (trusted only when they authenticate as such). */
  controlPlaneUsers: readonly string[];
  /** Prefixes of cloud-managed control-plane identities. */
  controlPlanePrefixes: readonly string[];
  /** Node TLS-bootstrap identities (exact names or `system:bootstrap:` tokens). */
  bootstrapUsers: readonly string[];
}

export const DEFAULT_IDENTITY_TABLES: IdentityTables = Object.freeze({
  controlPlaneUsers: Object.freeze([
    'system:kube-controller-manager',
    'system:kube-scheduler',
    'system:apiserver',
    'system:kube-proxy',
    // AKS control plane (research/rules.md §4.4)
    'aksService',
    'masterclient',
    'hcpService',
    'readinessChecker',
  ]),
  // EKS components are `eks:<name>` (research/rules.md §4.5).
  controlPlanePrefixes: Object.freeze(['eks:']),
  bootstrapUsers: Object.freeze(['kubelet-nodepool-bootstrap']),
});

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

const NODE_PREFIX = 'system:node:';
const SA_PREFIX = 'system:serviceaccount:';

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

export function classifyIdentity(
  user: UserInfo,
  tables: IdentityTables = DEFAULT_IDENTITY_TABLES,
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
  if (tables.controlPlaneUsers.includes(name) || tables.controlPlanePrefixes.some((p) => name.startsWith(p))) {
    return { kind: 'control-plane', name };
  }
  if (name.startsWith('system:')) return { kind: 'system-other', name };
  return { kind: 'human', name };
}

/**
 * How the caller authenticated, from what the audit record says about the user. Adapters call
 * this once per event; `cloud` only selects which cloud-IAM markers to look for.
 */
export function deriveAuth(user: UserInfo, cloud: Cloud, extraLabels?: Record<string, string>): AuthInfo {
  const first = (key: string): string | undefined => user.extra?.[key]?.[0] ?? extraLabels?.[key];
  const credentialId = first(USER_EXTRA.credentialId);
  const podName = first(USER_EXTRA.podName);
  const podUid = first(USER_EXTRA.podUid);
  const cloudPrincipal = cloud === 'eks' ? first(USER_EXTRA.eksArn) : undefined;
  const name = user.name ?? '';
  let method: AuthMethod = 'unknown';
  if (name === 'system:anonymous') method = 'anonymous';
  else if (name.startsWith(SA_PREFIX) || podName !== undefined || credentialId?.startsWith('JTI=')) {
    method = 'serviceaccount-token';
  } else if (credentialId?.startsWith('X509SHA256=')) method = 'x509';
  else if (name.startsWith(NODE_PREFIX) && (user.groups?.includes('system:nodes') ?? true)) method = 'node';
  else if (cloudPrincipal !== undefined || user.uid?.startsWith('aws-iam-authenticator:')) method = 'cloud-iam';
  else if (cloud === 'gke' && /@[^@]+\.(iam\.)?gserviceaccount\.com$|@/.test(name)) method = 'cloud-iam';
  else if (cloud === 'aks' && user.extra?.['oid'] !== undefined) method = 'cloud-iam';
  const auth: AuthInfo = { method };
  if (credentialId !== undefined) auth.credentialId = credentialId;
  if (podName !== undefined) auth.podName = podName;
  if (podUid !== undefined) auth.podUid = podUid;
  if (cloudPrincipal !== undefined) auth.cloudPrincipal = cloudPrincipal;
  return auth;
}
