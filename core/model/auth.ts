import { newAuthInfo, type AuthInfo, type AuthMethod, type Cloud, type UserInfo } from './event.js';

/**
 * How the caller of a request proved who it is (`AuditEvent.auth`, docs/architecture.md "The event
 * model"), from the user info the API server logged. Adapters fill it in when they build an event;
 * rules derive it again for a user named inside a request body (a CSR's requester).
 */

export const NODE_PREFIX = 'system:node:';
export const SA_PREFIX = 'system:serviceaccount:';

export const USER_EXTRA = Object.freeze({
  credentialId: 'authentication.kubernetes.io/credential-id',
  podName: 'authentication.kubernetes.io/pod-name',
  podUid: 'authentication.kubernetes.io/pod-uid',
  nodeName: 'authentication.kubernetes.io/node-name',
  eksArn: 'arn',
  eksCanonicalArn: 'canonicalArn',
});

/** What marks a cloud IAM principal in one managed cloud's user info. */
interface CloudAuthSigns {
  /** The `user.extra` key holding the principal's ARN or id. */
  principalExtra?: string;
  isCloudIam?(user: UserInfo): boolean;
}

/**
 * Per cloud, as data: EKS maps IAM principals and logs their ARN in `user.extra.arn`
 * (https://docs.aws.amazon.com/eks/latest/userguide/grant-k8s-access.html); GKE names Google
 * accounts by e-mail (https://cloud.google.com/kubernetes-engine/docs/how-to/iam); AKS with Entra ID
 * logs the object id in `user.extra.oid` (https://learn.microsoft.com/azure/aks/concepts-identity).
 */
const CLOUD_AUTH_SIGNS: Partial<Record<Cloud, CloudAuthSigns>> = {
  eks: { principalExtra: USER_EXTRA.eksArn },
  gke: { isCloudIam: (user) => /@[^@]+\.(iam\.)?gserviceaccount\.com$|@/.test(user.name ?? '') },
  aks: { isCloudIam: (user) => user.extra?.['oid'] !== undefined },
};

/** Adapters call this once per event; `cloud` only selects which cloud-IAM markers to look for. */
export function deriveAuth(user: UserInfo, cloud: Cloud, extraLabels?: Record<string, string>): AuthInfo {
  const first = (key: string): string | undefined => user.extra?.[key]?.[0] ?? extraLabels?.[key];
  const credentialId = first(USER_EXTRA.credentialId);
  const podName = first(USER_EXTRA.podName);
  const podUid = first(USER_EXTRA.podUid);
  const signs = CLOUD_AUTH_SIGNS[cloud];
  const cloudPrincipal = signs?.principalExtra === undefined ? undefined : first(signs.principalExtra);
  const name = user.name ?? '';
  let method: AuthMethod = 'unknown';
  // The credential id is what the API server actually verified, so it wins over the name: a
  // client certificate whose CN is `system:serviceaccount:…` is still a certificate.
  if (name === 'system:anonymous') method = 'anonymous';
  else if (credentialId?.startsWith('X509SHA256=')) method = 'x509';
  else if (name.startsWith(SA_PREFIX) || podName !== undefined || credentialId?.startsWith('JTI=')) {
    method = 'serviceaccount-token';
  }
  else if (name.startsWith(NODE_PREFIX) && (user.groups?.includes('system:nodes') ?? true)) method = 'node';
  else if (cloudPrincipal !== undefined || user.uid?.startsWith('aws-iam-authenticator:')) method = 'cloud-iam';
  else if (signs?.isCloudIam?.(user) === true) method = 'cloud-iam';
  const auth = newAuthInfo(method);
  if (credentialId !== undefined) auth.credentialId = credentialId;
  if (podName !== undefined) auth.podName = podName;
  if (podUid !== undefined) auth.podUid = podUid;
  if (cloudPrincipal !== undefined) auth.cloudPrincipal = cloudPrincipal;
  return auth;
}
