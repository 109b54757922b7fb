import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../core/model/event.js';
import { matchesNeeds, matchesUnion, unionNeeds } from '../../../core/model/needs.js';
import type { AnyRule, RuleNeeds } from '../../../core/model/rule.js';

function event(init: { user?: string; userAgent?: string; resource?: string; verb?: string; subresource?: string }): AuditEvent {
  return {
    kind: 'audit', id: 'e1', cloud: 'eks', cluster: 'c1', time: '2026-03-02T09:00:00Z', verb: init.verb ?? 'get',
    user: init.user === undefined ? {} : { name: init.user }, auth: { method: 'unknown' }, sourceIPs: ['10.0.0.1'],
    ...(init.userAgent === undefined ? {} : { userAgent: init.userAgent }),
    target: { resource: init.resource ?? 'pods', ...(init.subresource === undefined ? {} : { subresource: init.subresource }) },
    outcome: { result: 'success', code: 200 }, truncated: false, origin: { source: 'test' },
  };
}

const NODE_OFF: RuleNeeds = { resources: ['pods', 'configmaps'], userPrefixes: ['system:node:'], excludeUserAgentPrefixes: ['kubelet/'] };
const KUBELET = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';

describe('matchesNeeds', () => {
  it('narrows by user-name prefix, case-sensitively, and needs a user name', () => {
    const cases: Array<[string | undefined, boolean]> = [
      ['system:node:n1', true],
      ['system:nodes', false],
      ['System:Node:n1', false],
      ['alice@example.com', false],
      [undefined, false],
    ];
    expect(cases.map(([user]) => matchesNeeds(NODE_OFF, event(user === undefined ? { userAgent: 'curl/8' } : { user, userAgent: 'curl/8' })))).toEqual(cases.map(([, want]) => want));
  });

  it('drops excluded user agents but keeps a request without one', () => {
    const agents: Array<[string | undefined, boolean]> = [
      [KUBELET, false],
      ['kubelet/anything', false],
      ['Kubelet/v1.30.2', true],
      ['kubectl/v1.30.2', true],
      ['node-problem-detector/v0.8.19', true],
      ['', true],
      [undefined, true],
    ];
    expect(agents.map(([ua]) => matchesNeeds(NODE_OFF, event({ user: 'system:node:n1', ...(ua === undefined ? {} : { userAgent: ua }) })))).toEqual(
      agents.map(([, want]) => want),
    );
  });

  it('leaves rules without the new fields unchanged', () => {
    const secrets: RuleNeeds = { resources: ['secrets'], subresources: [''], verbs: ['get'] };
    expect(matchesNeeds(secrets, event({ resource: 'secrets', userAgent: KUBELET, user: 'system:node:n1' }))).toBe(true);
    expect(matchesNeeds(secrets, event({ resource: 'secrets' }))).toBe(true);
    expect(matchesNeeds(secrets, event({ resource: 'secrets', subresource: 'status' }))).toBe(false);
  });
});

describe('matchesUnion', () => {
  const rules = [{ needs: NODE_OFF }, { needs: { resources: ['pods'], subresources: [''], verbs: ['create'] } }] as unknown as AnyRule[];
  const union = unionNeeds(rules);

  it('matches some rule\'s exact needs when the union carries them', () => {
    expect(matchesUnion(union, event({ user: 'system:node:n1', userAgent: KUBELET, verb: 'list' }))).toBe(false);
    expect(matchesUnion(union, event({ user: 'system:node:n1', userAgent: 'curl/8', verb: 'list' }))).toBe(true);
    expect(matchesUnion(union, event({ user: 'system:node:n1', userAgent: KUBELET, verb: 'create' }))).toBe(true);
    expect(matchesUnion(union, event({ user: 'alice', verb: 'get', resource: 'configmaps' }))).toBe(false);
  });

  it('keeps the per-resource map as an over-approximation', () => {
    expect(union.resources.get('pods')).toEqual({});
    const legacy = { resources: union.resources };
    expect(matchesUnion(legacy, event({ user: 'system:node:n1', userAgent: KUBELET, verb: 'list' }))).toBe(true);
    expect(matchesUnion(legacy, event({ user: 'alice', verb: 'get', resource: 'configmaps' }))).toBe(true);
    expect(matchesUnion(legacy, event({ user: 'alice', verb: 'get', resource: 'secrets' }))).toBe(false);
  });
});
