import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import { Engine } from '../../core/engine/engine.js';
import { asAks, asEks, asGke, k8sEvent, type K8sEventInit } from '../../examples/audit-records.js';
import type { Finding } from '../../core/model/finding.js';
import rule from '../../rules/secret-read-by-service-account.js';

function scan(records: readonly unknown[], options?: unknown): Finding[] {
  const engine = new Engine({ rules: [rule], ...(options === undefined ? {} : { ruleOptions: { [rule.id]: options } }) });
  const findings: Finding[] = [];
  records.forEach((record, index) => {
    for (const o of parseAnyRecord(record, { source: 'test', index }, {})) {
      if (o.kind !== 'event') throw new Error(`record ${index} did not parse: ${JSON.stringify(o)}`);
      const r = engine.process(o.event);
      expect(r.errors).toEqual([]);
      findings.push(...r.findings);
    }
  });
  return findings;
}

const POD = { 'authentication.kubernetes.io/credential-id': ['JTI=6f1c2a9e-8d7b-4c5a-9f3e-2d1c0b9a8f7e'], 'authentication.kubernetes.io/pod-name': ['web-7c9d8f6b5-abcde'] };
const read = (init: Partial<K8sEventInit>) =>
  k8sEvent({ verb: 'get', resource: 'secrets', user: 'system:serviceaccount:shop:web', extra: POD, sourceIPs: ['10.0.3.14'], userAgent: 'web/v1 (linux/amd64) kubernetes/v0.30.2', ...init });
const severityOf = (init: Partial<K8sEventInit>): string | null => scan([asEks(read(init))])[0]?.severity ?? null;

describe('secret-read-by-service-account', () => {
  it('rates by scope: own namespace low, another high, all namespaces critical', () => {
    expect([
      severityOf({ namespace: 'shop', name: 'db' }),
      severityOf({ verb: 'list', namespace: 'shop' }),
      severityOf({ namespace: 'billing', name: 'db' }),
      severityOf({ verb: 'list', namespace: 'billing' }),
      severityOf({ verb: 'list' }),
    ]).toEqual(['low', 'low', 'high', 'high', 'critical']);
  });

  it('rates a denied read one step lower, never below low', () => {
    expect([
      severityOf({ namespace: 'shop', name: 'db', code: 403 }),
      severityOf({ namespace: 'billing', name: 'db', code: 403 }),
      severityOf({ verb: 'list', code: 403 }),
      severityOf({ namespace: 'billing', name: 'db', code: 404 }),
    ]).toEqual(['low', 'medium', 'high', 'high']);
  });

  it('says what it saw in the summary and facts', () => {
    const [f] = scan([asEks(read({ verb: 'list', namespace: 'billing' }))]);
    expect(f!.summary).toBe('system:serviceaccount:shop:web list every secret in namespace billing (namespace billing, not its own (shop)) in the cluster from 10.0.3.14 with web/v1 (linux/amd64) kubernetes/v0.30.2');
    expect(f!.facts).toEqual({
      serviceAccount: 'shop:web', scope: 'namespace', crossNamespace: true, namespace: 'billing', podName: 'web-7c9d8f6b5-abcde',
      podBinding: 'bound', denied: false, outsidePod: [], unverified: [],
    });
  });

  it('does not read a GKE credential-id label without a pod name as an unbound token', () => {
    // GKE copies only the credential id into its labels and logs no groups: the pod claim is unknown, not missing.
    const [f] = scan([asGke(read({ namespace: 'shop', name: 'db' }))]);
    expect([f!.severity, f!.facts['podBinding'], f!.facts['unverified']]).toEqual(['low', 'not-logged', ['pod-name claim not logged']]);
  });

  describe('allowlist on a cloud that logs no pod-name claim', () => {
    const allow = { allow: [{ serviceAccount: 'velero:velero', podNamePrefix: 'velero-', userAgentPrefix: 'velero-server/' }] };
    const velero = (userAgent: string) => asGke(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:velero:velero', namespace: 'shop', userAgent }));

    it('applies through userAgentPrefix', () => {
      expect(scan([velero('velero-server/v1.13.0 (linux/amd64) 76670e940')], allow)).toEqual([]);
    });

    it('does not apply by name alone, and says why', () => {
      const [f] = scan([velero('kubectl/v1.30.2 (linux/amd64) kubernetes/3968350')], allow);
      expect(f!.severity).toBe('high');
      expect(f!.facts['unverified']).toEqual([
        'field selector not logged',
        'pod-name claim not logged',
        'allowlist velero:velero: pod-name claim not logged and no userAgentPrefix of the allowlist entry matches',
      ]);
    });
  });

  it('reports an allowlisted controller\'s pod token replayed from another address', () => {
    const cm = (ip: string, t: string) =>
      asAks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:cert-manager:cert-manager', namespace: `ns-${ip}`, sourceIPs: [ip], time: t,
        extra: { 'authentication.kubernetes.io/pod-name': ['cert-manager-7d9f8b6c5-x2x4p'] } }), { form: 'diagnostic' });
    const findings = scan([cm('10.244.0.12', '2026-03-02T09:00:00Z'), cm('10.244.0.12', '2026-03-02T09:01:00Z'), cm('203.0.113.9', '2026-03-02T09:02:00Z')]);
    expect(findings.map((f) => [f.severity, f.facts['outsidePod']])).toEqual([
      ['high', ['source 203.0.113.9 is not the address of pod cert-manager-7d9f8b6c5-x2x4p (10.244.0.12)']],
    ]);
  });

  it('does not trust a controller name used with another client', () => {
    const f = scan([asEks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:kube-system:namespace-controller', namespace: 'payments', userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' }))]);
    expect(f.map((x) => x.severity)).toEqual(['high']);
  });
});
