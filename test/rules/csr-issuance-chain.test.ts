import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import { Engine } from '../../core/engine/engine.js';
import type { AuditEvent } from '../../core/model/event.js';
import { asAks, type K8sAuditEventJson } from '../../examples/audit-records.js';
import chain from '../../rules/csr-issuance-chain.js';
import { csrCreate, csrDecide, csrDelete, csrGet, csrIssue } from '../../rules/data/csr-events.js';
import { credentialIdOf, PEM } from '../../rules/data/csr-samples.js';

const attacker = 'attacker@example.com';
const body = { pem: PEM.stratus, requester: { username: attacker } };
const t = (s: number): string => `2026-03-02T09:00:0${s}.000000Z`;
const steps: K8sAuditEventJson[] = [
  csrCreate({ name: 'backdoor', user: attacker, time: t(1) }, { pem: PEM.stratus }),
  csrDecide({ name: 'backdoor', user: attacker, time: t(2) }, body),
  csrIssue({ name: 'backdoor', user: 'system:kube-controller-manager', time: t(2) }, body, PEM.stratusCert),
  csrGet({ name: 'backdoor', user: attacker, time: t(3) }, body, PEM.stratusCert),
  csrDelete({ name: 'backdoor', user: attacker, time: t(4) }),
];

function events(records: K8sAuditEventJson[]): AuditEvent[] {
  return records.flatMap((r, i) =>
    parseAnyRecord(asAks(r), { source: 'test', index: i }, {}).flatMap((o) => (o.kind === 'event' ? [o.event] : [])),
  );
}

describe('csr-issuance-chain', () => {
  it('reports one finding keyed on the approval, listing every step', () => {
    const engine = new Engine({ rules: [chain] });
    const evs = events(steps);
    const findings = evs.flatMap((e) => engine.process(e).findings);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.severity).toBe('critical');
    expect(f.event.id).toBe(evs[1]!.id);
    expect((f.facts['steps'] as Array<{ step: string }>).map((s) => s.step)).toEqual(['create', 'approve', 'issue', 'read', 'delete']);
    expect(f.facts['issuedCredentialId']).toBe(credentialIdOf(PEM.stratusCert));
    expect(f.summary).toBe(`CSR backdoor in aks-prod-1: create by ${attacker} → approve by ${attacker} → issue by system:kube-controller-manager → read by ${attacker} → delete by ${attacker}`);
  });

  it('gives the same key when the next scan sees only the overlap, and the dedup keys drop it', () => {
    const first = new Engine({ rules: [chain] });
    const key = events(steps).flatMap((e) => first.process(e).findings)[0]!.key;
    const overlap = events(steps.slice(1));
    const second = new Engine({ rules: [chain] });
    const again = overlap.flatMap((e) => second.process(e).findings);
    expect(again.map((f) => [f.key, f.severity, f.facts['selfApproval']])).toEqual([[key, 'critical', true]]);
    const third = new Engine({ rules: [chain], seenKeys: [key] });
    expect(overlap.flatMap((e) => third.process(e).findings)).toEqual([]);
  });

  it('counts a request logged at two stages once', () => {
    const approve = steps[1]!;
    const started = { ...approve, stage: 'ResponseStarted' } as K8sAuditEventJson;
    const engine = new Engine({ rules: [chain] });
    const findings = events([steps[0]!, started, ...steps.slice(1)]).flatMap((e) => engine.process(e).findings);
    expect((findings[0]!.facts['steps'] as unknown[]).length).toBe(5);
  });

  it('starts a new life when the name is re-used after a delete', () => {
    const engine = new Engine({ rules: [chain] });
    const reuse = [
      ...steps,
      csrCreate({ name: 'backdoor', user: 'alice@example.com', time: t(5) }, { pem: PEM.aliceUser }),
      csrDelete({ name: 'backdoor', user: 'alice@example.com', time: t(6) }),
    ];
    const findings = events(reuse).flatMap((e) => engine.process(e).findings);
    expect(findings.map((f) => f.severity)).toEqual(['critical']);
  });
});
