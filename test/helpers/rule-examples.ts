import type { AnyRule, RuleExample } from '../../core/model/rule.js';
import { readFileSync } from 'node:fs';
import { EXAMPLE_BUILDERS, type ExampleKit } from '../../rules/data/example-kit.js';
import { examples as csrApprovedByNonSystem } from '../../rules/csr-approved-by-non-system.js';
import { examples as csrClientCertCreated } from '../../rules/csr-client-cert-created.js';
import { examples as csrIssuanceChain } from '../../rules/csr-issuance-chain.js';
import { examples as csrPrivilegedSubject } from '../../rules/csr-privileged-subject.js';
import { examples as secretReadByNode } from '../../rules/secret-read-by-node.js';
import { examples as secretReadByServiceAccount } from '../../rules/secret-read-by-service-account.js';
import { examples as secretSweep } from '../../rules/secret-sweep.js';
import { examples as nodeCredentialOffNode } from '../../rules/node-credential-off-node.js';
import { examples as pkiHostMount } from '../../rules/pki-host-mount.js';
import { examples as pkiReadViaExec } from '../../rules/pki-read-via-exec.js';
import { examples as pkiReadViaNodeProxy } from '../../rules/pki-read-via-node-proxy.js';
import { examples as k8sPkiFileRead } from '../../rules/k8s-pki-file-read.js';
import { examples as kubeletPkiReadInContainer } from '../../rules/kubelet-pki-read-in-container.js';

/**
 * Each rule file's `examples(kit)` (they sit beside the rule, not on it, so that nothing they
 * build with ships), by rule id, in the order of rules/index.ts. A rule missing here fails every
 * test that reads its examples.
 */
const EXAMPLES: Readonly<Record<string, (kit: ExampleKit) => readonly RuleExample[]>> = {
  'csr-approved-by-non-system': csrApprovedByNonSystem,
  'csr-client-cert-created': csrClientCertCreated,
  'csr-issuance-chain': csrIssuanceChain,
  'csr-privileged-subject': csrPrivilegedSubject,
  'secret-read-by-node': secretReadByNode,
  'secret-read-by-service-account': secretReadByServiceAccount,
  'secret-sweep': secretSweep,
  'node-credential-off-node': nodeCredentialOffNode,
  'pki-host-mount': pkiHostMount,
  'pki-read-via-exec': pkiReadViaExec,
  'pki-read-via-node-proxy': pkiReadViaNodeProxy,
  'k8s-pki-file-read': k8sPkiFileRead,
  'kubelet-pki-read-in-container': kubeletPkiReadInContainer,
};

const REAL = new URL('../fixtures/real/', import.meta.url);

/** The kit with the corpus lines read from test/fixtures/real, which the suite owns. */
export const EXAMPLE_KIT: ExampleKit = Object.freeze({
  ...EXAMPLE_BUILDERS,
  realRecord(file: string, line: number): Record<string, unknown> {
    const text = readFileSync(new URL(file, REAL), 'utf8').split('\n')[line - 1];
    if (text === undefined || text.trim() === '') throw new Error(`test/fixtures/real/${file} has no line ${line}`);
    return JSON.parse(text) as Record<string, unknown>;
  },
});

const built = new Map<string, readonly RuleExample[]>();

/** The examples of one rule, built once for the whole suite. */
export function examplesOf(rule: AnyRule): readonly RuleExample[] {
  let found = built.get(rule.id);
  if (found === undefined) {
    const make = EXAMPLES[rule.id];
    if (make === undefined) throw new Error(`no examples for ${rule.id}: add its rule file's examples to test/helpers/rule-examples.ts`);
    found = Object.freeze(make(EXAMPLE_KIT));
    built.set(rule.id, found);
  }
  return found;
}
