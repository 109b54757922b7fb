import { KUBECTL } from './clusters.js';
import { approvedStatus, CLIENT_SIGNER, CSR_GROUP, csrCreateRequest, csrStored, type CsrBody } from './csr-traffic.js';
import { base64, csrPem, issuedCertPem } from './pki.js';
import type { TrafficContext } from './traffic-context.js';

/**
 * The attacks hidden in the demo traffic, one story per cluster (docs/rules-csr.md, docs/rules-secrets.md, docs/rules-cert-theft.md):
 * - gke-prod-1: the Stratus Red Team `k8s.persistence.create-client-certificate` chain;
 * - aks-prod-1: a kubelet client certificate read through `kubectl exec` from a pod that mounts the
 *   node's /var/lib/kubelet, then the stolen node identity dumping every Secret from outside;
 * - eks-prod-1: a service-account token taken from a pod, listing all Secrets with curl.
 */

export interface AttackMaterial {
  stratusPem: string;
  stratusCert: string;
}

export async function attackMaterial(window: Date): Promise<AttackMaterial> {
  return {
    stratusPem: await csrPem('stratus', { subject: 'CN=system:kube-controller-manager' }),
    stratusCert: await issuedCertPem('stratus', 'CN=system:kube-controller-manager', window),
  };
}

const ATTACKER_IP = '203.0.113.99';

function stratusChain(ctx: TrafficContext, m: AttackMaterial, atMs: number): void {
  const c = ctx.cluster;
  const attacker = { user: 'sam@acme.example', userAgent: 'stratus-red-team/v2.22.0 (linux/amd64) kubernetes/$Format', sourceIPs: [ATTACKER_IP] };
  const body: CsrBody = {
    name: 'stratus-red-team-csr',
    uid: ctx.rng.uuid(),
    pem: m.stratusPem,
    signerName: CLIENT_SIGNER,
    usages: ['client auth'],
    username: attacker.user,
    groups: ['system:authenticated'],
  };
  const created = ctx.time(atMs);
  ctx.emit({ ...attacker, ...CSR_GROUP, verb: 'create', name: body.name, requestURI: '/apis/certificates.k8s.io/v1/certificatesigningrequests', time: created, requestObject: { ...csrCreateRequest(body), spec: { groups: body.groups, request: base64(body.pem), signerName: body.signerName, usages: body.usages } }, responseObject: csrStored(body, created) });
  const approvedAt = ctx.time(atMs + 420);
  const approved = approvedStatus('User activation', 'This CSR was approved by Stratus Red Team', approvedAt);
  ctx.emit({ ...attacker, ...CSR_GROUP, verb: 'update', name: body.name, subresource: 'approval', time: approvedAt, requestObject: csrStored(body, created, approved), responseObject: csrStored(body, created, approved) });
  const signer = { user: c.approver.user, userAgent: c.approver.userAgent, sourceIPs: [c.apiServerIp] };
  const issued = { ...approved, certificate: base64(m.stratusCert) };
  ctx.emit({ ...signer, ...CSR_GROUP, verb: 'update', name: body.name, subresource: 'status', time: ctx.time(atMs + 610) });
  ctx.emit({ ...attacker, ...CSR_GROUP, verb: 'get', name: body.name, time: ctx.time(atMs + 1_130), responseObject: csrStored(body, created, issued) });
  ctx.emit({ ...attacker, ...CSR_GROUP, verb: 'delete', name: body.name, time: ctx.time(atMs + 1_940) });
}

function kubeletCertTheft(ctx: TrafficContext, atMs: number): void {
  const c = ctx.cluster;
  const person = c.people[1] ?? c.people[0]!;
  const who = { user: person.name, ...(person.groups === undefined ? {} : { groups: person.groups }), ...(person.extra === undefined ? {} : { extra: person.extra }), userAgent: KUBECTL, sourceIPs: [person.ip] };
  const victim = c.nodes[1] ?? c.nodes[0]!;
  const pod = `node-debugger-${victim.name}-x7k2p`;
  const podSpec = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod, namespace: 'default' },
    spec: {
      nodeName: victim.name,
      hostPID: true,
      containers: [{ name: 'debugger', image: 'busybox:1.36', command: ['sleep', '3600'], volumeMounts: [{ name: 'kubelet', mountPath: '/var/lib/kubelet' }] }],
      volumes: [{ name: 'kubelet', hostPath: { path: '/var/lib/kubelet', type: 'Directory' } }],
    },
  };
  ctx.emit({ ...who, verb: 'create', resource: 'pods', namespace: 'default', name: pod, requestURI: '/api/v1/namespaces/default/pods', time: ctx.time(atMs), requestObject: podSpec, responseObject: { ...podSpec, status: { phase: 'Pending' } } });
  const exec = (offset: number, command: string[]): void =>
    ctx.emit({ ...who, verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'default', name: pod, query: [...command.map((a): [string, string] => ['command', a]), ['container', 'debugger'], ['stdin', 'true'], ['stdout', 'true'], ['tty', 'true']], time: ctx.time(atMs + offset) });
  exec(41_000, ['ls', '/var/lib/kubelet/pki']);
  exec(58_000, ['cat', '/var/lib/kubelet/pki/kubelet-client-current.pem']);
  // Four minutes later the node's client certificate is used from the attacker's laptop.
  const stolen = {
    user: `system:node:${victim.name}`,
    groups: ['system:nodes', 'system:authenticated'],
    extra: { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${'5e'.repeat(32)}`] },
    userAgent: KUBECTL,
    sourceIPs: [ATTACKER_IP],
  };
  ctx.emit({ ...stolen, verb: 'get', resource: 'namespaces', time: ctx.time(atMs + 240_000) });
  ctx.emit({ ...stolen, verb: 'list', resource: 'secrets', query: [['limit', '500']], time: ctx.time(atMs + 246_000) });
}

function tokenSecretDump(ctx: TrafficContext, atMs: number): void {
  const app = ctx.cluster.apps[1] ?? ctx.cluster.apps[0]!;
  const stolen = {
    user: `system:serviceaccount:${app}:${app}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${app}`, 'system:authenticated'],
    extra: {
      'authentication.kubernetes.io/pod-name': [`${app}-7c9d8f6b5-mq4zt`],
      'authentication.kubernetes.io/pod-uid': ['3f0c9a7e-0000-4000-8000-5d1e2f3a4b5c'],
      'authentication.kubernetes.io/credential-id': ['JTI=0c5a1f3e-9b7d-4e2a-8c6f-1a2b3c4d5e6f'],
    },
    userAgent: 'curl/8.5.0',
    sourceIPs: [ATTACKER_IP],
  };
  ctx.emit({ ...stolen, verb: 'create', resource: 'selfsubjectrulesreviews', apiGroup: 'authorization.k8s.io', time: ctx.time(atMs) });
  ctx.emit({ ...stolen, verb: 'list', resource: 'secrets', namespace: 'kube-system', code: 403, time: ctx.time(atMs + 9_000) });
  ctx.emit({ ...stolen, verb: 'list', resource: 'secrets', query: [['limit', '500']], time: ctx.time(atMs + 15_000) });
}

/** Emits the cluster's attack story at its place in the window. */
export function attacks(ctx: TrafficContext, m: AttackMaterial): void {
  switch (ctx.cluster.cloud) {
    case 'gke':
      return stratusChain(ctx, m, 31 * 60_000 + 12_345);
    case 'aks':
      return kubeletCertTheft(ctx, 38 * 60_000 + 4_210);
    case 'eks':
      return tokenSecretDump(ctx, 44 * 60_000 + 27_800);
  }
}
