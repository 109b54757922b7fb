import { describe, expect, it } from 'vitest';
import { parseGkeRecord } from '../../../adapters/gke/parse.js';
import { parseResourceName } from '../../../adapters/gke/resource-name.js';
import { gkeOutcome } from '../../../adapters/gke/status.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { asGke, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

const origin = { source: 'gke.jsonl', line: 2 };
const event = (o: ParseOutcome): AuditEvent => {
  if (o.kind !== 'event') throw new Error(`expected an audit event, got ${JSON.stringify(o)}`);
  return o.event;
};

describe('gke resourceName', () => {
  it.each([
    ['core/v1/namespaces/kube-system/configmaps/cluster-kubestore', 'namespaced object', { apiGroup: '', apiVersion: 'v1', namespace: 'kube-system', resource: 'configmaps', name: 'cluster-kubestore' }],
    ['core/v1/namespaces/default/pods', 'namespaced collection', { apiGroup: '', apiVersion: 'v1', namespace: 'default', resource: 'pods' }],
    ['extensions/v1beta1/namespaces/cos-auditd/ingresses', 'namespaced collection', { apiGroup: 'extensions', apiVersion: 'v1beta1', namespace: 'cos-auditd', resource: 'ingresses' }],
    ['core/v1/namespaces/ns/pods/p/status', 'namespaced subresource', { apiGroup: '', apiVersion: 'v1', namespace: 'ns', resource: 'pods', name: 'p', subresource: 'status' }],
    ['core/v1/namespaces/ns/pods/p/exec', 'namespaced subresource', { apiGroup: '', apiVersion: 'v1', namespace: 'ns', resource: 'pods', name: 'p', subresource: 'exec' }],
    ['core/v1/namespaces/ns/pods/p/exec/p', 'namespaced subresource, name repeated', { apiGroup: '', apiVersion: 'v1', namespace: 'ns', resource: 'pods', name: 'p', subresource: 'exec' }],
    ['rbac.authorization.k8s.io/v1/clusterroles/system:node-problem-detector', 'cluster-scoped object', { apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1', resource: 'clusterroles', name: 'system:node-problem-detector' }],
    ['core/v1/namespaces/test-ns', 'cluster-scoped object', { apiGroup: '', apiVersion: 'v1', resource: 'namespaces', name: 'test-ns' }],
    ['core/v1/namespaces/test-ns/finalize', 'namespace subresource', { apiGroup: '', apiVersion: 'v1', resource: 'namespaces', name: 'test-ns', subresource: 'finalize' }],
    ['core/v1/nodes', 'cluster-wide collection', { apiGroup: '', apiVersion: 'v1', resource: 'nodes' }],
    ['core/v1/secrets', 'cluster-wide collection', { apiGroup: '', apiVersion: 'v1', resource: 'secrets' }],
    ['authorization.k8s.io/v1beta1/subjectaccessreviews', 'cluster-wide collection', { apiGroup: 'authorization.k8s.io', apiVersion: 'v1beta1', resource: 'subjectaccessreviews' }],
    ['certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval', 'cluster-scoped subresource', { apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'csr-1', subresource: 'approval' }],
    ['certificates.k8s.io/v1/certificatesigningrequests/csr-1/status', 'cluster-scoped subresource', { apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'csr-1', subresource: 'status' }],
  ])('matches %s as %s', (path, pattern, target) => {
    expect(parseResourceName(path)).toEqual({ kind: 'resource', pattern, target });
  });

  it.each(['readyz', 'api/v1', 'HNAP1', '/readyz', 'core/templates/preview', 'core/v1/namespaces/a/pods/p/exec/other/x', 'core/v1//pods'])('leaves %s unmatched', (path) => {
    expect(parseResourceName(path)).toEqual({ kind: 'unmatched', path });
  });
});

describe('gke status', () => {
  it.each([
    [undefined, undefined, { result: 'success', code: 200 }],
    [{}, undefined, { result: 'success', code: 200 }],
    [{ code: 0 }, 'exec', { result: 'success', code: 101 }],
    [{ code: 2, message: 'UNKNOWN' }, 'attach', { result: 'success', code: 101, message: 'UNKNOWN' }],
    [{ code: 2 }, undefined, { result: 'failure', code: 500, reason: 'Unknown' }],
    [{ code: 7, message: 'denied' }, undefined, { result: 'failure', code: 403, reason: 'Forbidden', message: 'denied' }],
    [{ code: 16 }, undefined, { result: 'failure', code: 401, reason: 'Unauthorized' }],
    [{ code: 5 }, undefined, { result: 'failure', code: 404, reason: 'NotFound' }],
    [{ code: 6 }, undefined, { result: 'failure', code: 409, reason: 'AlreadyExists' }],
    [{ code: 10 }, undefined, { result: 'failure', code: 409, reason: 'Conflict' }],
    [{ code: 3 }, undefined, { result: 'failure', code: 400, reason: 'BadRequest' }],
    [{ code: 8 }, undefined, { result: 'failure', code: 429, reason: 'TooManyRequests' }],
    [{ code: 13 }, undefined, { result: 'failure', code: 500, reason: 'InternalError' }],
    [{ code: 14 }, undefined, { result: 'failure', code: 503, reason: 'ServiceUnavailable' }],
  ])('maps %j on %s', (status, sub, outcome) => {
    expect(gkeOutcome(status, sub)).toEqual(outcome);
  });
});

describe('gke parse', () => {
  const list = k8sEvent({ verb: 'list', user: 'robot@proj.iam.gserviceaccount.com', resource: 'secrets', auditID: 'op-1' });

  it('reads a cluster-wide secret list from Data Access', () => {
    const rec = asGke(list, { cluster: 'c1' });
    const e = event(parseGkeRecord(rec, origin));
    expect([e.id, e.cluster, e.verb, e.target, e.user, e.auth.method, e.sourceIPs, e.userAgent, e.requestURI, e.origin.recordId]).toEqual([
      'op-1',
      'c1',
      'list',
      { apiGroup: '', apiVersion: 'v1', resource: 'secrets' },
      { name: 'robot@proj.iam.gserviceaccount.com' },
      'cloud-iam',
      ['203.0.113.24'],
      list['userAgent'],
      undefined,
      'op-1',
    ]);
  });

  it('takes user extra from authentication labels and truncation from the audit label', () => {
    const rec = asGke(list);
    const labels = { ...(rec['labels'] as object), 'authentication.kubernetes.io/credential-id': 'X509SHA256=ab', 'audit.k8s.io/truncated': 'true' };
    const e = event(parseGkeRecord({ ...rec, labels }, origin));
    expect([e.user.extra, e.auth.method, e.auth.credentialId, e.truncated]).toEqual([{ 'authentication.kubernetes.io/credential-id': ['X509SHA256=ab'] }, 'x509', 'X509SHA256=ab', true]);
  });

  it('uses insertId when there is no operation, and drops @type from bodies', () => {
    const csr = k8sEvent({ verb: 'create', user: 'u@x.com', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', name: 'c', requestObject: { kind: 'CertificateSigningRequest', apiVersion: 'certificates.k8s.io/v1', spec: {} } });
    const { operation: _op, ...rec } = asGke(csr);
    const e = event(parseGkeRecord({ ...rec, insertId: 'ins-9' }, origin));
    expect([e.id, e.requestObject]).toEqual(['ins-9', csr['requestObject']]);
  });

  it('makes non-resource requests events without a target', () => {
    const rec = { ...asGke(list), protoPayload: { serviceName: 'k8s.io', methodName: 'io.k8s.get', resourceName: 'readyz', authenticationInfo: { principalEmail: 'system:anonymous' }, status: {} } };
    const e = event(parseGkeRecord(rec, origin));
    expect([e.verb, e.target, e.requestURI, e.auth.method, e.outcome.code]).toEqual(['get', {}, '/readyz', 'anonymous', 200]);
  });

  it('rejects a resource method whose path fits no pattern, carrying the path', () => {
    const rec = { ...asGke(list), protoPayload: { serviceName: 'k8s.io', methodName: 'io.k8s.core.templates.preview.create', resourceName: 'core/templates/preview' } };
    expect(parseGkeRecord(rec, origin)).toEqual({
      kind: 'rejected',
      rejection: { origin: { ...origin, recordId: 'op-1' }, reason: 'unsupported-resource-path', detail: 'resourceName "core/templates/preview" (method io.k8s.core.templates.preview.create)' },
    });
  });

  it('skips entries that are not k8s.io audit entries', () => {
    const gce = { ...asGke(list), protoPayload: { serviceName: 'compute.googleapis.com', methodName: 'v1.compute.instances.insert' } };
    expect(parseGkeRecord(gce, origin).kind).toBe('skipped');
    const events = { ...asGke(list), logName: 'projects/p/logs/events' };
    expect(parseGkeRecord(events, origin)).toEqual({ kind: 'skipped', skip: { origin: { ...origin, recordId: 'op-1' }, reason: 'not-audit', detail: 'log projects/p/logs/events' } });
  });

  it('reads the Go-client dump through its AuditPayload JSON', () => {
    const le = asGke(list);
    const dump = {
      Entry: { Timestamp: le['timestamp'], Labels: le['labels'], InsertID: 'op-1', Operation: le['operation'], LogName: 'projects/p/logs/cloudaudit.googleapis.com/data_access', Resource: le['resource'], Payload: { method_name: 'x' } },
      AuditPayload: JSON.stringify(le['protoPayload']),
    };
    const e = event(parseGkeRecord(dump, origin));
    expect([e.id, e.verb, e.target.resource, e.cluster]).toEqual(['op-1', 'list', 'secrets', 'gke-prod-1']);
    expect(parseGkeRecord({ Entry: { Payload: {} } }, origin)).toEqual({ kind: 'rejected', rejection: { origin, reason: 'unknown-shape', detail: 'Go-client LogEntry dump has no AuditPayload JSON' } });
  });
});
