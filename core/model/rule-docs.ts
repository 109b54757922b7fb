/**
 * Where each rule is documented: the family page under docs/ and the anchor of the rule's
 * generated reference section (scripts/gen-rule-docs.ts writes it from the rule file's metadata;
 * test/docs/rule-docs.test.ts fails when a page is out of date or a rule has no family).
 * Links are relative to the repository root, which is also the installed package's root.
 */
export const RULE_DOC_FAMILIES = Object.freeze({
  csr: { file: 'docs/rules-csr.md', title: 'CertificateSigningRequest abuse' },
  secrets: { file: 'docs/rules-secrets.md', title: 'Secret reads by node and service-account identities' },
  'cert-theft': { file: 'docs/rules-cert-theft.md', title: 'Kubernetes and kubelet certificate theft' },
} as const);

export type RuleDocFamily = keyof typeof RULE_DOC_FAMILIES;

/** Each rule id and its family; a new rule must be added here (the docs test says so). */
export const RULE_FAMILY: Readonly<Record<string, RuleDocFamily>> = Object.freeze({
  'csr-approved-by-non-system': 'csr',
  'csr-client-cert-created': 'csr',
  'csr-issuance-chain': 'csr',
  'csr-privileged-subject': 'csr',
  'secret-read-by-node': 'secrets',
  'secret-read-by-service-account': 'secrets',
  'secret-sweep': 'secrets',
  'node-credential-off-node': 'cert-theft',
  'pki-host-mount': 'cert-theft',
  'pki-read-via-exec': 'cert-theft',
  'pki-read-via-node-proxy': 'cert-theft',
  'k8s-pki-file-read': 'cert-theft',
  'kubelet-pki-read-in-container': 'cert-theft',
});

/** The heading of a rule's generated section; GitHub's anchor for it is `ruleAnchor(id)`. */
export function ruleHeading(id: string): string {
  return `Reference: \`${id}\``;
}

export function ruleAnchor(id: string): string {
  return `reference-${id.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')}`;
}

/** `docs/rules-<family>.md#reference-<id>`, or undefined for a rule without a family (tests' rules). */
export function ruleDocsLink(id: string): string | undefined {
  const family = RULE_FAMILY[id];
  return family === undefined ? undefined : `${RULE_DOC_FAMILIES[family].file}#${ruleAnchor(id)}`;
}
