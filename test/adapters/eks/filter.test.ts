import { describe, expect, it } from 'vitest';
import { compileEksFilter, CUT_LINE_PATTERN, FILTER_PATTERN_MAX_LENGTH, withCutLineQuery } from '../../../adapters/eks/filter.js';
import { parseAnyRecord } from '../../../adapters/file/detect.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { k8sEvent } from '../../../examples/audit-records.js';
import { coversCloud, type RuleExample } from '../../../core/model/rule.js';
import { matchesNeeds, matchesUnion, unionNeeds, type NeedsUnion } from '../../../core/model/needs.js';
import { RULES } from '../../../rules/index.js';
import { compilePattern } from '../../fakes/cloudwatch-logs-pattern.js';
import { examplesOf } from '../../helpers/rule-examples.js';

const union = (entries: Array<[string, { subresources?: string[]; verbs?: string[] }]>): NeedsUnion => ({
  resources: new Map(
    entries.map(([r, e]) => {
      const entry: { subresources?: Set<string>; verbs?: Set<string> } = {};
      if (e.subresources !== undefined) entry.subresources = new Set(e.subresources);
      if (e.verbs !== undefined) entry.verbs = new Set(e.verbs);
      return [r, entry];
    }),
  ),
});

/** True when any of the compiled queries downloads this audit event (the fake's real evaluator). */
function downloads(u: NeedsUnion, event: unknown, maxLength?: number): boolean {
  return compileEksFilter(u, maxLength).some((q) => compilePattern(q.pattern)(event));
}

/** The raw audit.k8s.io Event JSON texts inside an example record, for shapes that carry one. */
function auditMessages(record: unknown): string[] {
  if (Array.isArray(record)) return record.flatMap(auditMessages);
  if (record === null || typeof record !== 'object') return [];
  const r = record as Record<string, unknown>;
  if (typeof r['message'] === 'string') return [r['message']];
  if (r['kind'] === 'Event' && String(r['apiVersion']).startsWith('audit.k8s.io/')) return [JSON.stringify(r)];
  if (Array.isArray(r['logEvents'])) return r['logEvents'].flatMap(auditMessages);
  if (Array.isArray(r['events'])) return r['events'].flatMap(auditMessages);
  if (Array.isArray(r['records'])) return r['records'].flatMap(auditMessages);
  const props = r['properties'];
  if (props !== null && typeof props === 'object' && typeof (props as Record<string, unknown>)['log'] === 'string') {
    return [String((props as Record<string, unknown>)['log']).trim()];
  }
  if (typeof r['log_s'] === 'string') return [r['log_s']];
  return [];
}

