import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import { Engine } from '../../core/engine/engine.js';
import { ConfigError } from '../../core/model/errors.js';
import { asAks, asEks, asGke, k8sEvent, type K8sEventInit } from '../../examples/audit-records.js';
import type { Finding } from '../../core/model/finding.js';
import rule from '../../rules/secret-sweep.js';

const BASE = Date.parse('2026-03-02T09:00:00.000Z');
const at = (s: number): string => new Date(BASE + s * 1000).toISOString();

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

const get = (i: number, init: Partial<K8sEventInit> = {}) =>
  k8sEvent({ verb: 'get', resource: 'secrets', user: 'jane@example.com', namespace: `ns-${i % 4}`, name: `s-${i}`, time: at(i * 10), auditID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ...init });

describe('secret-sweep', () => {
  it('reports on reaching the threshold and on each further multiple, not on every read', () => {
    const findings = scan(Array.from({ length: 25 }, (_, i) => asEks(get(i))));
    expect(findings.map((f) => [f.event.id, f.severity, f.facts['distinctSecrets']])).toEqual([
      ['00000000-0000-4000-8000-000000000009', 'high', 10],
      ['00000000-0000-4000-8000-000000000019', 'high', 20],
    ]);
    expect(findings[0]!.summary).toBe('jane@example.com read 10 distinct secrets within 10 minutes in the cluster from 203.0.113.24 with kubectl/v1.30.2 (linux/amd64) kubernetes/3968350');
    expect(findings[0]!.facts['units']).toEqual(['ns-0/s-0', 'ns-0/s-4', 'ns-0/s-8', 'ns-1/s-1', 'ns-1/s-5', 'ns-1/s-9', 'ns-2/s-2', 'ns-2/s-6', 'ns-3/s-3', 'ns-3/s-7']);
  });

  it('takes the threshold from the options', () => {
    const findings = scan(Array.from({ length: 4 }, (_, i) => asGke(get(i))), { threshold: 3 });
    expect(findings.map((f) => [f.event.id, f.facts['distinctSecrets'], f.facts['threshold']])).toEqual([['00000000-0000-4000-8000-000000000002', 3, 3]]);
  });

  it('counts only reads inside the window', () => {
    // 10 reads 90 s apart span 13.5 minutes: never 10 inside 10 minutes, always inside 15.
    const records = Array.from({ length: 10 }, (_, i) => asEks(get(i, { time: at(i * 90) })));
    expect(scan(records)).toEqual([]);
    expect(scan(records, { windowMinutes: 15 }).map((f) => f.facts['distinctSecrets'])).toEqual([10]);
  });

  it('counts a namespace list as one unit and a re-read as none', () => {
    const lists = Array.from({ length: 10 }, (_, i) =>
      asAks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'jane@example.com', namespace: `team-${i}`, time: at(i) }), { form: 'aksaudit' }),
    );
    const rereads = Array.from({ length: 3 }, (_, i) => asAks(get(i + 100, { name: 's-0', namespace: 'ns-0' }), { form: 'aksaudit' }));
    const findings = scan([...rereads, ...lists.slice(0, 8)]);
    expect(findings).toEqual([]);
    const more = scan([...rereads, ...lists]);
    expect(more.map((f) => [f.severity, f.facts['distinctSecrets']])).toEqual([['high', 10]]);
    expect(more[0]!.facts['units']).toContain('team-8/*');
  });

  it('rates a sweep whose every read was denied medium', () => {
    const findings = scan(Array.from({ length: 10 }, (_, i) => asEks(get(i, { code: 403 }))));
    expect(findings.map((f) => f.severity)).toEqual(['medium']);
  });

  it('reports an informer\'s cluster-wide list and not the watch that follows it', () => {
    const list = k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:tools:scanner', requestURI: '/api/v1/secrets?limit=500&resourceVersion=0', time: at(0) });
    const watch = k8sEvent({ verb: 'watch', resource: 'secrets', user: 'system:serviceaccount:tools:scanner', requestURI: '/api/v1/secrets?allowWatchBookmarks=true&resourceVersion=1&watch=true', time: at(1) });
    expect(scan([asEks(list), asEks(watch)]).map((f) => [f.event.verb, f.severity, f.facts['pattern']])).toEqual([['list', 'critical', 'all-namespaces']]);
    expect(scan([asEks(watch)]).map((f) => [f.event.verb, f.severity])).toEqual([['watch', 'critical']]);
  });

  it('alerts once for a request logged at two stages', () => {
    const started = k8sEvent({ verb: 'list', resource: 'secrets', user: 'jane@example.com', stage: 'ResponseStarted', auditID: '11111111-2222-4333-8444-555555555555' });
    const complete = { ...started, stage: 'ResponseComplete' };
    expect(scan([asEks(started), asEks(complete)]).map((f) => f.event.id)).toEqual(['11111111-2222-4333-8444-555555555555']);
  });

  describe('allowlist', () => {
    const velero = (extra: Record<string, string[]>) =>
      asEks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:velero:velero', extra, userAgent: 'velero-server/v1.13.0 (linux/amd64) 76670e940' }));
    const allow = { allow: [{ serviceAccount: 'velero:velero', podNamePrefix: 'velero-' }] };

    it('trusts a configured controller from its own pod', () => {
      expect(scan([velero({ 'authentication.kubernetes.io/pod-name': ['velero-6c5d4f7b8-abcde'] })], allow)).toEqual([]);
    });

    it('does not trust the same service account with a token bound to no pod', () => {
      const f = scan([velero({ 'authentication.kubernetes.io/credential-id': ['JTI=0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a'] })], allow);
      expect(f.map((x) => x.severity)).toEqual(['critical']);
    });

    it('drops the default controllers when defaultAllowlist is false', () => {
      const eso = asEks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:external-secrets:external-secrets', extra: { 'authentication.kubernetes.io/pod-name': ['external-secrets-5b8c7d9f6-q7w8e'] } }));
      expect(scan([eso])).toEqual([]);
      expect(scan([eso], { defaultAllowlist: false }).map((x) => x.severity)).toEqual(['critical']);
    });
  });

  it('refuses invalid options with the option\'s name', () => {
    expect(() => scan([], { threshold: 1 })).toThrow(ConfigError);
    expect(() => scan([], { threshold: 1 })).toThrow(/rules\.secret-sweep\.threshold/);
    expect(() => scan([], { allow: [{ serviceAccount: 'velero', podNamePrefix: 'velero-' }] })).toThrow(/rules\.secret-sweep\.allow\.0\.serviceAccount: expected <namespace>:<name>/);
  });
});

