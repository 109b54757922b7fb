import * as z from 'zod';
import { csrFacts, decisionOf, readCsr } from '../core/detection/csr.js';
import { SIGNERS } from '../core/detection/csr-subject.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyCaller, trustSignalsFrom } from '../core/detection/identity.js';
import { defineRule, earlierRunEvidence, type RuleExample } from '../core/model/rule.js';
import { keepCsrRequest } from '../core/detection/csr-memory.js';
import { maxSeverity, type Severity } from '../core/model/severity.js';

const options = z.object({
  /** Identities allowed to approve or sign CSRs besides the control plane (a custom signer's service account). */
  allowedIdentities: z.array(z.string()).default([]),
  /** Signers whose status writes come from an in-cluster PKI (e.g. `clusterissuers.cert-manager.io/*` prefixes). */
  customSignerPrefixes: z.array(z.string()).default([]),
});

type Step = 'create' | 'approve' | 'deny' | 'issue' | 'update';

function stepOf(subresource: string | undefined, verb: string, decision: 'Approved' | 'Denied' | undefined): Step {
  if (verb === 'create' && subresource === undefined) return 'create';
  if (subresource === 'approval') return decision === 'Denied' ? 'deny' : 'approve';
  if (subresource === 'status') return 'issue';
  return 'update';
}

// Severity by what the request does when it succeeds; a refused attempt is reported at low.
const SEVERITY: Record<Step, Severity> = { create: 'low', deny: 'info', update: 'medium', approve: 'high', issue: 'high' };

