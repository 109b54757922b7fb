import * as z from 'zod';
import { csrBodyLoss, csrFacts, readCsr } from '../core/detection/csr.js';
import { SIGNERS } from '../core/detection/csr-subject.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyCaller, trustSignalsFrom } from '../core/detection/identity.js';
import { defineRule, type RuleExample } from '../core/model/rule.js';
import { maxSeverity, type Severity } from '../core/model/severity.js';
// Subjects are judged as csr-privileged-subject judges them, which states what is privileged and why.
import { assessRequestedSubject } from './csr-privileged-subject.js';

const options = z.object({
  /** Requesters that legitimately mint client certificates (an internal PKI's service account). */
  ignoreRequesters: z.array(z.string()).default([]),
});

export default defineRule<z.infer<typeof options>>({
  id: 'csr-client-cert-created',
  title: 'Client certificate requested through a CSR',
  severity: 'low',
  mitre: ['T1098', 'T1552'],
  description:
    'A CertificateSigningRequest for a client certificate (usage "client auth" or a kube-apiserver-client signer) was ' +
    'created by an identity that is not a node, a node bootstrap identity or a control-plane component whose ' +
    'authentication fits its name.',
  whyItMatters:
    'An approved client certificate is a credential that outlives tokens and RBAC clean-ups and is hard to revoke ' +
    '(Stratus k8s.persistence.create-client-certificate). A service account or anonymous caller asking for one, or a ' +
    'request for a privileged subject, is rarely legitimate.',
  falsePositives: [
    'Onboarding a human user with a client certificate (kubectl create csr for themselves): reported low.',
    'A CSR whose audit record the log service cut (EKS [Truncated...], AKS 16 KiB, GKE truncated label): its signer or ' +
      'subject is unknown, so it is reported medium with facts.bodyCut naming what was lost; read the CSR itself (kubectl ' +
      'get csr <name> -o yaml) to settle it.',
    'An in-cluster PKI (cert-manager, Vault) creating CSRs under its own service account: add it to ignoreRequesters.',
  ],
  runbook: [
    'Identify the requester (facts.requester, facts.requesterKind) and whether they are allowed to mint client credentials.',
    'Read facts.requestedSubject: the CN becomes the user name and every O a group of the certificate.',
    'Check csr-approved-by-non-system / csr-issuance-chain findings for the same CSR name: was it approved, by whom, and was a certificate issued?',
    'If unauthorised: deny and delete the CSR; if a certificate was issued, rotate the signing CA or remove the RBAC bindings of the CN/O it carries.',
  ],
  references: [
    'https://stratus-red-team.cloud/attack-techniques/kubernetes/k8s.persistence.create-client-certificate/',
    'https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/',
    'https://github.com/panther-labs/panther-analysis/blob/main/rules/kubernetes_rules/k8s_client_certificate_created.yml',
  ],
  clouds: {
    eks: 'full (needs the audit log type; bodies are logged at RequestResponse)',
    aks: 'full (kube-audit or kube-audit-admin)',
    gke: 'full (Admin Activity log)',
    k8s: 'full when the audit policy logs CSR bodies at Request level or above',
  },
  needs: { resources: ['certificatesigningrequests'], subresources: [''], verbs: ['create'] },
  options,
  evaluate(e, ctx) {
    if (e.outcome.result === 'failure') return null; // denied creates are csr-approved-by-non-system's (low)
    const csr = readCsr(e);
    const client = csr.usages.includes('client auth') || (csr.signerName?.startsWith(SIGNERS.apiserverClient) ?? false);
    // A body the log service cut may hide a client-certificate request: what was lost is unknown, not absent.
    // A readable client request that lost only its subject still counts as cut (the subject decides severity).
    const cut = csrBodyLoss(e, csr);
    const loss = client && cut?.lost.includes('request') !== true ? undefined : cut;
    if (!client && loss === undefined) return null; // serving certificates authenticate no one to the API server
    if (e.user.name !== undefined && ctx.options.ignoreRequesters.includes(e.user.name)) return null;
    const caller = classifyCaller(e, ctx.identities, trustSignalsFrom(ctx.history, e.cluster));
    // A trusted node renews its own kubelet certificates; apiserver-client certificates are not its business.
    if (caller.trusted && caller.kind === 'node' && csr.signerName !== SIGNERS.apiserverClient) return null;
    if (caller.trusted && caller.kind !== 'node') return null; // control plane, controllers, node bootstrap
    let severity: Severity = caller.kind === 'human' ? 'low' : 'medium';
    // Unknown signer or subject: it may be the privileged request a readable body would have shown, so
    // never below the readable case and one step above a person's own certificate.
    if (loss !== undefined) severity = 'medium';
    if (caller.distrust !== undefined) severity = 'high';
    const facts: Record<string, unknown> = {
      csrName: e.target.name ?? null,
      requester: e.user.name ?? null,
      requesterKind: caller.kind,
      ...csrFacts(csr),
    };
    if (caller.distrust !== undefined) facts['requesterDistrust'] = caller.distrust;
    if (loss !== undefined) facts['bodyCut'] = { by: loss.cutBy, lost: loss.lost };
    if (csr.request.ok) {
      const subject = assessRequestedSubject(csr.request.value, csr.signerName, { identity: caller, trusted: caller.trusted }, ctx.identities);
      if (subject.severity !== null) severity = maxSeverity(severity, subject.severity);
      if (subject.findings.length > 0) facts['subjectFindings'] = subject.findings.map((f) => `${f.field}: ${f.why}`);
    }
    const who = `${caller.kind} ${e.user.name ?? '(unknown)'}`;
    const what = client ? 'requested a client certificate' : 'created a CSR that may request a client certificate';
    const lost = loss === undefined ? '' : `; ${loss.cutBy}: ${loss.lost.map((f) => (f === 'request' ? 'requested subject' : f)).join(', ')} unknown`;
    return {
      severity,
      facts,
      summary:
        `${who} ${what} (CSR ${e.target.name ?? '(generated name)'}, signer ${csr.signerName ?? 'unknown'}) ` +
        `in ${e.cluster ?? 'an unnamed cluster'} from ${e.sourceIPs[0] ?? 'an unknown address'}${lost}`,
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, asPantherAks, csrCreate, pantherCsrCreate, PEM, realRecord, seedWithTime }: ExampleKit): RuleExample[] {
  const SEED = 'Panther rule Kubernetes.ClientCertificate.Created';
  // Panther's records are verbatim apart from the timestamps seedWithTime adds (see its comment).
  /** Panther's bare EKS CSR-create records differ only in who asked, which CSR, the status and what was asked for. */
  const pantherEksCreate = (username: string, name: string, o: { code?: number; signerName?: string; usage?: string } = {}) =>
    seedWithTime({
      kind: 'Event',
      verb: 'create',
      user: { username },
      objectRef: { resource: 'certificatesigningrequests', name },
      responseStatus: { code: o.code ?? 201 },
      requestObject: { spec: { signerName: o.signerName ?? SIGNERS.apiserverClient, usages: [o.usage ?? 'client auth'] } },
      p_log_type: 'Amazon.EKS.Audit',
    });
  return [
    // The nine test cases of Panther's rule, verbatim (panther-labs/panther-analysis, rules/kubernetes_rules/k8s_client_certificate_created.yml).
    {
      name: `${SEED}: EKS client certificate CSR created`,
      expect: 'low',
      cluster: 'eks-cluster',
      facts: { requester: 'attacker@example.com', requesterKind: 'human', requestProblem: 'not-pem' },
      note: 'Panther fires at Info; a human asking for a client certificate is low here (context, not a page), higher for riskier requesters.',
      record: seedWithTime({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        verb: 'create',
        user: { username: 'attacker@example.com' },
        sourceIPs: ['203.0.113.42'],
        userAgent: 'kubectl/v1.28.0',
        objectRef: { resource: 'certificatesigningrequests', name: 'malicious-csr', apiVersion: 'certificates.k8s.io/v1' },
        responseStatus: { code: 201 },
        requestObject: {
          apiVersion: 'certificates.k8s.io/v1',
          kind: 'CertificateSigningRequest',
          metadata: { name: 'malicious-csr' },
          spec: {
            groups: ['system:authenticated'],
            request: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0=',
            signerName: 'kubernetes.io/kube-apiserver-client',
            usages: ['client auth'],
          },
        },
        p_log_type: 'Amazon.EKS.Audit',
        p_source_label: 'eks-cluster',
      }),
    },
    {
      name: `${SEED}: AKS client certificate CSR created`,
      expect: 'low',
      cluster: 'aks-cluster',
      record: seedWithTime(asPantherAks(pantherCsrCreate('persistence-user@example.com', '1.2.3.4', 'backdoor-cert', SIGNERS.apiserverClient), { sourceLabel: 'aks-cluster' })),
    },
    {
      name: `${SEED}: GKE client certificate CSR created`,
      expect: 'low',
      cluster: 'gke-cluster',
      record: seedWithTime({
        protoPayload: {
          authenticationInfo: { principalEmail: 'user@company.com' },
          authorizationInfo: [{
            granted: true,
            permission: 'io.k8s.certificates.v1.certificatesigningrequests.create',
            resource: 'certificates.k8s.io/v1/certificatesigningrequests/persistence-csr',
          }],
          methodName: 'io.k8s.certificates.v1.certificatesigningrequests.create',
          requestMetadata: { callerIP: '8.8.8.8' },
          resourceName: 'certificates.k8s.io/v1/certificatesigningrequests/persistence-csr',
          serviceName: 'k8s.io',
          request: {
            spec: {
              signerName: 'kubernetes.io/kube-apiserver-client',
              usages: ['client auth'],
              groups: ['system:authenticated'],
            },
          },
        },
        resource: { type: 'k8s_cluster', labels: { project_id: 'test-project' } },
        p_log_type: 'GCP.AuditLog',
        p_source_label: 'gke-cluster',
      }),
    },
    {
      name: `${SEED}: service account creating certificate (higher severity)`,
      expect: 'medium',
      cluster: 'eks-cluster',
      facts: { requesterKind: 'service-account' },
      record: pantherEksCreate('system:serviceaccount:default:compromised-sa', 'sa-cert'),
    },
    {
      name: `${SEED}: system principal creating certificate (excluded)`,
      expect: null,
      cluster: 'eks-cluster',
      record: pantherEksCreate('system:kube-controller-manager', 'system-cert'),
    },
    {
      name: `${SEED}: AKS node bootstrap CSR (excluded)`,
      expect: null,
      cluster: 'aks-cluster',
      record: seedWithTime(asPantherAks(pantherCsrCreate('kubelet-nodepool-bootstrap', '10.0.1.5', 'node-csr-abc123', SIGNERS.kubeletClient), { sourceLabel: 'aks-cluster' })),
    },
    {
      name: `${SEED}: failed CSR creation (excluded)`,
      expect: null,
      cluster: 'eks-cluster',
      note: 'Not dropped overall: csr-approved-by-non-system reports denied attempts at low.',
      record: pantherEksCreate('attacker@example.com', 'failed-csr', { code: 403 }),
    },
    {
      name: `${SEED}: server auth certificate (not client auth)`,
      expect: null,
      cluster: 'eks-cluster',
      record: pantherEksCreate('admin@example.com', 'server-cert', { signerName: SIGNERS.kubeletServing, usage: 'server auth' }),
    },
    {
      name: `${SEED}: get CSR (not creation)`,
      expect: null,
      cluster: 'eks-cluster',
      record: seedWithTime({
        kind: 'Event',
        verb: 'get',
        user: { username: 'admin@example.com' },
        objectRef: { resource: 'certificatesigningrequests', name: 'existing-csr' },
        responseStatus: { code: 200 },
        p_log_type: 'Amazon.EKS.Audit',
      }),
    },
    // The real GKE node-bootstrap CSR (corpus gke-labs-kube-agents, line 1): body trimmed, x509 bootstrap identity.
    {
      name: 'real GKE node bootstrap CSR by kubelet-nodepool-bootstrap',
      expect: null,
      record: realRecord('gke-labs-kube-agents/drift-detector-testdata.jsonl', 1),
    },
    // Decoded subjects raise the severity.
    {
      name: 'EKS: a human asks for CN=system:kube-controller-manager (Stratus request)',
      expect: 'high',
      facts: { requestedSubject: { commonNames: ['system:kube-controller-manager'], organizations: [] } },
      record: asEks(csrCreate({ name: 'stratus-red-team-csr', user: 'attacker@example.com' }, { pem: PEM.stratus })),
    },
    {
      name: 'AKS: an unlisted system: name asks for a client certificate for someone else',
      expect: 'medium',
      record: asAks(csrCreate({ name: 'odd-csr', user: 'system:something' }, { pem: PEM.otherUser })),
    },
    {
      name: 'GKE: a human asks for their own client certificate',
      expect: 'low',
      record: asGke(csrCreate({ name: 'alice-csr', user: 'alice@example.com' }, { pem: PEM.aliceUser })),
    },
    {
      name: 'EKS: kube-controller-manager creating a client CSR (control plane, as in Panther\'s case, in the EKS envelope)',
      expect: null,
      record: asEks(csrCreate({ name: 'system-cert', user: 'system:kube-controller-manager', sourceIPs: ['10.0.113.236'] }, { pem: PEM.stratus })),
    },
    {
      name: 'AKS: a node renews its own kubelet client certificate',
      expect: null,
      record: asAks(csrCreate({ name: 'csr-renew', user: 'system:node:gke-prod-1-pool-1-7f3a' }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient })),
    },
    // Cut bodies: the shape each cloud gives a long CSR create (a CSR with a large SAN list, for instance).
    {
      name: 'EKS: a person\'s CSR create cut by CloudWatch ([Truncated...]): signer, usages and subject unknown, reported medium',
      expect: 'medium',
      facts: { requesterKind: 'human', bodyCut: { by: 'CloudWatch Logs cut the audit line ([Truncated...])', lost: ['signerName', 'usages', 'request'] } },
      record: cutEks(asEks(csrCreate({ name: 'big-csr', user: 'alice@example.com' }, { pem: PEM.stratus }))),
    },
    {
      name: 'AKS: a person\'s CSR create whose properties.log Azure cut at 16 KiB: reported medium, above the readable case (low)',
      expect: 'medium',
      facts: { bodyCut: { by: 'Azure Monitor cut properties.log at 16 KiB', lost: ['signerName', 'usages', 'request'] } },
      record: cutAks(asAks(csrCreate({ name: 'big-csr', user: 'alice@contoso.com' }, { pem: PEM.aliceUser }))),
    },
    {
      name: 'GKE: a person\'s CSR create with the truncated label and no request body: reported medium',
      expect: 'medium',
      facts: { bodyCut: { by: 'GKE truncated the entry (label audit.k8s.io/truncated)', lost: ['signerName', 'usages', 'request'] } },
      record: cutGke(asGke(csrCreate({ name: 'big-csr', user: 'alice@example.com' }, { pem: PEM.aliceUser }))),
    },
    {
      name: 'benign: a node\'s own CSR create cut by CloudWatch is still the node renewing (signer unknown, not an apiserver-client request)',
      expect: null,
      record: cutEks(asEks(csrCreate(
        {
          name: 'csr-renew',
          user: 'system:node:ip-10-0-1-23.eu-west-1.compute.internal',
          groups: ['system:nodes', 'system:authenticated'],
        },
        { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient },
      ))),
    },
    {
      name: 'EKS: a PKI service account asks for a client certificate (tune with ignoreRequesters)',
      expect: 'medium',
      record: asEks(csrCreate(
        { name: 'cm-csr', user: 'system:serviceaccount:cert-manager:cert-manager' },
        { pem: PEM.otherUser, signerName: 'clusterissuers.cert-manager.io/ca', usages: ['client auth'] },
      )),
    },
  ];
}

/** A CSR create as CloudWatch delivers a line over its limit: cut inside the body, `[Truncated...]` appended. */
function cutEks(rec: Record<string, unknown>): Record<string, unknown> {
  const msg = rec['message'] as string;
  return { ...rec, message: `${msg.slice(0, msg.indexOf('"requestObject"') + 40)}[Truncated...]` };
}
/** A CSR create as Azure Monitor delivers a kube-audit log over 16 KiB: properties.log cut, no marker. */
function cutAks(rec: Record<string, unknown>): Record<string, unknown> {
  const props = rec['properties'] as Record<string, unknown>;
  const log = props['log'] as string;
  return { ...rec, properties: { ...props, log: log.slice(0, log.indexOf('"requestObject"') + 40) } };
}
/** A GKE entry over the size limit: the bodies dropped and the truncated label set. */
function cutGke(rec: Record<string, unknown>): Record<string, unknown> {
  const { request: _request, response: _response, ...payload } = rec['protoPayload'] as Record<string, unknown>;
  return { ...rec, protoPayload: payload, labels: { ...(rec['labels'] as Record<string, string> | undefined), 'audit.k8s.io/truncated': 'true' } };
}
