import { describe, expect, it } from 'vitest';
import type { AuthInfo, Cloud, UserInfo } from '../../../core/model/event.js';
import { deriveAuth } from '../../../core/model/auth.js';
import { classifyCaller, classifyIdentity, DEFAULT_IDENTITY_TABLES, extendIdentityTables } from '../../../core/detection/identity.js';

const caller = (name: string, cloud: Cloud, extra?: Record<string, string[]>, issued?: string) => {
  const user: UserInfo = { name, ...(extra === undefined ? {} : { extra }) };
  const auth: AuthInfo = deriveAuth(user, cloud);
  return classifyCaller({ user, auth, cloud }, DEFAULT_IDENTITY_TABLES, { issuedInScan: (id) => (id === issued ? 'CSR backdoor' : undefined) });
};
const X509 = { 'authentication.kubernetes.io/credential-id': ['X509SHA256=ab'] };

describe('k8s identity', () => {
  it('keeps the cloud-agnostic classification of every cloud\'s names', () => {
    expect(classifyIdentity({ name: 'eks:node-manager' }).kind).toBe('control-plane');
    expect(classifyIdentity({ name: 'aksService' }).kind).toBe('control-plane');
    expect(classifyIdentity({ name: 'kubelet-nodepool-bootstrap' }).kind).toBe('node-bootstrap');
  });

  it('counts a managed cloud\'s control-plane names only on that cloud', () => {
    expect(classifyIdentity({ name: 'eks:node-manager' }, DEFAULT_IDENTITY_TABLES, 'aks').kind).toBe('human');
    expect(classifyIdentity({ name: 'aksService' }, DEFAULT_IDENTITY_TABLES, 'aks').kind).toBe('control-plane');
    expect(classifyIdentity({ name: 'eks:node-manager' }, DEFAULT_IDENTITY_TABLES, 'k8s').kind).toBe('control-plane');
  });

  it('trusts the kube-controller-manager on its own certificate', () => {
    expect(caller('system:kube-controller-manager', 'aks', X509)).toMatchObject({ kind: 'control-plane', trusted: true, csrController: true });
  });

  it('does not trust a control-plane name on a certificate issued through a CSR in this scan', () => {
    expect(caller('system:kube-controller-manager', 'aks', X509, 'X509SHA256=ab')).toEqual({
      kind: 'control-plane',
      name: 'system:kube-controller-manager',
      trusted: false,
      csrController: false,
      distrust: 'authenticated with a certificate issued through CSR backdoor in this scan',
    });
  });

  it('does not trust an IAM role mapped to an eks: name, but trusts the EKS cluster-manager role', () => {
    expect(caller('eks:addon-manager', 'eks', { arn: ['arn:aws:sts::1:assumed-role/ci/x'] }).trusted).toBe(false);
    expect(caller('eks:addon-manager', 'eks', { arn: ['arn:aws:sts::1:assumed-role/AWSWesleyClusterManagerLambda-x/y'] }).trusted).toBe(true);
    expect(caller('eks:certificate-controller', 'eks')).toMatchObject({ trusted: true, csrController: true });
  });

  it('trusts the certificate-controller service account only on its own token', () => {
    const sa = 'system:serviceaccount:kube-system:certificate-controller';
    expect(caller(sa, 'gke')).toMatchObject({ kind: 'service-account', trusted: true, csrController: true });
    expect(caller(sa, 'gke', { 'authentication.kubernetes.io/pod-name': ['evil-0'] })).toMatchObject({ trusted: false, distrust: 'a token bound to pod evil-0, not the controller\'s own' });
    expect(caller(sa, 'gke', X509)).toMatchObject({ trusted: false, distrust: 'a client certificate carrying a service-account name' });
  });

  it('treats an X509 credential id as a certificate whatever the name says', () => {
    expect(deriveAuth({ name: 'system:serviceaccount:a:b', extra: X509 }, 'k8s').method).toBe('x509');
    expect(deriveAuth({ name: 'system:serviceaccount:a:b' }, 'k8s').method).toBe('serviceaccount-token');
  });

  it('extends the tables without dropping the defaults', () => {
    const t = extendIdentityTables(DEFAULT_IDENTITY_TABLES, { csrControllers: ['system:serviceaccount:pki:signer'], cloudControlPlane: { gke: { users: ['system:gke-x'], prefixes: [] } } });
    expect(t.csrControllers).toContain('system:kube-controller-manager');
    expect(t.csrControllers).toContain('system:serviceaccount:pki:signer');
    expect(t.cloudControlPlane?.gke?.users).toContain('system:gcp-controller-manager');
    expect(classifyIdentity({ name: 'system:gke-x' }, t, 'gke').kind).toBe('control-plane');
  });
});