describe('eks filter', () => {
  it('compiles a union into one grouped JSON pattern', () => {
    const queries = compileEksFilter(
      union([
        ['secrets', { verbs: ['get', 'list', 'watch'] }],
        ['configmaps', { verbs: ['get', 'list', 'watch'] }],
        ['certificatesigningrequests', { subresources: ['', 'approval'], verbs: ['create', 'update'] }],
        ['pods', { subresources: ['exec', 'attach'] }],
        ['tokenreviews', {}],
      ]),
    );
    expect(queries).toEqual([
      {
        pattern:
          '{ ($.objectRef.resource = "certificatesigningrequests" && ($.objectRef.subresource NOT EXISTS || $.objectRef.subresource = "approval") && ($.verb = "create" || $.verb = "update"))' +
          ' || (($.objectRef.resource = "configmaps" || $.objectRef.resource = "secrets") && ($.verb = "get" || $.verb = "list" || $.verb = "watch"))' +
          ' || ($.objectRef.resource = "pods" && ($.objectRef.subresource = "attach" || $.objectRef.subresource = "exec"))' +
          ' || $.objectRef.resource = "tokenreviews" }',
      },
    ]);
  });

  it('keeps exactly what the union keeps', () => {
    const u = union([
      ['certificatesigningrequests', { subresources: ['', 'approval'], verbs: ['create', 'update'] }],
      ['pods', { subresources: ['exec'] }],
    ]);
    const cases: Array<[Parameters<typeof k8sEvent>[0], boolean]> = [
      [{ verb: 'create', user: 'u', resource: 'certificatesigningrequests', name: 'c' }, true],
      [{ verb: 'update', user: 'u', resource: 'certificatesigningrequests', name: 'c', subresource: 'approval' }, true],
      [{ verb: 'update', user: 'u', resource: 'certificatesigningrequests', name: 'c', subresource: 'status' }, false],
      [{ verb: 'get', user: 'u', resource: 'certificatesigningrequests', name: 'c' }, false],
      [{ verb: 'create', user: 'u', resource: 'pods', namespace: 'n', name: 'p', subresource: 'exec' }, true],
      [{ verb: 'get', user: 'u', resource: 'pods', namespace: 'n', name: 'p', subresource: 'exec' }, true],
      [{ verb: 'create', user: 'u', resource: 'pods', namespace: 'n', name: 'p' }, false],
      [{ verb: 'get', user: 'u', resource: 'secrets', namespace: 'n', name: 's' }, false],
    ];
    expect(cases.map(([init]) => downloads(u, k8sEvent(init)))).toEqual(cases.map(([, keep]) => keep));
  });

  it('compiles each rule\'s own needs, not the per-resource cross product', () => {
    const rules = [
      { needs: { resources: ['pods'], subresources: [''], verbs: ['create'] } },
      { needs: { resources: ['pods'], subresources: ['exec'], verbs: ['create', 'get'] } },
    ];
    const u = unionNeeds(rules as unknown as Parameters<typeof unionNeeds>[0]);
    expect(compileEksFilter(u)).toEqual([
      {
        pattern:
          '{ ($.objectRef.resource = "pods" && $.objectRef.subresource NOT EXISTS && $.verb = "create") || ($.objectRef.resource = "pods" && $.objectRef.subresource = "exec" && ($.verb = "create" || $.verb = "get")) }',
      },
    ]);
    const podGet = k8sEvent({ verb: 'get', user: 'u', resource: 'pods', namespace: 'n', name: 'p' });
    expect(downloads(u, podGet)).toBe(false);
    expect(downloads({ resources: u.resources }, podGet)).toBe(true);
  });

  it('reads nothing for an empty union and everything for a value it cannot quote safely', () => {
    expect(compileEksFilter({ resources: new Map() })).toEqual([]);
    expect(compileEksFilter(union([['secrets', { verbs: [] }]]))).toEqual([]);
    expect(compileEksFilter(union([['secrets', { verbs: ['get" || $.verb = "x'] }]]))).toEqual([{}]);
  });

  it('splits a long union into patterns of at most 1,024 characters that keep the same events', () => {
    const entries: Array<[string, { verbs: string[] }]> = Array.from({ length: 60 }, (_, i) => [
      `widgets${i}.example.com`,
      { verbs: i % 2 === 0 ? ['get', 'list'] : [`verb${i}`] },
    ]);
    const u = union(entries);
    const queries = compileEksFilter(u);
    expect(queries.length).toBe(4);
    expect(queries.map((q) => (q.pattern ?? '').length <= FILTER_PATTERN_MAX_LENGTH)).toEqual([true, true, true, true]);
    const probes = entries.flatMap(([resource], i) =>
      ['get', 'list', `verb${i}`, 'delete'].map((verb) => k8sEvent({ verb, user: 'u', resource, name: 'x' })),
    );
    const got = probes.map((e) => queries.some((q) => compilePattern(q.pattern)(e)));
    const want = probes.map((e) => {
      const parsed = parseAnyRecord(e, { source: 't' })[0];
      return parsed?.kind === 'event' && matchesUnion(u, parsed.event);
    });
    expect(got).toEqual(want);
    expect(want.filter(Boolean).length).toBe(90);
  });

  it('splits a single term whose verb list alone is too long', () => {
    const verbs = Array.from({ length: 12 }, (_, i) => `verb${i}`);
    const u = union([['secrets', { subresources: [''], verbs }]]);
    const queries = compileEksFilter(u, 150);
    expect(queries.length).toBe(4);
    expect(queries.every((q) => (q.pattern ?? '').length <= 150)).toBe(true);
    const kept = verbs.map((verb) => downloads(u, k8sEvent({ verb, user: 'u', resource: 'secrets', name: 's' }), 150));
    expect(kept).toEqual(verbs.map(() => true));
    expect(downloads(u, k8sEvent({ verb: 'verb1', user: 'u', resource: 'secrets', name: 's', subresource: 'x' }), 200)).toBe(false);
  });

  it('narrows a rule by user-name prefix and user-agent exclusion, keeping requests without a user agent', () => {
    const rules = [{ needs: { resources: ['configmaps', 'pods'], userPrefixes: ['system:node:'], excludeUserAgentPrefixes: ['kubelet/'] } }];
    const u = unionNeeds(rules as unknown as Parameters<typeof unionNeeds>[0]);
    expect(compileEksFilter(u)).toEqual([
      {
        pattern:
          '{ (($.objectRef.resource = "configmaps" || $.objectRef.resource = "pods") && $.user.username = "system:node:*" && ($.userAgent != "kubelet/*" || $.userAgent NOT EXISTS)) }',
      },
    ]);
    const node = 'system:node:ip-10-0-1-23.ec2.internal';
    const withoutAgent = (init: Parameters<typeof k8sEvent>[0]) => {
      const { userAgent: _none, ...rest } = k8sEvent(init);
      return rest;
    };
    const cases: Array<[unknown, boolean]> = [
      [k8sEvent({ verb: 'list', user: node, resource: 'pods', userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350' }), false],
      [k8sEvent({ verb: 'list', user: node, resource: 'pods', userAgent: 'kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350' }), true],
      [k8sEvent({ verb: 'list', user: node, resource: 'pods', userAgent: 'Kubelet/v1.30.2' }), true],
      [withoutAgent({ verb: 'get', user: node, resource: 'configmaps', namespace: 'kube-system', name: 'coredns' }), true],
      [k8sEvent({ verb: 'list', user: 'system:kube-controller-manager', resource: 'pods', userAgent: 'kube-controller-manager/v1.30.2' }), false],
      [k8sEvent({ verb: 'list', user: 'system:nodes', resource: 'pods' }), false],
      [k8sEvent({ verb: 'get', user: node, resource: 'secrets', namespace: 'a', name: 's' }), false],
    ];
    expect(cases.map(([e]) => downloads(u, e))).toEqual(cases.map(([, keep]) => keep));
    // The same verdicts the engine's dispatch gives, event by event.
    const dispatch = cases.map(([e]) => {
      const parsed = parseAnyRecord(e, { source: 't' })[0];
      return parsed?.kind === 'event' && matchesUnion(u, parsed.event);
    });
    expect(dispatch).toEqual(cases.map(([, keep]) => keep));
  });

  it('splits a narrowed term without losing its user and user-agent constraints', () => {
    const resources = Array.from({ length: 30 }, (_, i) => `widgets${i}.example.com`);
    const u = unionNeeds([{ needs: { resources, userPrefixes: ['system:node:', 'system:kube-proxy'], excludeUserAgentPrefixes: ['kubelet/'] } }] as unknown as Parameters<typeof unionNeeds>[0]);
    const queries = compileEksFilter(u);
    expect(queries.length).toBe(2);
    expect(queries.every((q) => (q.pattern ?? '').length <= FILTER_PATTERN_MAX_LENGTH && (q.pattern ?? '').includes('$.userAgent NOT EXISTS'))).toBe(true);
    const kept = resources.map((resource) => queries.some((q) => compilePattern(q.pattern)(k8sEvent({ verb: 'get', user: 'system:node:n1', resource, name: 'x', userAgent: 'curl/8' }))));
    const dropped = resources.map((resource) => queries.some((q) => compilePattern(q.pattern)(k8sEvent({ verb: 'get', user: 'system:node:n1', resource, name: 'x', userAgent: 'kubelet/v1' }))));
    expect([kept.every(Boolean), dropped.some(Boolean)]).toEqual([true, false]);
  });

  it('the fake reads `*` in `=` and `!=` as a wildcard and matches neither on a missing field', () => {
    const e = { user: { username: 'system:node:n1' }, userAgent: 'kubelet/v1.30.2' };
    const match = (pattern: string, event: unknown) => compilePattern(pattern)(event);
    expect([
      match('{ $.user.username = "system:node:*" }', e),
      match('{ $.user.username = "system:nodes*" }', e),
      match('{ $.userAgent != "kubelet/*" }', e),
      match('{ $.userAgent != "kubectl/*" }', e),
      match('{ $.userAgent != "kubelet/*" }', { user: e.user }),
      match('{ $.userAgent = "kubelet/*" }', { user: e.user }),
      match('{ $.userAgent != "kubelet/*" || $.userAgent NOT EXISTS }', { user: e.user }),
    ]).toEqual([true, false, false, true, false, false, true]);
  });

  describe('never changes a verdict: every event some rule needs passes', () => {
    const whole = unionNeeds(RULES);
    const queries = compileEksFilter(whole);
    const kept = (json: unknown) => queries.some((q) => compilePattern(q.pattern)(json));
    it('the rule set compiles to patterns within the limit', () => {
      expect(queries.every((q) => q.pattern !== undefined && q.pattern.length <= FILTER_PATTERN_MAX_LENGTH)).toBe(true);
      expect(RULES.length === 0 || queries.length > 0).toBe(true);
    });
    for (const rule of RULES) {
      it(rule.id, () => {
        const offenders: string[] = [];
        let checked = 0;
        for (const { example, json, event } of exampleEvents(rule)) {
          const needed = RULES.some((r) => matchesNeeds(r.needs, event));
          // A positive example's events that this rule needs decide its verdict: they must be needed and kept.
          if (example.expect !== null && matchesNeeds(rule.needs, event) && !(needed && kept(json))) offenders.push(`positive ${example.name}: ${event.verb} ${event.requestURI ?? ''}`);
          if (!needed) continue; // no rule can use it: the filter may drop it
          checked++;
          if (!kept(json)) offenders.push(`${example.name}: ${event.verb} ${event.requestURI ?? ''}`);
        }
        expect(offenders).toEqual([]);
        // A rule that claims EKS has EKS-shaped examples (ruleset test), so something must be checked.
        if (coversCloud(rule.clouds, 'eks')) expect(checked).toBeGreaterThan(0);
      });
    }
    it('drops events no rule needs, such as the kubelet\'s own node-credential traffic', () => {
      const rule = RULES.find((r) => r.id === 'node-credential-off-node');
      const dropped = rule === undefined ? [] : exampleEvents(rule).filter(({ json }) => !kept(json)).map(({ example }) => example.name);
      expect(dropped).toEqual([
        'kubelet user agent forged, from an address the node never used (AKS, two records)',
        'kubelet user agent forged, from an address the node never used (AKS, two records)',
        'benign: the kubelet lists its own pods with its user agent (EKS)',
        'benign: kubelet traffic from the same address twice (AKS)',
        'benign: kubelet traffic from the same address twice (AKS)',
      ]);
    });
  });
});

/** Every EKS-parsable audit event of a rule's examples, with the JSON the pattern is run on. */
function exampleEvents(rule: (typeof RULES)[number]) {
  const out: Array<{ example: RuleExample; json: unknown; event: AuditEvent }> = [];
  for (const example of examplesOf(rule)) {
    const records = example.records ?? [example.record];
    for (const text of records.flatMap(auditMessages)) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        continue; // a truncated message is not JSON: no JSON pattern can select it (docs/source-eks.md)
      }
      for (const outcome of parseAnyRecord(json, { source: `example:${example.name}` })) {
        if (outcome.kind === 'event') out.push({ example, json, event: outcome.event });
      }
    }
  }
  return out;
}

describe('eks cut-line query', () => {
  it('is added only when something is read by pattern and a needed request can carry a body', () => {
    const csr = union([['certificatesigningrequests', { verbs: ['create'] }]]);
    const execOnly = union([['pods', { subresources: ['exec', 'attach'] }]]);
    expect(withCutLineQuery(compileEksFilter(csr), csr).map((q) => q.pattern).at(-1)).toBe(CUT_LINE_PATTERN);
    expect(withCutLineQuery(compileEksFilter(execOnly), execOnly).map((q) => q.pattern)).not.toContain(CUT_LINE_PATTERN);
    expect(withCutLineQuery([], csr)).toEqual([]);
    expect(withCutLineQuery([{}], csr)).toEqual([{}]);
    // The fake evaluates the phrase on the raw text: a cut line matches, a whole JSON line does not.
    const line = JSON.stringify(k8sEvent({ verb: 'create', user: 'u', resource: 'certificatesigningrequests', name: 'c' }));
    expect(compilePattern(CUT_LINE_PATTERN)(undefined, `${line.slice(0, 120)}[Truncated...]`)).toBe(true);
    expect(compilePattern(CUT_LINE_PATTERN)(JSON.parse(line), line)).toBe(false);
  });
});
