import { csrFacts, decisionOf, readCsr, type CsrView } from '../core/detection/csr.js';
import { keepCsrRequest } from '../core/detection/csr-memory.js';
import { SIGNERS } from '../core/detection/csr-subject.js';
import type { AuditEvent } from '../core/model/event.js';
import type { K8sAuditEventJson } from '../examples/audit-records.js';
import type { CsrBody } from './data/csr-events.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyCaller, trustSignalsFrom, type CallerIdentity } from '../core/detection/identity.js';
import { defineRule, earlierRunEvidence, type RuleContext, type RuleExample } from '../core/model/rule.js';
import type { Severity } from '../core/model/severity.js';
// Subjects are judged as csr-privileged-subject judges them, which states what is privileged and why.
import { assessRequestedSubject } from './csr-privileged-subject.js';

type StepKind = 'create' | 'approve' | 'deny' | 'issue' | 'update' | 'read' | 'delete';

interface Step {
  step: StepKind;
  actor: string | null;
  actorKind: string;
  time: string;
  eventId: string;
  outcome: number | string;
  sourceIP: string | null;
}

function kindOf(e: AuditEvent, view: CsrView): StepKind {
  const sub = e.target.subresource;
  if (e.verb === 'delete') return 'delete';
  if (e.verb === 'get' || e.verb === 'list' || e.verb === 'watch') return 'read';
  if (sub === 'approval') return decisionOf(view) === 'Denied' ? 'deny' : 'approve';
  if (sub === 'status' && view.certificate !== undefined) return 'issue';
  if (e.verb === 'create' && sub === undefined) return 'create';
  return 'update';
}

/** The events of the CSR's current life: from its last successful create (a re-used name starts over). */
function currentLife(events: readonly AuditEvent[]): AuditEvent[] {
  const byId = new Map<string, AuditEvent>();
  for (const e of events) {
    byId.delete(e.id); // a request logged at several stages counts once, at its last stage
    byId.set(e.id, e);
  }
  const all = [...byId.values()];
  let start = 0;
  all.forEach((e, i) => {
    if (e.verb === 'create' && e.target.subresource === undefined && e.outcome.result !== 'failure') start = i;
  });
  return all.slice(start);
}

function chainOf(events: AuditEvent[], ctx: RuleContext<unknown>) {
  const signals = trustSignalsFrom(ctx.history, events[0]?.cluster);
  return events.map((e) => {
    const view = readCsr(e);
    const caller = classifyCaller(e, ctx.identities, signals);
    const step: Step = {
      step: kindOf(e, view),
      actor: e.user.name ?? null,
      actorKind: caller.trusted ? caller.kind : caller.kind === 'control-plane' || caller.kind === 'node-bootstrap' ? `${caller.kind} (untrusted)` : caller.kind,
      time: e.time,
      eventId: e.id,
      outcome: e.outcome.code ?? e.outcome.result,
      sourceIP: e.sourceIPs[0] ?? null,
    };
    return { e, view, caller, step };
  });
}

const routineApprover = (c: CallerIdentity): boolean => c.trusted && (c.kind === 'control-plane' || c.csrController);
const routineRequester = (c: CallerIdentity): boolean => c.trusted && (c.kind === 'node' || c.kind === 'node-bootstrap' || c.kind === 'control-plane');

