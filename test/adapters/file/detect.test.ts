import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseAnyLine, parseAnyRecord } from '../../../adapters/file/detect.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { asAks, asEks, asEksSubscription, asGke, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

const origin = { source: 'test.jsonl', line: 1 };

const csr = k8sEvent({
  verb: 'create',
  user: 'attacker@example.com',
  resource: 'certificatesigningrequests',
  apiGroup: 'certificates.k8s.io',
  name: 'backdoor',
  requestObject: { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', spec: { signerName: 'kubernetes.io/kube-apiserver-client' } },
  auditID: '11111111-2222-4333-8444-555555555555',
});

function only(outcomes: ParseOutcome[]): AuditEvent {
  expect(outcomes.map((o) => o.kind)).toEqual(['event']);
  return (outcomes[0] as { kind: 'event'; event: AuditEvent }).event;
}

const kinds = (outcomes: ParseOutcome[]) =>
  outcomes.map((o) => (o.kind === 'event' ? 'event' : o.kind === 'skipped' ? `skipped:${o.skip.reason}` : o.kind === 'rejected' ? `rejected:${o.rejection.reason}` : o.kind));

describe('file detect: example-record round trip', () => {
  it('parses a raw Event as cloud k8s', () => {
    const e = only(parseAnyRecord(csr, origin));
    expect(e.cloud).toBe('k8s');
    expect(e.cluster).toBeUndefined();
    expect(e.id).toBe('11111111-2222-4333-8444-555555555555');
    expect(e.verb).toBe('create');
    expect(e.user).toEqual({ name: 'attacker@example.com', groups: ['system:authenticated'] });
    expect(e.target).toEqual({ apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'backdoor' });
    expect(e.outcome).toEqual({ result: 'success', code: 201 });
    expect(e.requestURI).toBe('/apis/certificates.k8s.io/v1/certificatesigningrequests/backdoor');
    expect(e.query).toEqual([]);
    expect(e.decision).toBe('allow');
    expect(e.time).toBe('2026-03-02T09:00:00.000000Z');
    expect(e.truncated).toBe(false);
    expect(e.origin).toEqual(origin);
  });

  it('parses an EKS CloudWatch event with the cluster from the hint log group', () => {
    const e = only(parseAnyRecord(asEks(csr), origin, { logGroup: '/aws/eks/prod-eu/cluster' }));
    expect(e.cloud).toBe('eks');
    expect(e.cluster).toBe('prod-eu');
    expect(e.ingestedAt).toBe('2026-03-02T09:00:01.500Z');
    expect(e.target.resource).toBe('certificatesigningrequests');
    expect(e.origin.recordId).toBe(asEks(csr)['eventId']);
  });

  it('parses an EKS subscription payload, decoded and as base64 gzip', () => {
    const payload = asEksSubscription([csr, k8sEvent({ verb: 'get', user: 'system:node:n1', resource: 'secrets', namespace: 'a', name: 's' })], 'prod-us');
    for (const record of [payload, gzipSync(JSON.stringify(payload)).toString('base64'), gzipSync(JSON.stringify(payload))]) {
      const out = parseAnyRecord(record, origin);
      expect(kinds(out)).toEqual(['event', 'event']);
      const events = out.map((o) => (o as { kind: 'event'; event: AuditEvent }).event);
      expect(events.map((e) => [e.cloud, e.cluster, e.verb, e.target.resource, e.origin.index])).toEqual([
        ['eks', 'prod-us', 'create', 'certificatesigningrequests', 0],
        ['eks', 'prod-us', 'get', 'secrets', 1],
      ]);
    }
  });

  it('parses the three AKS forms with the cluster from the resource id', () => {
    for (const form of ['diagnostic', 'azure-diagnostics', 'aksaudit'] as const) {
      const e = only(parseAnyRecord(asAks(csr, { form, cluster: 'AKS-Blue' }), origin));
      expect([form, e.cloud, e.cluster, e.verb, e.id]).toEqual([form, 'aks', 'aks-blue', 'create', '11111111-2222-4333-8444-555555555555']);
      expect(e.target).toEqual({ apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'backdoor' });
      expect(e.requestObject).toEqual(csr['requestObject']);
      expect(e.outcome).toEqual({ result: 'success', code: 201 });
    }
  });

  it('parses a GKE LogEntry', () => {
    const e = only(parseAnyRecord(asGke(csr, { cluster: 'gke-eu' }), origin));
    expect(e.cloud).toBe('gke');
    expect(e.cluster).toBe('gke-eu');
    expect(e.id).toBe('11111111-2222-4333-8444-555555555555');
    expect(e.verb).toBe('create');
    expect(e.user).toEqual({ name: 'attacker@example.com' });
    expect(e.target).toEqual({ apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'backdoor' });
    expect(e.outcome).toEqual({ result: 'success', code: 200 });
    expect(e.requestObject).toEqual(csr['requestObject']);
    expect(e.ingestedAt).toBe('2026-03-02T09:00:02.000Z');
  });

  it('lets the cluster hint override every envelope', () => {
    const hints = { cluster: 'override' };
    const records = [asEks(csr), asAks(csr), asAks(csr, { form: 'aksaudit' }), asGke(csr), csr];
    expect(records.map((r) => only(parseAnyRecord(r, origin, hints)).cluster)).toEqual(['override', 'override', 'override', 'override', 'override']);
  });
});

describe('file detect: envelopes', () => {
  it('expands a CloudWatch export, an AKS records envelope, an EventList and an array', () => {
    expect(kinds(parseAnyRecord({ events: [asEks(csr), asEks(csr)], searchedLogStreams: [] }, origin))).toEqual(['event', 'event']);
    expect(kinds(parseAnyRecord({ records: [asAks(csr), asAks(csr, { category: 'kube-audit-admin' })] }, origin))).toEqual(['event', 'event']);
    expect(kinds(parseAnyRecord({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [csr] }, origin))).toEqual(['event']);
    const out = parseAnyRecord([asGke(csr), asAks(csr, { form: 'azure-diagnostics' })], origin);
    expect(out.map((o) => (o.kind === 'event' ? [o.event.cloud, o.event.origin.index] : o.kind))).toEqual([
      ['gke', 0],
      ['aks', 1],
    ]);
  });

  it('skips a control message and empty envelopes', () => {
    expect(kinds(parseAnyRecord({ messageType: 'CONTROL_MESSAGE', logGroup: '', logStream: '', logEvents: [] }, origin))).toEqual(['skipped:control-message']);
    expect(kinds(parseAnyRecord({ events: [] }, origin))).toEqual(['skipped:empty']);
    expect(kinds(parseAnyRecord([], origin))).toEqual(['skipped:empty']);
  });

  it('rejects values that are no record', () => {
    expect(kinds(parseAnyRecord({ kind: 0 }, origin))).toEqual(['rejected:unknown-shape']);
    expect(kinds(parseAnyRecord(42, origin))).toEqual(['rejected:unknown-shape']);
    expect(kinds(parseAnyRecord(null, origin))).toEqual(['rejected:unknown-shape']);
    expect(kinds(parseAnyRecord('hello', origin))).toEqual(['rejected:unknown-shape']);
    expect(kinds(parseAnyRecord('H4sIAAAA', origin))).toEqual(['rejected:decode-failed']);
  });

  it('stops at deeply nested envelopes', () => {
    let v: unknown = csr;
    for (let i = 0; i < 10; i++) v = [v];
    expect(kinds(parseAnyRecord(v, origin))).toEqual(['rejected:unknown-shape']);
  });
});

describe('file detect: lines', () => {
  it('parses a line, ignores a blank one and rejects malformed JSON', () => {
    expect(kinds(parseAnyLine(JSON.stringify(csr), origin))).toEqual(['event']);
    expect(parseAnyLine('   ', origin)).toEqual([]);
    expect(kinds(parseAnyLine('{"a":', origin))).toEqual(['rejected:malformed-json']);
    expect(kinds(parseAnyLine('I0302 09:00:00.000 1 server.go:1] klog text', origin))).toEqual(['rejected:malformed-json']);
  });

  it('salvages a cut raw Event line only when a timestamp survives', () => {
    const text = JSON.stringify(csr);
    const cut = text.slice(0, text.indexOf('"requestObject"') + 30);
    expect(parseAnyLine(cut, origin)).toEqual([
      { kind: 'rejected', rejection: { origin, reason: 'truncated', detail: `cut after ${cut.length} chars; surviving prefix lacks timestamp` } },
    ]);
    const noBody = JSON.stringify(k8sEvent({ verb: 'list', user: 'u', resource: 'secrets', time: '2026-03-02T10:00:00Z' }));
    const cutLate = noBody.slice(0, noBody.indexOf('"annotations"') + 20);
    const e = only(parseAnyLine(cutLate, origin));
    expect([e.truncated, e.verb, e.user.name, e.target.resource, e.time, e.decision]).toEqual([true, 'list', 'u', 'secrets', '2026-03-02T10:00:00Z', undefined]);
    const early = parseAnyLine(text.slice(0, text.indexOf('"objectRef"') + 20), origin);
    expect(early).toEqual([
      { kind: 'rejected', rejection: { origin, reason: 'truncated', detail: expect.stringContaining('lacks target, timestamp') } },
    ]);
  });

  it('rejects a huge line and deep nesting without throwing', () => {
    expect(kinds(parseAnyLine('x'.repeat(8 * 1024 * 1024 + 1), origin))).toEqual(['rejected:too-large']);
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(kinds(parseAnyLine(deep, origin))).toEqual(['rejected:too-deep']);
  });

  it('keeps __proto__ and constructor keys as plain data', () => {
    const text = JSON.stringify(csr).replace('{"kind":"Event"', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"kind":"Event"');
    const e = only(parseAnyLine(text, origin));
    expect(e.verb).toBe('create');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(kinds(parseAnyLine('{"__proto__":{"events":[1]}}', origin))).toEqual(['rejected:unknown-shape']);
  });
});
