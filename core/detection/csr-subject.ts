import type { IdentityTables } from '../model/identity-tables.js';
import type { DecodedCsr } from './csr.js';
import { classifyIdentity, nodeName, type Identity } from './identity.js';
import { maxSeverity, type Severity } from '../model/severity.js';

/**
 * Whether the identity a CSR asks for is one a certificate must not carry, judged against who
 * asked (docs/rules-csr.md). A client certificate's last CN becomes the Kubernetes user
 * name and each O a group, so every CN and O is checked, not only the first.
 */

export const SIGNERS = Object.freeze({
  apiserverClient: 'kubernetes.io/kube-apiserver-client',
  kubeletClient: 'kubernetes.io/kube-apiserver-client-kubelet',
  kubeletServing: 'kubernetes.io/kubelet-serving',
});

/** Groups every authenticated request carries anyway; asking for them grants nothing. */
const HARMLESS_GROUPS = new Set(['system:authenticated']);

export interface SubjectFinding {
  /** What is asked for, e.g. `O=system:masters` or `CN=system:kube-controller-manager`. */
  field: string;
  why: string;
  severity: Severity;
}

export interface SubjectAssessment {
  findings: SubjectFinding[];
  /** The highest severity among the findings, or null when the subject is unremarkable. */
  severity: Severity | null;
  /** Asks for system:masters, a control-plane, node, service-account or bootstrap identity. */
  privileged: boolean;
}

export interface SubjectRequester {
  identity: Identity;
  /** The requester is a system identity whose authentication fits (see classifyCaller). */
  trusted: boolean;
}

function judgeName(
  field: 'CN' | 'O',
  value: string,
  signer: string | undefined,
  requester: SubjectRequester,
  tables: IdentityTables,
): SubjectFinding | undefined {
  const at = `${field}=${value}`;
  if (field === 'O' && value === 'system:masters') {
    return { field: at, why: 'system:masters bypasses all authorization', severity: 'high' };
  }
  if (field === 'O' && value === 'system:nodes') {
    const own = requester.identity.kind === 'node-bootstrap' || requester.identity.kind === 'node';
    return own && requester.trusted && signer !== SIGNERS.apiserverClient
      ? undefined
      : { field: at, why: 'the node group, asked for by someone who is not a node or its bootstrap identity', severity: 'high' };
  }
  if (field === 'O' && HARMLESS_GROUPS.has(value)) return undefined;
  const asked = classifyIdentity({ name: value }, tables);
  switch (asked.kind) {
    case 'control-plane':
      return { field: at, why: 'a control-plane identity that allowlists trust', severity: 'high' };
    case 'node': {
      const self = requester.identity.kind === 'node' && requester.identity.node === nodeName(value);
      const bootstrap = requester.identity.kind === 'node-bootstrap';
      if ((self || bootstrap) && requester.trusted && signer !== SIGNERS.apiserverClient) return undefined;
      return { field: at, why: 'a node identity, asked for by someone who is not that node or its bootstrap identity', severity: 'high' };
    }
    case 'service-account':
      return { field: at, why: 'a service-account identity in a certificate (it never expires with the token)', severity: 'high' };
    case 'node-bootstrap':
      return { field: at, why: 'a node bootstrap identity that allowlists trust', severity: 'high' };
    case 'anonymous':
    case 'system-other':
      if (value === 'system:bootstrappers' || value.startsWith('system:bootstrappers:')) {
        return { field: at, why: 'the node bootstrap group', severity: 'high' };
      }
      return requester.trusted ? undefined : { field: at, why: 'a reserved system: name asked for by a non-system requester', severity: 'medium' };
    default:
      return undefined;
  }
}

export function assessRequestedSubject(
  csr: DecodedCsr,
  signerName: string | undefined,
  requester: SubjectRequester,
  tables: IdentityTables,
): SubjectAssessment {
  const findings: SubjectFinding[] = [];
  for (const cn of csr.subject.commonNames) {
    const f = judgeName('CN', cn, signerName, requester, tables);
    if (f !== undefined) findings.push(f);
  }
  for (const o of csr.subject.organizations) {
    const f = judgeName('O', o, signerName, requester, tables);
    if (f !== undefined) findings.push(f);
  }
  const privileged = findings.some((f) => f.severity === 'high');
  const user = csr.requestedUser;
  // A client certificate for someone else: the requester mints an identity that is not theirs.
  if (signerName === SIGNERS.apiserverClient && user !== undefined && user !== requester.identity.name && !privileged) {
    findings.push({ field: `CN=${user}`, why: `a client certificate for a user other than the requester (${requester.identity.name ?? 'unknown'})`, severity: 'medium' });
  }
  let severity: Severity | null = null;
  for (const f of findings) severity = severity === null ? f.severity : maxSeverity(severity, f.severity);
  return { findings, severity, privileged };
}
