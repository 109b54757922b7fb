import * as z from 'zod';
import { csrFacts, decisionOf, readCsr, type DecodedCsr } from '../core/detection/csr.js';
import {
  requestedNames,
  SIGNERS,
  type RequestedName,
  type SubjectAssessment,
  type SubjectFinding,
  type SubjectRequester,
} from '../core/detection/csr-subject.js';
import type { IdentityTables } from '../core/model/identity-tables.js';
import type { ExampleKit } from './data/example-kit.js';
import { deriveAuth } from '../core/model/auth.js';
import { classifyCaller, classifyIdentity, nodeName, trustSignalsFrom, type CallerIdentity, type IdentityKind } from '../core/detection/identity.js';
import { defineRule, type RuleExample } from '../core/model/rule.js';
import { maxSeverity, type Severity } from '../core/model/severity.js';

const options = z.object({
  /** Requests for more than this many seconds of validity are noted in the facts (the signer may cap it). */
  longExpirationSeconds: z.number().int().positive().default(90 * 24 * 3600),
});

/**
 * One row of what this rule flags: a name of the requested subject it matches (`kind` is what the
 * name is as a user name, core/detection/identity.ts), how severe asking for it is and why, and
 * the requesters for whom asking is routine, so that it is not flagged.
 */
interface PrivilegedName {
  is(name: RequestedName, kind: IdentityKind): boolean;
  /** null: a name that grants nothing; the rows below it are not consulted. */
  flag: { severity: Severity; why: string } | null;
  routineFor?(requester: SubjectRequester, signer: string | undefined, name: RequestedName): boolean;
}

const group = (value: string) => (n: RequestedName): boolean => n.field === 'O' && n.value === value;
const kindIs = (...kinds: IdentityKind[]) => (_: RequestedName, kind: IdentityKind): boolean => kinds.includes(kind);
/** A node's names are its own business only when it proved who it is and asks a kubelet signer. */
const kubeletSigned = (r: SubjectRequester, signer: string | undefined): boolean => r.trusted && signer !== SIGNERS.apiserverClient;

/** The names this rule flags, first matching row decides; every CN and O of the subject is looked up. */
const PRIVILEGED_NAMES: readonly PrivilegedName[] = [
  { is: group('system:masters'), flag: { severity: 'high', why: 'system:masters bypasses all authorization' } },
  {
    is: group('system:nodes'),
    flag: { severity: 'high', why: 'the node group, asked for by someone who is not a node or its bootstrap identity' },
    routineFor: (r, signer) => (r.identity.kind === 'node-bootstrap' || r.identity.kind === 'node') && kubeletSigned(r, signer),
  },
  // Every authenticated request carries it anyway.
  { is: group('system:authenticated'), flag: null },
  { is: kindIs('control-plane'), flag: { severity: 'high', why: 'a control-plane identity that allowlists trust' } },
  {
    is: kindIs('node'),
    flag: { severity: 'high', why: 'a node identity, asked for by someone who is not that node or its bootstrap identity' },
    routineFor: (r, signer, n) =>
      ((r.identity.kind === 'node' && r.identity.node === nodeName(n.value)) || r.identity.kind === 'node-bootstrap') && kubeletSigned(r, signer),
  },
  { is: kindIs('service-account'), flag: { severity: 'high', why: 'a service-account identity in a certificate (it never expires with the token)' } },
  { is: kindIs('node-bootstrap'), flag: { severity: 'high', why: 'a node bootstrap identity that allowlists trust' } },
  {
    is: (n, kind) => kindIs('anonymous', 'system-other')(n, kind) && (n.value === 'system:bootstrappers' || n.value.startsWith('system:bootstrappers:')),
    flag: { severity: 'high', why: 'the node bootstrap group' },
  },
  {
    is: kindIs('anonymous', 'system-other'),
    flag: { severity: 'medium', why: 'a reserved system: name asked for by a non-system requester' },
    routineFor: (r) => r.trusted,
  },
];

function judgeName(name: RequestedName, signer: string | undefined, requester: SubjectRequester, tables: IdentityTables): SubjectFinding | undefined {
  const row = PRIVILEGED_NAMES.find((r) => r.is(name, classifyIdentity({ name: name.value }, tables).kind));
  if (row === undefined || row.flag === null || row.routineFor?.(requester, signer, name) === true) return undefined;
  return { field: `${name.field}=${name.value}`, why: row.flag.why, severity: row.flag.severity };
}