export default defineRule<z.infer<typeof options>>({
  id: 'csr-approved-by-non-system',
  title: 'CSR created, approved or signed by a non-system identity',
  severity: 'high',
  mitre: ['T1098.006', 'T1098'],
  description:
    'A create, update or patch of a CertificateSigningRequest — including the approval subresource (kubectl certificate ' +
    'approve) and the status subresource (a signer writing the certificate) — by an identity that is not a control-plane ' +
    'component or CSR controller whose authentication fits its name.',
  whyItMatters:
    'Approving a CSR mints a long-lived credential for whatever subject it names. Outside node TLS bootstrap, approvals ' +
    'come from the kube-controller-manager or the cloud\'s certificate controller; a person or workload approving, or ' +
    'writing a certificate into status, is how the Stratus client-certificate persistence works.',
  falsePositives: [
    'Administrators approving user-certificate CSRs by hand (kubectl certificate approve): reported high, confirm with the admin.',
    'In-cluster PKIs (cert-manager\'s CSR support, Vault) approving or signing their own signer\'s CSRs: add their ' +
      'service account to allowedIdentities or their signer prefix to customSignerPrefixes.',
  ],
  runbook: [
    'Who acted (facts.actor, facts.actorKind) and what step it was (facts.step: create, approve, deny, issue, update).',
    'For approvals: did the approver also create the CSR (facts.selfApproval)? What subject does it carry (facts.requestedSubject)?',
    'For status writes: facts.issuedCredentialId is the X509SHA256 id requests made with the certificate carry; search for it in user.extra / GKE labels.',
    'Deny or delete the CSR; if a certificate was issued, revoke its access (remove bindings for its CN/O, rotate the CA when it is system:masters).',
  ],
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/kubernetes/persistence_kubernetes_client_certificate_signing_request_created_or_approved.toml',
    'https://stratus-red-team.cloud/attack-techniques/kubernetes/k8s.persistence.create-client-certificate/',
    'https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#approval-rejection',
  ],
  clouds: {
    eks: 'full (the managed signer does not issue kube-apiserver-client certificates, so no status step: aws/containers-roadmap#1604)',
    aks: 'full (kube-audit or kube-audit-admin)',
    gke: 'full (Admin Activity log)',
    k8s: 'full',
  },
  needs: { resources: ['certificatesigningrequests'], verbs: ['create', 'update', 'patch'] },
  readsSameObject: true,
  options,
  memory: {
    keeps: 'every request on a CSR (who created it decides a self-approval), for a day',
    keep: (e) => keepCsrRequest(e),
  },
  evaluate(e, ctx) {
    const caller = classifyCaller(e, ctx.identities, trustSignalsFrom(ctx.history, e.cluster));
    if (e.user.name !== undefined && ctx.options.allowedIdentities.includes(e.user.name)) return null;
    const csr = readCsr(e);
    const step = stepOf(e.target.subresource, e.verb, decisionOf(csr));
    const expected =
      caller.trusted &&
      (caller.kind === 'control-plane' || caller.csrController || (step === 'create' && (caller.kind === 'node' || caller.kind === 'node-bootstrap')));
    if (expected) return null;
    const signer = csr.signerName ?? '';
    if (step === 'issue' && ctx.options.customSignerPrefixes.some((p) => signer.startsWith(p))) return null;
    const requester = csr.requester.username;
    const creator = ctx.history.sameObject(e).find((p) => p.verb === 'create' && p.target.subresource === undefined && p.outcome.result !== 'failure');
    const selfApproval = step === 'approve' && e.user.name !== undefined && (requester === e.user.name || creator?.user.name === e.user.name);
    let severity: Severity = SEVERITY[step];
    if (selfApproval) severity = 'critical';
    // A system name on a credential that does not fit it: an approval or signature by it is the attack itself.
    if (caller.distrust !== undefined) severity = step === 'approve' || step === 'issue' ? 'critical' : maxSeverity(severity, 'high');
    const failed = e.outcome.result === 'failure';
    if (failed) severity = step === 'deny' ? 'info' : 'low';
    const facts: Record<string, unknown> = {
      csrName: e.target.name ?? null,
      step,
      actor: e.user.name ?? null,
      actorKind: caller.kind,
      requester: requester ?? creator?.user.name ?? null,
      selfApproval,
      outcome: e.outcome.code ?? e.outcome.result,
      ...csrFacts(csr),
    };
    if (caller.distrust !== undefined) facts['actorDistrust'] = caller.distrust;
    if (creator !== undefined) {
      const earlier = earlierRunEvidence(ctx.history, [creator]);
      if (earlier.length > 0) facts['earlierRuns'] = earlier;
    }
    if (csr.certificate?.ok === true) facts['issuedCredentialId'] = csr.certificate.value.credentialId;
    const verb = failed
      ? `tried to ${step} (refused ${e.outcome.code ?? ''})`
      : step === 'issue'
        ? 'wrote a certificate into'
        : `${step === 'approve' ? 'approved' : step === 'deny' ? 'denied' : step === 'create' ? 'created' : 'updated'}`;
    return {
      severity,
      facts,
      summary:
        `${caller.kind} ${e.user.name ?? '(unknown)'} ${verb} CSR ${e.target.name ?? '(generated name)'}${selfApproval ? ' that it requested itself' : ''} ` +
        `in ${e.cluster ?? 'an unnamed cluster'} from ${e.sourceIPs[0] ?? 'an unknown address'}`,
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, asPantherAks, credentialIdOf, csrCreate, csrDecide, csrIssue, csrPatch, pantherCsrCreate, PEM, seedWithTime }: ExampleKit): RuleExample[] {
  const SIGMA = 'Sigma rule "Kubernetes CSR created or approved"';
  const KCM_CRED = { 'authentication.kubernetes.io/credential-id': ['X509SHA256=1f0e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0'] };
  const stratusSpec = { pem: PEM.stratus, requester: { username: 'attacker@example.com' } };
  return [
    // The Sigma rule's described cases: a create and an approval by a non-system identity.
    {
      name: `${SIGMA}: EKS create by a non-system identity`,
      expect: 'low',
      note:
        'Sigma rates create and approve alike (high); a create alone is context here, and pages through ' +
        'csr-client-cert-created / csr-privileged-subject when its requester or subject warrants it.',
      record: asEks(csrCreate({ name: 'stratus-red-team-csr', user: 'attacker@example.com' }, { pem: PEM.stratus })),
    },
    {
      name: `${SIGMA}: EKS approval by a non-system identity (kubectl certificate approve)`,
      expect: 'high',
      facts: { step: 'approve', actor: 'admin@example.com', requester: 'attacker@example.com', selfApproval: false },
      record: asEks(csrDecide({ name: 'stratus-red-team-csr', user: 'admin@example.com' }, stratusSpec)),
    },
    {
      name: 'AKS: self-approval (the approver created the CSR) is critical',
      expect: 'critical',
      facts: { selfApproval: true, requestedSubject: { commonNames: ['system:kube-controller-manager'], organizations: [] } },
      records: [
        asAks(csrCreate({ name: 'backdoor', user: 'attacker@example.com' }, { pem: PEM.stratus })),
        asAks(csrDecide({ name: 'backdoor', user: 'attacker@example.com', time: '2026-03-02T09:00:01.000000Z' }, stratusSpec)),
      ],
    },
    {
      name: 'GKE: self-approval seen from the approval body alone (spec.username)',
      expect: 'critical',
      record: asGke(csrDecide({ name: 'backdoor', user: 'attacker@example.com' }, stratusSpec)),
    },
    {
      name: 'EKS: approval denied with 403 is reported low, not dropped',
      expect: 'low',
      facts: { step: 'approve', outcome: 403 },
      record: asEks(csrDecide({ name: 'stratus-red-team-csr', user: 'dev@example.com', code: 403 }, stratusSpec)),
    },
    {
      name: 'AKS: approval denied with 403 (Log Analytics AKSAudit row)',
      expect: 'low',
      record: asAks(csrDecide({ name: 'stratus-red-team-csr', user: 'dev@example.com', code: 403 }, stratusSpec), { form: 'aksaudit' }),
    },
    {
      name: 'GKE: approval denied (gRPC 7) is reported low',
      expect: 'low',
      record: asGke(csrDecide({ name: 'stratus-red-team-csr', user: 'dev@example.com', code: 403 }, stratusSpec)),
    },
    {
      name: 'AKS: an administrator denying a CSR is context only',
      expect: 'info',
      record: asAks(csrDecide({ name: 'stratus-red-team-csr', user: 'admin@example.com' }, stratusSpec, 'Denied')),
    },
    {
      name: 'GKE: a workload writes a certificate into status (manual signing)',
      expect: 'high',
      facts: { step: 'issue', actorKind: 'service-account', issuedCredentialId: credentialIdOf(PEM.stratusCert) },
      record: asGke(csrIssue({ name: 'backdoor', user: 'system:serviceaccount:default:signer' }, stratusSpec, PEM.stratusCert)),
    },
    {
      name: 'EKS: kube-controller-manager approves a node\'s kubelet client CSR (benign)',
      expect: null,
      record: asEks(csrDecide(
        { name: 'csr-8k2lq', user: 'system:kube-controller-manager', extra: KCM_CRED, sourceIPs: ['10.0.113.236'] },
        { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient, requester: { username: 'system:bootstrap:abcdef' } },
      )),
    },
    {
      name: 'EKS: eks:certificate-controller approves a kubelet-serving CSR (benign, as captured on EKS)',
      expect: null,
      record: asEks(csrDecide(
        {
          name: 'csr-6plsz',
          user: 'eks:certificate-controller',
          groups: ['system:authenticated'],
          sourceIPs: ['10.0.113.236'],
          userAgent: 'eks-certificates-controller/v0.0.0 (linux/amd64) kubernetes/$Format',
        },
        {
          pem: PEM.gkeNode,
          signerName: SIGNERS.kubeletServing,
          usages: ['digital signature', 'server auth'],
          requester: { username: 'system:node:gke-prod-1-pool-1-7f3a' },
        },
      )),
    },
    // The control plane's own signers, each issuing a node's client certificate: benign.
    ...(
      [
        ['AKS: the certificate-controller service account signs (benign)', asAks, 'csr-8k2lq', 'system:serviceaccount:kube-system:certificate-controller', 'system:bootstrap:abcdef'],
        ['GKE: kube-controller-manager signs a node certificate (benign)', asGke, 'node-csr-1', 'system:kube-controller-manager', 'kubelet-nodepool-bootstrap'],
      ] as const
    ).map(([name, as, csr, signer, requester]): RuleExample => ({
      name,
      expect: null,
      record: as(csrIssue({ name: csr, user: signer }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient, requester: { username: requester } }, PEM.gkeNodeCert)),
    })),
    {
      name: 'GKE: node bootstrap identity creates its CSR (benign)',
      expect: null,
      record: asGke(csrCreate({ name: 'node-csr-2', user: 'kubelet-nodepool-bootstrap' }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient })),
    },
    {
      name: 'AKS: "system:kube-controller-manager" approving with a certificate issued in this scan is not trusted (a name alone can be minted)',
      expect: 'critical',
      facts: { actorKind: 'control-plane', actorDistrust: 'authenticated with a certificate issued through CSR backdoor in this scan' },
      records: [
        asAks(csrIssue({ name: 'backdoor', user: 'system:kube-controller-manager', extra: KCM_CRED }, stratusSpec, PEM.stratusCert)),
        asAks(csrDecide(
          {
            name: 'second-backdoor',
            user: 'system:kube-controller-manager',
            extra: { 'authentication.kubernetes.io/credential-id': [credentialIdOf(PEM.stratusCert)] },
            time: '2026-03-02T09:05:00.000000Z',
            sourceIPs: ['198.51.100.7'],
          },
          { pem: PEM.mastersCn1, requester: { username: 'attacker@example.com' } },
        )),
      ],
    },
    {
      name: 'EKS: an IAM role mapped to eks:certificate-controller through aws-auth is not the control plane',
      expect: 'critical',
      record: asEks(csrDecide({ name: 'backdoor', user: 'eks:certificate-controller', extra: { arn: ['arn:aws:sts::111122223333:assumed-role/ci-deployer/session'] } }, stratusSpec)),
    },
    {
      name: 'EKS: a non-system patch of a CSR object',
      expect: 'medium',
      record: asEks(csrPatch({ name: 'stratus-red-team-csr', user: 'dev@example.com' }, { metadata: { labels: { team: 'x' } } })),
    },
    {
      name: 'GKE: hostile spec.request (not base64) still reports the approval',
      expect: 'high',
      facts: { requestProblem: 'not-base64' },
      record: asGke(csrDecide({ name: 'hostile', user: 'admin@example.com' }, { request: '%%% not base64 %%%', requester: { username: 'attacker@example.com' } })),
    },
    {
      name: 'AKS Panther-style create by kube-controller-manager (excluded)',
      expect: null,
      cluster: 'aks-cluster',
      record: seedWithTime(asPantherAks(pantherCsrCreate('system:kube-controller-manager', '10.0.1.5', 'system-cert', SIGNERS.apiserverClient), { logType: false })),
    },
  ];
}
