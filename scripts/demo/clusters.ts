import type { Cloud } from '../../core/model/event.js';

/**
 * The three demo clusters: who lives in them (nodes with their addresses, controllers, people)
 * and which identities each cloud's control plane uses for CSR approval and signing.
 */

export interface DemoNode {
  name: string;
  ip: string;
}

export interface Person {
  name: string;
  ip: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface DemoCluster {
  cloud: Exclude<Cloud, 'k8s'>;
  name: string;
  /** Nodes present from the start. */
  nodes: DemoNode[];
  /** Nodes that join during the demo hour (bootstrap CSR, approval, kubelet-serving CSR). */
  joining: DemoNode[];
  /** Who creates a joining node's client CSR: a bootstrap token or the cloud's bootstrap identity. */
  bootstrapUser?: string;
  bootstrapUserAgent: string;
  /** Approves and signs node CSRs (kube-controller-manager's controllers, or the cloud's own). */
  approver: { user: string; userAgent: string };
  people: Person[];
  /** Workload namespaces with an app service account each. */
  apps: string[];
  apiServerIp: string;
}

const K8S_VERSION = 'v1.30.4';
export const KUBELET_UA = `kubelet/${K8S_VERSION} (linux/amd64) kubernetes/a51b3b7`;
export const KCM_UA = `kube-controller-manager/${K8S_VERSION} (linux/amd64) kubernetes/a51b3b7/system:serviceaccount:kube-system:certificate-controller`;
export const KCM_SHARED_UA = `kube-controller-manager/${K8S_VERSION} (linux/amd64) kubernetes/a51b3b7/shared-informers`;
export const SCHEDULER_UA = `kube-scheduler/${K8S_VERSION} (linux/amd64) kubernetes/a51b3b7/leader-election`;
export const KUBECTL = `kubectl/${K8S_VERSION} (darwin/arm64) kubernetes/a51b3b7`;
export const CERT_MANAGER_UA = 'cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f8a0a1b7';
export const APP_UA = 'Go-http-client/2.0';

const eksNode = (ip: string): DemoNode => ({ name: `ip-${ip.replaceAll('.', '-')}.eu-west-1.compute.internal`, ip });
const aksNode = (i: number): DemoNode => ({ name: `aks-nodepool1-38104871-vmss00000${i}`, ip: `10.224.0.${4 + i}` });
const gkeNode = (suffix: string, ip: string): DemoNode => ({ name: `gke-gke-prod-1-default-pool-7f3a1c2e-${suffix}`, ip });

export const DEMO_CLUSTERS: readonly DemoCluster[] = [
  {
    cloud: 'eks',
    name: 'eks-prod-1',
    nodes: ['10.0.1.23', '10.0.2.41', '10.0.3.17'].map(eksNode),
    // EKS nodes authenticate with IAM and never send a bootstrap client CSR; only kubelet-serving.
    joining: [eksNode('10.0.1.88')],
    bootstrapUserAgent: KUBELET_UA,
    approver: { user: 'eks:certificate-controller', userAgent: 'eks-certificate-controller/v0.0.0 (linux/amd64) kubernetes/$Format' },
    people: [
      {
        name: 'arn:aws:sts::111122223333:assumed-role/platform-admin/dana',
        ip: '198.51.100.14',
        groups: ['platform-admins', 'system:authenticated'],
        extra: {
          arn: ['arn:aws:sts::111122223333:assumed-role/platform-admin/dana'],
          canonicalArn: ['arn:aws:iam::111122223333:role/platform-admin'],
          sessionName: ['dana'],
          accessKeyId: ['ASIAEXAMPLEDANA00001'],
        },
      },
      {
        name: 'arn:aws:sts::111122223333:assumed-role/developer/lee',
        ip: '198.51.100.37',
        groups: ['developers', 'system:authenticated'],
        extra: { arn: ['arn:aws:sts::111122223333:assumed-role/developer/lee'], sessionName: ['lee'], accessKeyId: ['ASIAEXAMPLELEE000002'] },
      },
    ],
    apps: ['checkout', 'payments'],
    apiServerIp: '10.0.0.10',
  },
  {
    cloud: 'aks',
    name: 'aks-prod-1',
    nodes: [0, 1, 2].map(aksNode),
    joining: [aksNode(3)],
    bootstrapUser: 'system:bootstrap:k3x9q2',
    bootstrapUserAgent: KUBELET_UA,
    approver: { user: 'system:serviceaccount:kube-system:certificate-controller', userAgent: KCM_UA },
    people: [
      { name: 'jane@acme.example', ip: '203.0.113.50', groups: ['5b2c8a1e-aad-group-sre', 'system:authenticated'], extra: { oid: ['9f1c2b3a-0000-4a1b-8c2d-111111111111'] } },
      { name: 'omar@acme.example', ip: '203.0.113.51', groups: ['system:authenticated'], extra: { oid: ['9f1c2b3a-0000-4a1b-8c2d-222222222222'] } },
    ],
    apps: ['web', 'orders'],
    apiServerIp: '10.224.0.1',
  },
  {
    cloud: 'gke',
    name: 'gke-prod-1',
    nodes: [gkeNode('h4x9', '10.128.0.12'), gkeNode('k2m7', '10.128.0.13'), gkeNode('p9z3', '10.128.0.14')],
    joining: [gkeNode('w5c8', '10.128.0.21')],
    // The real GKE node bootstrap identity and plugin (corpus gke-labs-kube-agents line 1).
    bootstrapUser: 'kubelet-nodepool-bootstrap',
    bootstrapUserAgent: 'gke-exec-auth-plugin/v0.0.0 (linux/amd64) kubernetes/$Format',
    approver: { user: 'system:serviceaccount:kube-system:certificate-controller', userAgent: KCM_UA },
    people: [
      { name: 'sam@acme.example', ip: '192.0.2.77' },
      { name: 'priya@acme.example', ip: '192.0.2.78' },
    ],
    apps: ['search', 'catalog'],
    apiServerIp: '10.128.0.2',
  },
];