export default defineRule({
  id: 'csr-issuance-chain',
  title: 'CSR life cycle: created, approved, issued, read and deleted',
  severity: 'high',
  mitre: ['T1098.006', 'T1552', 'T1070'],
  description:
    'Links every request on one CertificateSigningRequest name within a scan (scheduled runs keep them for a day) — ' +
    'create, approval, the signer\'s status write, reads of the issued certificate, delete — into one finding listing ' +
    'each step and who did it. Reported when the CSR is deleted and an approval by someone other than the control plane, ' +
    'a self-approval or a privileged subject is part of its life.',
  whyItMatters:
    'The Stratus client-certificate attack creates, approves, reads and deletes its CSR within seconds, so the object is ' +
    'gone and only the audit log remembers it. Seen step by step, each request looks routine; together they are a ' +
    'credential minted and taken away',
  falsePositives: [
    'An administrator approving a user certificate and cleaning up the CSR after handing the certificate over: medium unless the subject or self-approval raises it.',
  ],
  runbook: [
    'Read facts.steps: who created, approved, signed, read and deleted the CSR, from where.',
    'facts.selfApproval: the requester approved their own CSR. facts.subjectFindings: the requested identity is privileged.',
    'If facts.issuedCredentialId is present, search for requests carrying that credential id (user.extra authentication.kubernetes.io/credential-id, GKE labels): that is the certificate in use.',
    'Revoke what the certificate grants (bindings of its CN/O; for system:masters rotate the cluster CA) and investigate the approver\'s credentials.',
  ],
  references: [
    'https://stratus-red-team.cloud/attack-techniques/kubernetes/k8s.persistence.create-client-certificate/',
    'https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/',
  ],
  clouds: {
    eks: 'full; the managed signer issues no kube-apiserver-client certificates, so EKS chains have no issue step (aws/containers-roadmap#1604)',
    aks: 'full with kube-audit (kube-audit-admin has no get, so the read step is missing there)',
    gke: 'full for writes; the read step needs Data Access logs',
    k8s: 'full',
  },
  needs: { resources: ['certificatesigningrequests'] },
  readsSameObject: true,
  memory: {
    keeps: 'every request on a CSR (the newest stage of each), for a day: kube-controller-manager deletes any CSR within 24 hours',
    keep: keepCsrRequest,
  },
  evaluate(e, ctx) {
    if (e.verb !== 'delete' || e.outcome.result === 'failure' || e.target.name === undefined) return null; // a chain closes when the CSR is gone
    const steps = chainOf(currentLife([...ctx.history.sameObject(e), e]), ctx);
    const approvals = steps.filter((s) => s.step.step === 'approve');
    const granted = approvals.find((s) => s.e.outcome.result !== 'failure');
    const issued = steps.find((s) => s.step.step === 'issue' && s.e.outcome.result !== 'failure');
    const refused = approvals.find((s) => s.e.outcome.result === 'failure');
    const decisive = granted ?? issued ?? refused;
    if (decisive === undefined) return null; // created and deleted, never approved: nothing was minted
    const create = steps.find((s) => s.step.step === 'create');
    const body = steps.map((s) => s.view).find((v) => v.request.ok) ?? decisive.view;
    const requesterName = create?.e.user.name ?? body.requester.username;
    const requester = create?.caller;
    const approver = granted?.caller;
    const selfApproval = granted !== undefined && requesterName !== undefined && granted.e.user.name === requesterName;
    const subject = body.request.ok && requester !== undefined
      ? assessRequestedSubject(body.request.value, body.signerName, { identity: requester, trusted: requester.trusted }, ctx.identities)
      : body.request.ok
        ? assessRequestedSubject(
          body.request.value,
          body.signerName,
          { identity: { kind: 'unknown', ...(requesterName === undefined ? {} : { name: requesterName }) }, trusted: false },
          ctx.identities,
        )
        : undefined;
    const routine = approver !== undefined && routineApprover(approver) && (requester === undefined || routineRequester(requester) || requester.trusted) && (subject?.severity ?? null) === null;
    const signedByTrusted = granted === undefined && issued !== undefined && routineApprover(issued.caller);
    if (routine || signedByTrusted) return null;
    let severity: Severity;
    if (granted === undefined && issued === undefined) severity = 'low'; // only refused approval attempts
    else if (selfApproval || subject?.privileged === true || approver?.distrust !== undefined) severity = 'critical';
    else if (subject?.severity !== null && subject?.severity !== undefined) severity = 'high';
    else severity = 'medium';
    const facts: Record<string, unknown> = {
      csrName: e.target.name,
      steps: steps.map((s) => s.step),
      requester: requesterName ?? null,
      approver: granted?.e.user.name ?? null,
      selfApproval,
      ...csrFacts(body),
    };
    if (subject !== undefined && subject.findings.length > 0) facts['subjectFindings'] = subject.findings.map((f) => `${f.field}: ${f.why}`);
    const cert = steps.map((s) => s.view.certificate).find((c) => c?.ok === true);
    if (cert?.ok === true) facts['issuedCredentialId'] = cert.value.credentialId;
    if (approver?.distrust !== undefined) facts['approverDistrust'] = approver.distrust;
    const earlier = earlierRunEvidence(ctx.history, steps.map((s) => s.e));
    if (earlier.length > 0) facts['earlierRuns'] = earlier;
    const story = steps.map((s) => `${s.step.step} by ${s.step.actor ?? '(unknown)'}`).join(' → ');
    return {
      severity,
      facts,
      event: decisive.e,
      summary: `CSR ${e.target.name} in ${e.cluster ?? 'an unnamed cluster'}: ${story}`,
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, credentialIdOf, csrCreate, csrDecide, csrDelete, csrGet, csrIssue, PEM }: ExampleKit): RuleExample[] {
  const t = (s: number): string => `2026-03-02T09:00:${String(s).padStart(2, '0')}.000000Z`;
  const attacker = 'attacker@example.com';
  const stratus: CsrBody = { pem: PEM.stratus, requester: { username: attacker } };
  const stratusChain = (issue: boolean): K8sAuditEventJson[] => [
    csrCreate({ name: 'stratus-red-team-csr', user: attacker, time: t(1) }, { pem: PEM.stratus }),
    csrDecide({ name: 'stratus-red-team-csr', user: attacker, time: t(2) }, stratus),
    ...(issue ? [csrIssue({ name: 'stratus-red-team-csr', user: 'system:kube-controller-manager', time: t(2), sourceIPs: ['10.0.0.2'] }, stratus, PEM.stratusCert)] : []),
    csrGet({ name: 'stratus-red-team-csr', user: attacker, time: t(3) }, stratus, issue ? PEM.stratusCert : undefined),
    csrDelete({ name: 'stratus-red-team-csr', user: attacker, time: t(3) }),
  ];
  const node: CsrBody = { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient, requester: { username: 'system:bootstrap:abcdef' } };
  const nodeChain = (bootstrap: string): K8sAuditEventJson[] => [
    csrCreate({ name: 'csr-8k2lq', user: bootstrap, time: t(10) }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient }),
    csrDecide({ name: 'csr-8k2lq', user: 'system:kube-controller-manager', time: t(11), sourceIPs: ['10.0.0.2'] }, { ...node, requester: { username: bootstrap } }),
    csrIssue(
      {
        name: 'csr-8k2lq',
        user: 'system:serviceaccount:kube-system:certificate-controller',
        time: t(11),
        sourceIPs: ['10.0.0.2'],
      },
      { ...node, requester: { username: bootstrap } },
      PEM.gkeNodeCert,
    ),
    csrGet({ name: 'csr-8k2lq', user: bootstrap, time: t(12) }, { ...node, requester: { username: bootstrap } }, PEM.gkeNodeCert),
    csrDelete({ name: 'csr-8k2lq', user: 'system:serviceaccount:kube-system:certificate-controller', time: t(59) }),
  ];
  return [
    {
      name: 'EKS: the Stratus chain (create, self-approve, read, delete; EKS issues no certificate)',
      expect: 'critical' as const,
      facts: { csrName: 'stratus-red-team-csr', requester: attacker, approver: attacker, selfApproval: true },
      records: stratusChain(false).map((r) => asEks(r)),
    },
    {
      name: 'AKS: the full Stratus chain, every step listed with who did it',
      expect: 'critical' as const,
      facts: {
        selfApproval: true,
        issuedCredentialId: credentialIdOf(PEM.stratusCert),
        steps: [
          { step: 'create', actor: attacker, actorKind: 'human' },
          { step: 'approve', actor: attacker, actorKind: 'human' },
          { step: 'issue', actor: 'system:kube-controller-manager', actorKind: 'control-plane' },
          { step: 'read', actor: attacker, actorKind: 'human' },
          { step: 'delete', actor: attacker, actorKind: 'human' },
        ],
      },
      records: stratusChain(true).map((r) => asAks(r)),
    },
    {
      name: 'GKE: the full Stratus chain',
      expect: 'critical' as const,
      records: stratusChain(true).map((r) => asGke(r)),
    },
    {
      name: 'EKS: kube-controller-manager approves a node\'s kubelet client CSR, the cleaner deletes it (benign)',
      expect: null,
      records: nodeChain('system:bootstrap:abcdef').map((r) => asEks(r)),
    },
    {
      name: 'AKS: the same benign node chain',
      expect: null,
      records: nodeChain('system:bootstrap:abcdef').map((r) => asAks(r)),
    },
    {
      name: 'GKE: the same benign node chain by kubelet-nodepool-bootstrap',
      expect: null,
      records: nodeChain('kubelet-nodepool-bootstrap').map((r) => asGke(r)),
    },
    {
      name: 'EKS: approval denied with 403, then the CSR is deleted: reported low',
      expect: 'low' as const,
      records: [
        csrCreate({ name: 'try', user: 'dev@example.com', time: t(20) }, { pem: PEM.stratus }),
        csrDecide({ name: 'try', user: 'dev@example.com', time: t(21), code: 403 }, { ...stratus, requester: { username: 'dev@example.com' } }),
        csrDelete({ name: 'try', user: 'dev@example.com', time: t(22) }),
      ].map((r) => asEks(r)),
    },
    {
      name: 'AKS: an admin approves a user\'s own certificate and deletes the CSR after handing it over',
      expect: 'medium' as const,
      records: [
        csrCreate({ name: 'alice', user: 'alice@example.com', time: t(30) }, { pem: PEM.aliceUser }),
        csrDecide({ name: 'alice', user: 'admin@example.com', time: t(31) }, { pem: PEM.aliceUser, requester: { username: 'alice@example.com' } }),
        csrIssue({ name: 'alice', user: 'system:kube-controller-manager', time: t(31) }, { pem: PEM.aliceUser, requester: { username: 'alice@example.com' } }, PEM.stratusCert),
        csrDelete({ name: 'alice', user: 'admin@example.com', time: t(40) }),
      ].map((r) => asAks(r)),
    },
    {
      name: 'GKE: a CSR created and deleted without approval is not a chain',
      expect: null,
      records: [
        csrCreate({ name: 'abandoned', user: 'dev@example.com', time: t(50) }, { pem: PEM.otherUser }),
        csrDelete({ name: 'abandoned', user: 'dev@example.com', time: t(51) }),
      ].map((r) => asGke(r)),
    },
  ];
}

