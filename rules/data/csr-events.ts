import { k8sEvent, type K8sAuditEventJson, type K8sEventInit } from '../../examples/audit-records.js';
import { SIGNERS } from '../../core/detection/csr-subject.js';
import { b64 } from './csr-samples.js';

/**
 * audit.k8s.io Events for each step of a CSR's life, shaped like the API server logs them at
 * RequestResponse level (docs/rules-csr.md): create, approval (`/approval` update), the
 * signer's `/status` update, a read, and the delete. The CSR rules' examples render these with
 * asEks / asAks / asGke.
 */

export interface StepInit {
  name: string;
  user: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  time?: string;
  code?: number;
  sourceIPs?: string[];
  userAgent?: string;
}

export interface CsrBody {
  /** A PEM request (encoded for the body), or a raw `spec.request` value (hostile input). */
  pem?: string;
  request?: unknown;
  signerName?: string;
  usages?: string[];
  expirationSeconds?: number;
  /** What the API server recorded about the requester. */
  requester?: { username: string; groups?: string[] };
}

const CSR_TARGET = { resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', apiVersion: 'v1' } as const;

function base(i: StepInit, verb: string, subresource?: string): K8sEventInit {
  const init: K8sEventInit = { ...CSR_TARGET, verb, user: i.user, name: i.name };
  if (subresource !== undefined) init.subresource = subresource;
  for (const k of ['groups', 'extra', 'time', 'code', 'sourceIPs', 'userAgent'] as const) {
    if (i[k] !== undefined) (init as unknown as Record<string, unknown>)[k] = i[k];
  }
  return init;
}

function spec(b: CsrBody): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (b.request !== undefined) s['request'] = b.request;
  else if (b.pem !== undefined) s['request'] = b64(b.pem);
  s['signerName'] = b.signerName ?? SIGNERS.apiserverClient;
  if (b.expirationSeconds !== undefined) s['expirationSeconds'] = b.expirationSeconds;
  s['usages'] = b.usages ?? ['client auth'];
  if (b.requester !== undefined) {
    s['username'] = b.requester.username;
    s['groups'] = b.requester.groups ?? ['system:authenticated'];
  }
  return s;
}

const csrObject = (name: string, s: Record<string, unknown>, status: Record<string, unknown> = {}) => ({
  kind: 'CertificateSigningRequest',
  apiVersion: 'certificates.k8s.io/v1',
  metadata: { name },
  spec: s,
  status,
});

export function csrCreate(i: StepInit, b: CsrBody): K8sAuditEventJson {
  const requester = { username: i.user, ...(i.groups === undefined ? {} : { groups: i.groups }) };
  return k8sEvent({
    ...base(i, 'create'),
    requestObject: csrObject(i.name, spec({ ...b, requester: undefined })),
    ...(i.code !== undefined && i.code >= 400 ? {} : { responseObject: csrObject(i.name, spec({ ...b, requester })) }),
  });
}

export function csrDecide(i: StepInit, b: CsrBody, decision: 'Approved' | 'Denied' = 'Approved'): K8sAuditEventJson {
  const condition = {
    type: decision,
    status: 'True',
    reason: decision === 'Approved' ? 'KubectlApprove' : 'KubectlDeny',
    message: `This CSR was ${decision.toLowerCase()} by kubectl certificate ${decision === 'Approved' ? 'approve' : 'deny'}.`,
  };
  const body = csrObject(i.name, spec(b), { conditions: [condition] });
  return k8sEvent({ ...base(i, 'update', 'approval'), requestObject: body, ...(i.code !== undefined && i.code >= 400 ? {} : { responseObject: body }) });
}

/** The signer's `/status` update that writes the certificate. */
export function csrIssue(i: StepInit, b: CsrBody, certPem: string): K8sAuditEventJson {
  const status = {
    conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove' }],
    certificate: b64(certPem),
  };
  const body = csrObject(i.name, spec(b), status);
  return k8sEvent({ ...base(i, 'update', 'status'), requestObject: body, responseObject: body });
}

/** A read of the CSR; with `certPem`, the response shows the issued certificate. */
export function csrGet(i: StepInit, b?: CsrBody, certPem?: string): K8sAuditEventJson {
  if (b === undefined) return k8sEvent(base(i, 'get'));
  const status: Record<string, unknown> = { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove' }] };
  if (certPem !== undefined) status['certificate'] = b64(certPem);
  return k8sEvent({ ...base(i, 'get'), level: 'RequestResponse', responseObject: csrObject(i.name, spec(b), status) });
}

export function csrDelete(i: StepInit): K8sAuditEventJson {
  return k8sEvent(base(i, 'delete'));
}

const SEED_TIME = '2026-03-02T09:00:00.000000Z';

/**
 * A hand-written public test record plus the timestamps every real record carries. Panther's test
 * fixtures omit them, and the parsers reject a record without a time rather than invent one;
 * nothing else in the record is touched.
 */
export function seedWithTime(record: Record<string, unknown>): Record<string, unknown> {
  const stamp = { requestReceivedTimestamp: SEED_TIME, stageTimestamp: SEED_TIME };
  if ('protoPayload' in record) return { ...record, timestamp: SEED_TIME, receiveTimestamp: SEED_TIME };
  const props = record['properties'];
  if (typeof props === 'object' && props !== null && typeof (props as Record<string, unknown>)['log'] === 'string') {
    const log = JSON.parse((props as Record<string, string>)['log']!) as Record<string, unknown>;
    return { ...record, properties: { ...props, log: JSON.stringify({ ...log, ...stamp }) } };
  }
  return { ...record, ...stamp };
}

/** A merge patch of the CSR object itself (labels, annotations): GKE logs its body as `k8s.io/Patch`. */
export function csrPatch(i: StepInit, patch: Record<string, unknown>): K8sAuditEventJson {
  return k8sEvent({ ...base(i, 'patch'), requestObject: patch });
}

/** The audit Event of Panther's AKS CSR-create test records: who asked, from where, which CSR, which signer. */
export function pantherCsrCreate(username: string, sourceIP: string, name: string, signerName: string): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    verb: 'create',
    user: { username },
    sourceIPs: [sourceIP],
    objectRef: { resource: 'certificatesigningrequests', name, apiVersion: 'certificates.k8s.io/v1' },
    responseStatus: { code: 201 },
    requestObject: { spec: { signerName, usages: ['client auth'] } },
  };
}
