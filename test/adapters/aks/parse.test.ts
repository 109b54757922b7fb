import { describe, expect, it } from 'vitest';
import { parse, parseAksAuditRow, parseAksRecord, parseAzureDiagnosticsRow } from '../../../adapters/aks/parse.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { asAks, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

const origin = { source: 'aks.json', index: 3 };
const get = k8sEvent({ verb: 'get', user: 'system:node:aks-nodepool1-1', resource: 'secrets', namespace: 'kube-system', name: 'token', auditID: 'g1' });
const event = (o: ParseOutcome): AuditEvent => {
  if (o.kind !== 'event') throw new Error(`expected an audit event, got ${JSON.stringify(o)}`);
  return o.event;
};

describe('aks parse', () => {
  it('reads a diagnostic record with a newline-terminated string log', () => {
    const rec = asAks(get, { cluster: 'Prod-West' });
    expect(((rec['properties'] as Record<string, string>)['log'] ?? '').endsWith('\n')).toBe(true);
    const e = event(parseAksRecord(rec, origin));
    expect([e.cloud, e.cluster, e.id, e.verb, e.target.name, e.auth.method]).toEqual(['aks', 'prod-west', 'g1', 'get', 'token', 'node']);
  });

  it('reads a diagnostic record whose log is an object', () => {
    const rec = { ...asAks(get), properties: { log: get } };
    expect(event(parseAksRecord(rec, origin)).id).toBe('g1');
  });

  it('skips other categories and rejects klog text in an audit category', () => {
    const other = { ...asAks(get), category: 'kube-apiserver', properties: { log: 'I0302 09:00:00.1 1 x.go:1] hi\n' } };
    expect(parseAksRecord(other, origin)).toEqual({ kind: 'skipped', skip: { origin, reason: 'other-category', detail: 'category kube-apiserver' } });
    const klog = { ...asAks(get), properties: { log: 'I0302 text\n' } };
    expect(parseAksRecord(klog, origin)).toEqual({ kind: 'rejected', rejection: { origin, reason: 'malformed-json', detail: 'log is not JSON: I0302 text' } });
  });

  it('salvages a log cut at 16 KiB, timed by the record', () => {
    const bigCreate = k8sEvent({ verb: 'create', user: 'eve@contoso.com', resource: 'configmaps', namespace: 'x', name: 'big', requestObject: { data: { v: 'y'.repeat(20_000) } } });
    const rec = asAks(bigCreate);
    const log = (rec['properties'] as Record<string, string>)['log']!;
    const cut = { ...rec, properties: { log: log.slice(0, 16 * 1024) } };
    const e = event(parseAksRecord(cut, origin));
    expect([e.truncated, e.verb, e.user.name, e.target.name, e.time, e.requestObject]).toEqual([true, 'create', 'eve@contoso.com', 'big', '2026-03-02T09:00:00.000000Z', undefined]);
  });

  it('reads AzureDiagnostics rows and skips their other categories', () => {
    const row = asAks(get, { form: 'azure-diagnostics', cluster: 'blue' });
    expect(event(parseAzureDiagnosticsRow({ ...row, _TimeReceived: '2026-03-02T09:03:00Z' }, origin)).ingestedAt).toBe('2026-03-02T09:03:00Z');
    expect(parseAzureDiagnosticsRow({ ...row, Category: 'guard' }, origin).kind).toBe('skipped');
  });

  it('reads AKSAudit rows with dynamic columns as JSON strings or objects, and the size marker', () => {
    const row = asAks(get, { form: 'aksaudit', cluster: 'green' });
    const e = event(parseAksAuditRow(row, origin));
    expect([e.cluster, e.id, e.user.groups, e.target, e.decision, e.sourceIPs]).toEqual([
      'green',
      'g1',
      ['system:nodes', 'system:authenticated'],
      { apiGroup: '', apiVersion: 'v1', resource: 'secrets', namespace: 'kube-system', name: 'token' },
      'allow',
      ['203.0.113.24'],
    ]);
    const objects = { ...row, User: { username: 'u' }, ObjectRef: { resource: 'pods' }, ResponseObject: 'skipped-too-big-size-object' };
    const o = event(parse(objects, origin));
    expect([o.user.name, o.target.resource, o.truncated, o.responseObject]).toEqual(['u', 'pods', true, 'skipped-too-big-size-object']);
  });
});
