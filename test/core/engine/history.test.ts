import { describe, expect, it } from 'vitest';
import { addressesIn } from '../../../core/detection/address-book.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { BoundedHistory, estimateEventBytes } from '../../../core/engine/history.js';
import { secretGet } from '../../helpers/scripted-source.js';

const T = Date.parse('2026-03-02T09:00:00Z');
const kubeletRead = (i: number, user: string, ip: string): AuditEvent => ({
  ...secretGet({ time: T + i, user }),
  userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
  sourceIPs: [ip],
});

describe('history bounded in bytes', () => {
  it('stays within its byte bound however many users and objects it sees', () => {
    const bound = 1024 * 1024;
    const h = new BoundedHistory(128, 50_000, bound);
    let max = 0;
    for (let i = 0; i < 20_000; i++) {
      h.record(kubeletRead(i, `system:node:n-${i % 5_000}`, `10.0.${(i >> 8) & 255}.${i & 255}`));
      max = Math.max(max, h.bytes);
    }
    expect(max).toBeLessThanOrEqual(bound + 2 * estimateEventBytes(kubeletRead(0, 'system:node:n-0', '10.0.0.0')) + 2_000);
    expect(h.size).toBeGreaterThan(100);
    expect(h.size).toBeLessThan(20_000);
  });

  it('keeps the address book in step with what it sheds, and never sheds the key just written', () => {
    const h = new BoundedHistory(128, 50_000, 64 * 1024);
    const events: AuditEvent[] = [];
    for (let i = 0; i < 2_000; i++) {
      const e = kubeletRead(i, `system:node:n-${i % 300}`, `10.1.${i % 300}.${i % 3}`);
      events.push(e);
      h.record(e);
      // The user just written is still there, with its own request.
      expect(h.sameUser(e).at(-1)).toBe(e);
    }
    for (const e of events.slice(-300)) {
      const probe = { ...e, id: 'probe' };
      expect(h.clientAddresses(probe, 'kubelet')).toEqual(addressesIn(h.sameUser(probe), probe, 'kubelet'));
    }
  });

  it('never takes a suspect address into the address book', () => {
    const h = new BoundedHistory();
    h.record(kubeletRead(1, 'system:node:a', '10.0.0.1'));
    const stolen = kubeletRead(2, 'system:node:a', '203.0.113.9');
    h.record(stolen, true);
    expect(h.clientAddresses({ ...stolen, id: 'next' }, 'kubelet')).toEqual(['10.0.0.1']);
    expect(h.suspect(stolen)).toBe(true);
  });
});

describe('objects indexed only for the rules that read them', () => {
  const read = (i: number): AuditEvent => ({ ...secretGet({ time: T + i, user: 'system:node:n-1' }), target: { resource: 'secrets', namespace: 'default', name: 'db-password' } });

  it('keeps a Secret by object only when a rule reading sameObject needs Secrets', () => {
    const all = new BoundedHistory();
    const csrOnly = new BoundedHistory(128, 50_000, undefined, new Set(['certificatesigningrequests']));
    for (let i = 0; i < 3; i++) {
      all.record(read(i));
      csrOnly.record(read(i));
    }
    expect(all.sameObject(read(9))).toHaveLength(3);
    expect(csrOnly.sameObject(read(9))).toEqual([]);
    // The user's history is kept either way, and the object index costs bytes.
    expect(csrOnly.sameUser(read(9))).toHaveLength(3);
    expect(csrOnly.bytes).toBeLessThan(all.bytes);
  });

  it('is what the engine builds from the rules\' declarations', async () => {
    const { Engine } = await import('../../../core/engine/engine.js');
    const { defineRule } = await import('../../../core/model/rule.js');
    const seen: number[] = [];
    const rule = (declares: boolean) =>
      defineRule({
        id: `counts-earlier-${String(declares)}`, title: 't', severity: 'low', mitre: [], description: 'd', whyItMatters: 'w',
        falsePositives: [], runbook: [], references: [], clouds: { k8s: 'full' }, needs: { resources: ['secrets'] },
        ...(declares ? { readsSameObject: true as const } : {}),
        evaluate(_e, ctx) {
          seen.push(ctx.history.sameObject(_e).length);
          return null;
        },
      });
    for (const declares of [true, false]) {
      seen.length = 0;
      const engine = new Engine({ rules: [rule(declares)] });
      for (let i = 0; i < 3; i++) engine.process(read(i));
      expect(seen, `declares ${String(declares)}`).toEqual(declares ? [0, 1, 2] : [0, 0, 0]);
    }
  });
});