describe('secret-sweep counts as events arrive', () => {
  it('finds a slow sweep hidden among more of the same identity\'s requests than history keeps of it', () => {
    // 200 re-reads of one Secret (ns-0/config, itself one unit) between new ones push the earlier
    // reads out of the identity's 128 most recent events in history; the rule's own count keeps them.
    const records: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      records.push(asEks(get(i, { time: at(i * 30) })));
      for (let j = 0; j < 200; j++) {
        records.push(asEks(get(1000 + i * 200 + j, { name: 'config', namespace: 'ns-0', time: at(i * 30 + 1) })));
      }
    }
    const findings = scan(records);
    expect(findings.map((f) => [f.event.id, f.facts['distinctSecrets']])).toEqual([['00000000-0000-4000-8000-000000000008', 10]]);
  });

  it('counts reads delivered out of time order, in both directions of the window', () => {
    const order = [5, 0, 9, 1, 8, 2, 7, 3, 6, 4];
    const findings = scan(order.map((i) => asEks(get(i))));
    expect(findings.map((f) => [f.event.id, f.facts['distinctSecrets']])).toEqual([['00000000-0000-4000-8000-000000000004', 10]]);
  });

  it('judges a read without rescanning the identity\'s history', () => {
    const engine = new Engine({ rules: [rule] });
    let scans = 0;
    const events = Array.from({ length: 30 }, (_, i) => parseAnyRecord(asEks(get(i)), { source: 'test', index: i }, {})[0]!).map((o) => {
      if (o.kind !== 'event') throw new Error('did not parse');
      return o.event;
    });
    const history = (engine as unknown as { history: { sameUser: (e: unknown) => unknown } }).history;
    const sameUser = history.sameUser.bind(history);
    history.sameUser = (e) => {
      scans++;
      return sameUser(e);
    };
    const found = events.flatMap((e) => engine.process(e).findings);
    expect(found.map((f) => f.facts['distinctSecrets'])).toEqual([10, 20, 30]);
    expect(scans).toBe(0);
  });
});
