import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import { Engine } from '../../core/engine/engine.js';
import { asEks, asGke, k8sEvent, type K8sEventInit } from '../../examples/audit-records.js';
import type { Finding } from '../../core/model/finding.js';
import rule from '../../rules/secret-read-by-node.js';

function scan(records: readonly unknown[]): Finding[] {
  const engine = new Engine({ rules: [rule] });
  const findings: Finding[] = [];
  records.forEach((record, index) => {
    for (const o of parseAnyRecord(record, { source: 'test', index }, { cluster: 'prod-1' })) {
      if (o.kind !== 'event') throw new Error(`record ${index} did not parse: ${JSON.stringify(o)}`);
      const r = engine.process(o.event);
      expect(r.errors).toEqual([]);
      findings.push(...r.findings);
    }
  });
  return findings;
}

const NODE = 'system:node:ip-10-0-1-23.eu-west-1.compute.internal';
const KUBELET = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';
const read = (init: Partial<K8sEventInit>) =>
  k8sEvent({ verb: 'get', resource: 'secrets', user: NODE, namespace: 'shop', name: 'db', sourceIPs: ['10.0.1.23'], userAgent: KUBELET, ...init });

describe('secret-read-by-node', () => {
  it('summarises a kubectl read with what it saw and what it could not check', () => {
    const [f] = scan([asEks(read({ userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350', sourceIPs: ['198.51.100.7'] }))]);
    expect(f!.severity).toBe('high');
    expect(f!.cluster).toBe('prod-1');
    expect(f!.summary).toBe(
      `${NODE} get secret shop/db in prod-1 from 198.51.100.7 with kubectl/v1.30.2 (linux/amd64) kubernetes/3968350: user agent is not the kubelet's: kubectl/v1.30.2 (linux/amd64) kubernetes/3968350`,
    );
    expect(f!.facts).toEqual({
      node: 'ip-10-0-1-23.eu-west-1.compute.internal', scope: 'single', namespace: 'shop', name: 'db', selector: 'get', denied: false,
      anomalies: ["user agent is not the kubelet's: kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"],
      unverified: ['node address: no earlier kubelet request from this node in the scan to compare with'],
    });
  });

  it('keeps the kubelet quiet from the address it used before', () => {
    expect(scan([asEks(read({ time: '2026-03-02T09:00:00Z' })), asEks(read({ name: 'tls', time: '2026-03-02T09:01:00Z' }))])).toEqual([]);
  });

  it('says when the user agent was not logged', () => {
    const raw = read({ verb: 'list', name: undefined }) as Record<string, unknown>;
    delete raw['userAgent'];
    const [f] = scan([asEks(raw as ReturnType<typeof read>)]);
    expect([f!.severity, f!.facts['unverified']]).toEqual([
      'high',
      ['user agent not logged', 'node address: no earlier kubelet request from this node in the scan to compare with'],
    ]);
  });

  it('recognises a GKE single-name watch by its object name and a GKE namespace list as a namespace list', () => {
    expect(scan([asGke(read({ verb: 'watch' }))])).toEqual([]);
    const [f] = scan([asGke(read({ verb: 'list', name: undefined }))]);
    expect([f!.severity, f!.facts['scope'], f!.facts['unverified']]).toEqual([
      'high', 'namespace', ['field selector not logged', 'node address: no earlier kubelet request from this node in the scan to compare with'],
    ]);
  });

  it('alerts once for a list logged at two stages', () => {
    const started = read({ verb: 'list', name: undefined, stage: 'ResponseStarted', auditID: '22222222-3333-4444-8555-666666666666' });
    expect(scan([asEks(started), asEks({ ...started, stage: 'ResponseComplete' })]).map((f) => f.event.id)).toEqual(['22222222-3333-4444-8555-666666666666']);
  });
});