/**
 * This rule's judgement of a decoded request: each privileged name, and a client certificate for a
 * user other than the requester (someone minting an identity that is not theirs). csr-client-cert-created
 * and csr-issuance-chain judge subjects with it too.
 */
export function assessRequestedSubject(csr: DecodedCsr, signerName: string | undefined, requester: SubjectRequester, tables: IdentityTables): SubjectAssessment {
  const findings: SubjectFinding[] = [];
  for (const name of requestedNames(csr)) {
    const f = judgeName(name, signerName, requester, tables);
    if (f !== undefined) findings.push(f);
  }
  const privileged = findings.some((f) => f.severity === 'high');
  const user = csr.requestedUser;
  if (signerName === SIGNERS.apiserverClient && user !== undefined && user !== requester.identity.name && !privileged) {
    findings.push({ field: `CN=${user}`, why: `a client certificate for a user other than the requester (${requester.identity.name ?? 'unknown'})`, severity: 'medium' });
  }
  let severity: Severity | null = null;
  for (const f of findings) severity = severity === null ? f.severity : maxSeverity(severity, f.severity);
  return { findings, severity, privileged };
}

export default defineRule<z.infer<typeof options>>({
  id: 'csr-privileged-subject',
  title: 'CSR asks for a privileged identity',
  severity: 'high',
  mitre: ['T1098.006', 'T1078.004'],
  description:
    'Decodes spec.request (base64 of a PEM PKCS#10 request) and reads every CN and O of the requested subject: fires on ' +
    'system:masters, control-plane identities, cloud control-plane names that allowlists trust (eks:*, aksService, …), ' +
    'node identities asked for by anyone but that node or its bootstrap identity, service accounts, bootstrap identities, ' +
    'other system: names by non-system requesters, and client certificates for a user other than the requester.',
  whyItMatters:
    'The CN of an issued client certificate becomes the user name and every O a group, with no RBAC check at issuance: ' +
    'O=system:masters is cluster-admin that survives RBAC clean-up, and a control-plane CN is silently trusted by ' +
    'allowlists. Grepping the encoded request for "system:masters" misses two of three byte alignments; this rule parses ' +
    'it.',
  falsePositives: [
    'Break-glass admin certificates issued on purpose (O=system:masters): confirm with the owner and keep the CSR name on record.',
    'Custom node bootstrappers that request node certificates under an unlisted identity: add it to the identity tables (bootstrapUsers).',
  ],
  runbook: [
    'Read facts.subjectFindings: which CN/O is privileged and why.',
    'Check who requested it (facts.requester) and whether it was approved (facts.step, and csr-issuance-chain for the same CSR).',
    'Deny and delete the CSR. If approved and issued, the certificate stays valid until it expires: remove bindings for its CN/O and, for system:masters, rotate the cluster CA.',
  ],
  references: [
    'https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates',
    'https://stratus-red-team.cloud/attack-techniques/kubernetes/k8s.persistence.create-client-certificate/',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/kubernetes/persistence_kubernetes_client_certificate_signing_request_created_or_approved.toml',
  ],
  clouds: {
    eks: 'full (request bodies are logged at RequestResponse)',
    aks: 'full; a body over 16 KiB may be cut by the log service (the finding then says the request could not be read)',
    gke: 'full (Admin Activity log carries the request body)',
    k8s: 'needs an audit policy that logs CSR bodies (Request level or above)',
  },
  needs: { resources: ['certificatesigningrequests'], subresources: ['', 'approval'], verbs: ['create', 'update'] },
  options,
  evaluate(e, ctx) {
    const approval = e.target.subresource === 'approval';
    if (!approval && e.verb !== 'create') return null; // updates of the object itself cannot change spec.request
    const csr = readCsr(e);
    if (approval && decisionOf(csr) !== 'Approved') return null; // a denial protects; csr-approved-by-non-system notes it
    const requester = approval ? requesterFromSpec(e, csr.requester, ctx.identities) : classifyCaller(e, ctx.identities, trustSignalsFrom(ctx.history, e.cluster));
    const failed = e.outcome.result === 'failure';
    const facts: Record<string, unknown> = {
      csrName: e.target.name ?? null,
      step: approval ? 'approve' : 'create',
      requester: requester.name ?? null,
      requesterKind: requester.kind,
      ...csrFacts(csr),
    };
    if (approval) facts['approver'] = e.user.name ?? null;
    if (!csr.request.ok) {
      // Without a subject only the requester speaks: a system identity's CSR is presumed routine.
      const client = csr.usages.includes('client auth') || (csr.signerName?.startsWith(SIGNERS.apiserverClient) ?? false);
      if (requester.trusted || !client || csr.request.problem === 'absent') return null;
      return {
        severity: 'low',
        facts,
        summary:
          `CSR ${e.target.name ?? '(generated name)'} by ${requester.name ?? '(unknown)'} in ${e.cluster ?? 'an unnamed cluster'}: ` +
          `the requested subject could not be read (${csr.request.problem})`,
      };
    }
    const subject = assessRequestedSubject(csr.request.value, csr.signerName, { identity: requester, trusted: requester.trusted }, ctx.identities);
    if (subject.severity === null) return null;
    facts['subjectFindings'] = subject.findings.map((f) => `${f.field}: ${f.why}`);
    if (csr.expirationSeconds !== undefined && csr.expirationSeconds > ctx.options.longExpirationSeconds) facts['longExpiration'] = true;
    let severity: Severity = subject.severity;
    // An approved privileged subject is a credential about to exist; an approved mismatch is a minted identity.
    if (approval) severity = subject.privileged ? 'critical' : maxSeverity(severity, 'high');
    if (failed) severity = 'low';
    const asked = subject.findings.map((f) => f.field).join(', ');
    const what = approval ? `${e.user.name ?? '(unknown)'} approved` : `${requester.kind} ${requester.name ?? '(unknown)'} requested`;
    return {
      severity,
      facts,
      summary: `${what} CSR ${e.target.name ?? '(generated name)'} for ${asked}${failed ? ' (refused)' : ''} in ${e.cluster ?? 'an unnamed cluster'} from ${e.sourceIPs[0] ?? 'an unknown address'}`,
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, b64, csrCreate, csrDecide, HOSTILE_REQUESTS, k8sEvent, PEM, realRecord }: ExampleKit): RuleExample[] {
  const SIGMA = 'Sigma rule "Kubernetes CSR created or approved"';
  const masters = (pem: string) => ({ pem, requester: { username: 'attacker@example.com' } });
  return [
    // Sigma's two sibling rules as concrete requests, on all three base64 alignments of O=system:masters.
    {
      name: `${SIGMA}: system:masters group, CN of 1 character (EKS, EC P-256)`,
      expect: 'high',
      facts: { requestedSubject: { commonNames: ['a'], organizations: ['system:masters'], key: 'ec prime256v1' } },
      note: 'Sigma rates this medium on a substring match; a request for system:masters is high here, critical once approved.',
      record: asEks(csrCreate({ name: 'm1', user: 'attacker@example.com' }, masters(PEM.mastersCn1))),
    },
    {
      name: `${SIGMA}: system:masters group, CN of 2 characters (AKS, RSA 2048)`,
      expect: 'high',
      facts: { requestedSubject: { commonNames: ['ab'], organizations: ['system:masters'], key: 'rsa 2048' } },
      record: asAks(csrCreate({ name: 'm2', user: 'attacker@example.com' }, masters(PEM.mastersCn2))),
    },
    {
      name: `${SIGMA}: system:masters group, CN of 3 characters (GKE, EC P-384)`,
      expect: 'high',
      facts: { requestedSubject: { commonNames: ['abc'], organizations: ['system:masters'], key: 'ec secp384r1' } },
      record: asGke(csrCreate({ name: 'm3', user: 'attacker@example.com' }, masters(PEM.mastersCn3))),
    },
    {
      name: `${SIGMA}: kube-controller-manager identity (the Stratus request, CN only)`,
      expect: 'high',
      note: 'Sigma rates this medium; a control-plane CN is high here (allowlists trust it by name).',
      facts: { subjectFindings: ['CN=system:kube-controller-manager: a control-plane identity that allowlists trust'] },
      record: asEks(csrCreate({ name: 'stratus-red-team-csr', user: 'attacker@example.com' }, { pem: PEM.stratus })),
    },
    {
      name: 'AKS: approval of an O=system:masters request is critical',
      expect: 'critical',
      facts: { step: 'approve', approver: 'admin@example.com', requester: 'attacker@example.com' },
      record: asAks(csrDecide({ name: 'm2', user: 'admin@example.com' }, masters(PEM.mastersCn2))),
    },
    {
      name: 'GKE: a legitimate user certificate for the requester themselves',
      expect: null,
      record: asGke(csrCreate({ name: 'alice', user: 'alice@example.com' }, { pem: PEM.aliceUser })),
    },
    {
      name: 'EKS: a legitimate user certificate approved by an admin',
      expect: null,
      record: asEks(csrDecide({ name: 'alice', user: 'admin@example.com' }, { pem: PEM.aliceUser, requester: { username: 'alice@example.com' } })),
    },
    {
      name: 'AKS: a client certificate for another user (requested identity ≠ requester)',
      expect: 'medium',
      record: asAks(csrCreate({ name: 'bob', user: 'alice@example.com' }, { pem: PEM.otherUser })),
    },
    {
      name: 'GKE: node bootstrap identity asks for its node certificate (benign)',
      expect: null,
      record: asGke(csrCreate({ name: 'node-csr-1', user: 'kubelet-nodepool-bootstrap' }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient })),
    },
    {
      name: 'AKS: a bootstrap token asks for a node certificate (benign)',
      expect: null,
      record: asAks(csrCreate(
        { name: 'csr-8k2lq', user: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:authenticated'] },
        { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient },
      )),
    },
    {
      name: 'EKS: a human asks for a node identity',
      expect: 'high',
      record: asEks(csrCreate({ name: 'fake-node', user: 'dev@example.com' }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient })),
    },
    {
      name: 'EKS: another node asks for this node\'s identity',
      expect: 'high',
      record: asEks(csrCreate({ name: 'other-node', user: 'system:node:ip-10-0-0-9.ec2.internal' }, { pem: PEM.gkeNode, signerName: SIGNERS.kubeletClient })),
    },
    {
      name: 'AKS: a service-account CN in a certificate',
      expect: 'high',
      record: asAks(csrCreate({ name: 'sa-cert', user: 'system:serviceaccount:default:builder' }, { pem: PEM.saSpoof })),
    },
    {
      name: 'AKS: an eks:* control-plane name is flagged on any cloud',
      expect: 'high',
      record: asAks(csrCreate({ name: 'eks-spoof', user: 'dev@example.com' }, { pem: PEM.eksSpoof })),
    },
    {
      name: 'EKS: a refused request for system:masters is reported low',
      expect: 'low',
      record: asEks(csrCreate({ name: 'm1', user: 'dev@example.com', code: 403 }, masters(PEM.mastersCn1))),
    },
    // Hostile spec.request values: a typed problem, a low finding on the rest of the event, nothing thrown.
    ...([
      ['h1', asEks, 'EKS: spec.request is not base64', 'not-base64', HOSTILE_REQUESTS.notBase64],
      ['h2', asAks, 'AKS: spec.request is not PEM', 'not-pem', HOSTILE_REQUESTS.notPem],
      ['h3', asGke, 'GKE: spec.request is a certificate, not a CSR', 'not-csr', HOSTILE_REQUESTS.notCsr],
      ['h4', asEks, 'EKS: spec.request is truncated DER', 'malformed-der', HOSTILE_REQUESTS.truncatedDer],
      ['h5', asGke, 'GKE: spec.request is oversized', 'too-large', HOSTILE_REQUESTS.oversized],
      ['h6', asAks, 'AKS: spec.request is a number', 'not-string', 12345],
    ] as const).map(([id, as, name, problem, request]): RuleExample => ({
      name,
      expect: 'low',
      facts: { requestProblem: problem },
      record: as(csrCreate({ name: id, user: 'dev@example.com' }, { request })),
    })),
    {
      name: 'AKS: a ConfigMap carrying a CSR-shaped body is not a CSR',
      expect: null,
      record: asAks(k8sEvent({
        verb: 'create',
        user: 'dev@example.com',
        resource: 'configmaps',
        namespace: 'default',
        name: 'csr-template',
        requestObject: {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: { name: 'csr-template' },
          data: { request: b64(PEM.mastersCn1) },
          spec: { request: b64(PEM.mastersCn1) },
        },
      })),
    },
    {
      name: 'real GKE node bootstrap CSR (body trimmed) does not alert',
      expect: null,
      record: realRecord('gke-labs-kube-agents/drift-detector-testdata.jsonl', 1),
    },
  ];
}

/** On an approval the requester is whoever the API server recorded in spec.username/groups/extra. */
function requesterFromSpec(
  e: Parameters<typeof classifyCaller>[0],
  r: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> },
  tables: Parameters<typeof classifyCaller>[1],
): CallerIdentity {
  const user = {
    ...(r.username === undefined ? {} : { name: r.username }),
    ...(r.groups === undefined ? {} : { groups: r.groups }),
    ...(r.uid === undefined ? {} : { uid: r.uid }),
    ...(r.extra === undefined ? {} : { extra: r.extra }),
  };
  return classifyCaller({ user, auth: deriveAuth(user, e.cloud), cloud: e.cloud }, tables);
}
