import { describe, expect, it } from 'vitest';
import { addressesIn } from '../../../core/detection/address-book.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { BoundedHistory } from '../../../core/engine/history.js';

const KUBELET = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';
const APP = 'billing-api/v2.4.1 (linux/amd64) kubernetes/v0.30.2';
const LAPTOP = 'kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350';

interface Init {
  id: string;
  user?: string;
  cluster?: string;
  ip?: string;
  ua?: string;
  pod?: string;
}

function event(init: Init): AuditEvent {
  return {
    kind: 'audit',
    id: init.id,
    cloud: 'eks',
    ...(init.cluster === undefined ? {} : { cluster: init.cluster }),
    time: '2026-03-02T09:00:00Z',
    verb: 'get',
    user: init.user === undefined ? {} : { name: init.user },
    auth: init.pod === undefined ? { method: 'serviceaccount-token' } : { method: 'serviceaccount-token', podName: init.pod },
    sourceIPs: init.ip === undefined ? [] : [init.ip],
    ...(init.ua === undefined ? {} : { userAgent: init.ua }),
    target: { resource: 'secrets', namespace: 'shop', name: 'db' },
    outcome: { result: 'success', code: 200 },
    truncated: false,
    origin: { source: 'test' },
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('address book', () => {
  it('lists kubelet addresses in first-seen order without the current request', () => {
    const h = new BoundedHistory();
    const node = 'system:node:n1';
    h.record(event({ id: 'a', user: node, ip: '10.0.0.2', ua: KUBELET }));
    h.record(event({ id: 'b', user: node, ip: '10.0.0.1', ua: KUBELET }));
    h.record(event({ id: 'c', user: node, ip: '10.0.0.2', ua: KUBELET }));
    h.record(event({ id: 'd', user: node, ip: '198.51.100.7', ua: 'curl/8.5.0' }));
    expect(h.clientAddresses(event({ id: 'x', user: node }), 'kubelet')).toEqual(['10.0.0.2', '10.0.0.1']);
    // The first 10.0.0.2 belongs to the current request (another stage of it): the address now ranks after 10.0.0.1.
    expect(h.clientAddresses(event({ id: 'a', user: node }), 'kubelet')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(h.clientAddresses(event({ id: 'b', user: node }), 'kubelet')).toEqual(['10.0.0.2']);
    expect(h.clientAddresses(event({ id: 'x', user: node, cluster: 'other' }), 'kubelet')).toEqual([]);
  });

  it('keeps pod channels apart and leaves out clients that do not run in a pod', () => {
    const h = new BoundedHistory();
    const sa = 'system:serviceaccount:billing:api';
    h.record(event({ id: 'a', user: sa, ip: '10.0.3.14', ua: APP, pod: 'api-1' }));
    h.record(event({ id: 'b', user: sa, ip: '10.0.3.15', ua: APP, pod: 'api-2' }));
    h.record(event({ id: 'c', user: sa, ip: '203.0.113.77', ua: LAPTOP, pod: 'api-1' }));
    h.record(event({ id: 'd', user: sa, ip: '10.0.3.16', ua: APP }));
    const current = event({ id: 'x', user: sa });
    expect(h.clientAddresses(current, { pod: 'api-1' })).toEqual(['10.0.3.14']);
    expect(h.clientAddresses(current, { pod: 'api-2' })).toEqual(['10.0.3.15']);
    expect(h.clientAddresses(current, 'kubelet')).toEqual([]);
  });

  it('forgets the addresses of requests that left the history window', () => {
    const h = new BoundedHistory(2, 10);
    const node = 'system:node:n1';
    h.record(event({ id: 'a', user: node, ip: '10.0.0.1', ua: KUBELET }));
    h.record(event({ id: 'b', user: node, ip: '10.0.0.2', ua: KUBELET }));
    h.record(event({ id: 'c', user: node, ip: '10.0.0.1', ua: KUBELET }));
    // a left: 10.0.0.1 now first appears after 10.0.0.2.
    expect(h.clientAddresses(event({ id: 'x', user: node }), 'kubelet')).toEqual(['10.0.0.2', '10.0.0.1']);
    h.record(event({ id: 'd', user: node, ip: '10.0.0.3', ua: 'curl/8.5.0' }));
    expect(h.clientAddresses(event({ id: 'x', user: node }), 'kubelet')).toEqual(['10.0.0.1']);
  });

  it('forgets a user dropped to make room for another', () => {
    const h = new BoundedHistory(4, 1);
    h.record(event({ id: 'a', user: 'system:node:n1', ip: '10.0.0.1', ua: KUBELET }));
    h.record(event({ id: 'b', user: 'system:node:n2', ip: '10.0.0.2', ua: KUBELET }));
    expect(h.clientAddresses(event({ id: 'x', user: 'system:node:n1' }), 'kubelet')).toEqual([]);
    expect(h.clientAddresses(event({ id: 'x', user: 'system:node:n2' }), 'kubelet')).toEqual(['10.0.0.2']);
  });

  it('answers as the scan of sameUser does, over random histories with both bounds reached', () => {
    const next = random(20260302);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const users = ['system:node:n1', 'system:node:n2', 'system:serviceaccount:a:b', 'system:serviceaccount:c:d'];
    const clusters = [undefined, 'prod'];
    const ips = [undefined, '10.0.0.1', '10.0.0.2', '10.0.0.3', '203.0.113.9'];
    const uas = [undefined, KUBELET, APP, LAPTOP, 'curl/8.5.0'];
    const pods = [undefined, 'p1', 'p2'];
    const h = new BoundedHistory(5, 5);
    let mismatches = 0;
    let several = 0;
    for (let i = 0; i < 3000; i++) {
      // Few ids, so that earlier stages of the current request are often in the window.
      const id = `r${Math.floor(next() * 40)}`;
      const e = event({ id, user: pick(users), cluster: pick(clusters), ip: pick(ips), ua: pick(uas), pod: pick(pods) });
      for (const channel of ['kubelet', { pod: 'p1' }, { pod: 'p2' }] as const) {
        const want = addressesIn(h.sameUser(e), e, channel);
        const got = h.clientAddresses(e, channel);
        if (JSON.stringify(got) !== JSON.stringify(want)) mismatches++;
        if (want.length > 1) several++;
      }
      h.record(e);
    }
    expect(mismatches).toBe(0);
    // The comparison saw many answers with several addresses, where order matters.
    expect(several).toBeGreaterThan(200);
  });
});
