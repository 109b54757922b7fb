import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import { Engine } from '../../core/engine/engine.js';
import { asAks, k8sEvent, type K8sAuditEventJson, type K8sEventInit } from '../../examples/audit-records.js';
import { RULES } from '../../rules/index.js';

const NODE = 'system:node:aks-nodepool1-31718369-vmss000002';
const KUBELET_UA = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';

function request(init: Partial<K8sEventInit>, agent: string | null = KUBELET_UA): K8sAuditEventJson {
  const ev = k8sEvent({ verb: 'get', user: NODE, resource: 'configmaps', namespace: 'kube-system', name: 'coredns', userAgent: agent ?? 'x', ...init });
  if (agent !== null) return ev;
  const { userAgent: _none, ...rest } = ev;
  return rest;
}

/** node-credential-off-node findings (their reasons) for records run through the whole rule set. */
function offNodeReasons(records: readonly unknown[]): unknown[] {
  const engine = new Engine({ rules: RULES });
  const out: unknown[] = [];
  records.forEach((record, index) => {
    for (const o of parseAnyRecord(record, { source: 'test', index })) {
      if (o.kind !== 'event') continue;
      for (const f of engine.process(o.event).findings) if (f.rule === 'node-credential-off-node') out.push(f.facts['reasons']);
    }
  });
  return out;
}

describe('node-credential-off-node with the whole rule set', () => {
  it('learns the node address from a kubelet Secret read another rule needs', () => {
    expect(
      offNodeReasons([
        asAks(request({ resource: 'secrets', namespace: 'default', name: 'app-tls', sourceIPs: ['10.224.0.5'], time: '2026-03-02T09:00:00.000000Z' })),
        asAks(request({ sourceIPs: ['203.0.113.99'], time: '2026-03-02T09:01:00.000000Z' }, null)),
      ]),
    ).toEqual([["source 203.0.113.99 is not one of the node's kubelet addresses (10.224.0.5)"]]);
  });

  it('learns nothing from kubelet traffic no rule needs', () => {
    expect(
      offNodeReasons([
        asAks(request({ verb: 'get', resource: 'nodes', namespace: undefined, name: 'aks-nodepool1-31718369-vmss000002', sourceIPs: ['10.224.0.5'], time: '2026-03-02T09:00:00.000000Z' })),
        asAks(request({ sourceIPs: ['203.0.113.99'], time: '2026-03-02T09:01:00.000000Z' }, null)),
      ]),
    ).toEqual([]);
  });

  it('does not judge a forged kubelet user agent, even from a foreign address', () => {
    expect(
      offNodeReasons([
        asAks(request({ resource: 'secrets', namespace: 'default', name: 'app-tls', sourceIPs: ['10.224.0.5'], time: '2026-03-02T09:00:00.000000Z' })),
        asAks(request({ sourceIPs: ['203.0.113.99'], time: '2026-03-02T09:01:00.000000Z' })),
      ]),
    ).toEqual([]);
  });
});
