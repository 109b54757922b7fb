import { describe, expect, it } from 'vitest';
import { parseAnyLine } from '../../../adapters/file/detect.js';
import { queryOf } from '../../../adapters/k8s/parse.js';
import { shared, sharedQuery, sharedStrings } from '../../../adapters/k8s/shared-values.js';
import type { AuditEvent } from '../../../core/model/event.js';

const watchLine = (auditID: string, stage: string): string =>
  JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID,
    stage,
    requestURI: '/api/v1/namespaces/kube-system/secrets/cfg-23?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dcfg-23&watch=true',
    verb: 'watch',
    user: { username: 'system:node:ip-10-0-1-23', groups: ['system:nodes', 'system:authenticated'] },
    sourceIPs: ['10.0.1.23'],
    userAgent: 'kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7',
    objectRef: { resource: 'secrets', namespace: 'kube-system', name: 'cfg-23', apiVersion: 'v1' },
    requestReceivedTimestamp: '2026-03-02T09:00:00.000000Z',
    stageTimestamp: '2026-03-02T09:00:00.000000Z',
  });

function eventOf(line: string): AuditEvent {
  const [o] = parseAnyLine(line, { source: 'test', line: 1 });
  if (o?.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(o)}`);
  return o.event;
}

describe('values shared between events', () => {
  it('gives two stages of one request (and the next request) one query list, frozen, equal to what URLSearchParams reads', () => {
    const started = eventOf(watchLine('a', 'ResponseStarted'));
    const completed = eventOf(watchLine('a', 'ResponseComplete'));
    const next = eventOf(watchLine('b', 'ResponseStarted'));
    expect(completed.query).toBe(started.query);
    expect(next.query).toBe(started.query);
    expect(started.query).toEqual([
      ['allowWatchBookmarks', 'true'],
      ['fieldSelector', 'metadata.name=cfg-23'],
      ['watch', 'true'],
    ]);
    expect(started.query).toEqual(queryOf(started.requestURI!));
    expect(Object.isFrozen(started.query)).toBe(true);
    expect(Object.isFrozen(started.query![0])).toBe(true);
    expect(() => (started.query as Array<[string, string]>).push(['x', 'y'])).toThrow(TypeError);
    // Everything else is as parsed.
    expect(next.user).toEqual({ name: 'system:node:ip-10-0-1-23', groups: ['system:nodes', 'system:authenticated'] });
    expect(next.stage).toBe('ResponseStarted');
    expect(completed.userAgent).toBe('kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7');
  });

  it('stays correct when values take the slots of others, and what it handed out is unchanged', () => {
    const first = sharedQuery('/api/v1/pods?limit=1', queryOf);
    for (let i = 0; i < 20_000; i++) expect(sharedQuery(`/api/v1/pods?limit=${i}&continue=x`, queryOf).query).toEqual([['limit', String(i)], ['continue', 'x']]);
    expect(first.query).toEqual([['limit', '1']]);
    expect(sharedQuery('/api/v1/pods?limit=1', queryOf).query).toEqual([['limit', '1']]);
    // A query seen once is not frozen; the second time it is shared, and frozen.
    const once = sharedQuery('/api/v1/secrets?watch=true&resourceVersion=42', queryOf);
    expect(Object.isFrozen(once.query)).toBe(false);
    expect(sharedQuery('/api/v1/secrets?watch=true&resourceVersion=42', queryOf).query).toBe(once.query);
    expect(Object.isFrozen(once.query)).toBe(true);
    for (let i = 0; i < 40_000; i++) expect(shared(`value-${i}`)).toBe(`value-${i}`);
    const long = 'x'.repeat(1_000);
    expect(shared(long)).toBe(long);
    expect(shared(undefined)).toBeUndefined();
    expect(sharedStrings(['a', 'b'])).toEqual(['a', 'b']);
  });
});
