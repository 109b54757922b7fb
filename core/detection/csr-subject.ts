import type { DecodedCsr } from './csr.js';
import type { Identity } from './identity.js';
import type { Severity } from '../model/severity.js';

/**
 * The names a CSR's requested subject would grant, and the shape of a judgement of them. Which of
 * them are privileged, and why, is stated where it is decided: rules/csr-privileged-subject.ts
 * (csr-client-cert-created and csr-issuance-chain reuse that judgement).
 */

export const SIGNERS = Object.freeze({
  apiserverClient: 'kubernetes.io/kube-apiserver-client',
  kubeletClient: 'kubernetes.io/kube-apiserver-client-kubelet',
  kubeletServing: 'kubernetes.io/kubelet-serving',
});

/** One name of the subject: a CN (the last becomes the Kubernetes user name) or an O (a group). */
export interface RequestedName {
  field: 'CN' | 'O';
  value: string;
}

/**
 * Every name the issued certificate would carry, CNs then Os in the request's order: the API
 * server takes the last CN as the user and every O as a group, so none may be skipped.
 */
export function requestedNames(csr: DecodedCsr): RequestedName[] {
  return [
    ...csr.subject.commonNames.map((value): RequestedName => ({ field: 'CN', value })),
    ...csr.subject.organizations.map((value): RequestedName => ({ field: 'O', value })),
  ];
}

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
