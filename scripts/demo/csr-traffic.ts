import type { K8sEventInit } from '../../examples/audit-records.js';
import { KUBELET_UA, type DemoCluster, type DemoNode } from './clusters.js';
import { base64, csrPem } from './pki.js';
import type { TrafficContext } from './traffic-context.js';

/**
 * CertificateSigningRequest traffic: the object bodies as the API server logs them at
 * RequestResponse level, node TLS bootstrap and kubelet-serving requests with their system
 * approvals (benign), and the pieces the attack chains reuse.
 */

export const CSR_GROUP = { resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', apiVersion: 'v1' } as const;
export const CLIENT_KUBELET_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
export const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';

export interface CsrBody {
  name: string;
  uid: string;
  pem: string;
  signerName: string;
  usages: string[];
  username: string;
  groups: string[];
}

const TYPE = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest' };

export function csrCreateRequest(b: CsrBody): Record<string, unknown> {
  return { ...TYPE, metadata: { name: b.name }, spec: { request: base64(b.pem), signerName: b.signerName, usages: b.usages } };
}

function spec(b: CsrBody): Record<string, unknown> {
  return { groups: b.groups, request: base64(b.pem), signerName: b.signerName, usages: b.usages, username: b.username };
}

export function csrStored(b: CsrBody, created: string, status: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...TYPE, metadata: { name: b.name, uid: b.uid, resourceVersion: '0', creationTimestamp: created.slice(0, 19) + 'Z' }, spec: spec(b), status };
}

export function approvedStatus(reason: string, message: string, at: string): Record<string, unknown> {
  return { conditions: [{ type: 'Approved', status: 'True', reason, message, lastUpdateTime: at.slice(0, 19) + 'Z', lastTransitionTime: at.slice(0, 19) + 'Z' }] };
}

/** `node-csr-` plus 43 base64url characters, as kubelet TLS bootstrap names its requests. */
function nodeCsrName(ctx: TrafficContext): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let s = '';
  for (let i = 0; i < 43; i++) s += alphabet[ctx.rng.int(alphabet.length)];
  return `node-csr-${s}`;
}

export interface NodeJoinPems {
  client: string;
  serving: string;
}

export async function nodeJoinPems(cluster: DemoCluster, node: DemoNode): Promise<NodeJoinPems> {
  const subject = `CN=system:node:${node.name}, O=system:nodes`;
  return {
    client: await csrPem(`${cluster.name}:${node.name}:client`, { subject }),
    serving: await csrPem(`${cluster.name}:${node.name}:serving`, { subject, dnsNames: [node.name], ips: [node.ip] }),
  };
}

/** create → system approval → signer status update → requester reads it back. */
function csrLifecycle(
  ctx: TrafficContext,
  atMs: number,
  requester: Pick<K8sEventInit, 'user' | 'groups' | 'userAgent' | 'sourceIPs'> & { user: string },
  body: CsrBody,
  approval: { reason: string; message: string },
): void {
  const c = ctx.cluster;
  const created = ctx.time(atMs);
  ctx.emit({ ...requester, ...CSR_GROUP, verb: 'create', name: body.name, requestURI: '/apis/certificates.k8s.io/v1/certificatesigningrequests', time: created, requestObject: csrCreateRequest(body), responseObject: csrStored(body, created) });
  const approvedAt = ctx.time(atMs + 180 + ctx.rng.int(400));
  const status = approvedStatus(approval.reason, approval.message, approvedAt);
  const approver = { user: c.approver.user, userAgent: c.approver.userAgent, sourceIPs: [c.apiServerIp] };
  ctx.emit({ ...approver, ...CSR_GROUP, verb: 'update', name: body.name, subresource: 'approval', time: approvedAt, requestObject: csrStored(body, created, status), responseObject: csrStored(body, created, status) });
  ctx.emit({ ...approver, ...CSR_GROUP, verb: 'update', name: body.name, subresource: 'status', time: ctx.time(atMs + 700 + ctx.rng.int(300)) });
  ctx.emit({ ...requester, ...CSR_GROUP, verb: 'get', name: body.name, time: ctx.time(atMs + 1200 + ctx.rng.int(500)) });
}

/** A node joins: TLS bootstrap client CSR (where the cloud uses one), then its kubelet-serving CSR. */
export function nodeJoin(ctx: TrafficContext, node: DemoNode, pems: NodeJoinPems, atMs: number): void {
  const c = ctx.cluster;
  const nodeUser = `system:node:${node.name}`;
  if (c.bootstrapUser !== undefined) {
    const bootstrapGroups = c.bootstrapUser.startsWith('system:bootstrap:')
      ? ['system:bootstrappers', 'system:bootstrappers:aks', 'system:authenticated']
      : ['system:authenticated'];
    csrLifecycle(
      ctx,
      atMs,
      { user: c.bootstrapUser, groups: bootstrapGroups, userAgent: c.bootstrapUserAgent, sourceIPs: [node.ip] },
      { name: nodeCsrName(ctx), uid: ctx.rng.uuid(), pem: pems.client, signerName: CLIENT_KUBELET_SIGNER, usages: ['digital signature', 'client auth'], username: c.bootstrapUser, groups: bootstrapGroups },
      { reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.' },
    );
  }
  csrLifecycle(
    ctx,
    atMs + 4_000,
    { user: nodeUser, userAgent: KUBELET_UA, sourceIPs: [node.ip] },
    { name: `csr-${ctx.rng.alnum(5)}`, uid: ctx.rng.uuid(), pem: pems.serving, signerName: KUBELET_SERVING_SIGNER, usages: ['digital signature', 'server auth'], username: nodeUser, groups: ['system:nodes', 'system:authenticated'] },
    { reason: 'AutoApproved', message: 'Auto approving kubelet serving certificate after SubjectAccessReview.' },
  );
}
