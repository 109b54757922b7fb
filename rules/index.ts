import type { AnyRule } from '../core/model/rule.js';

// One import per rule file; keep sorted by family, then id.
import csrApprovedByNonSystem from './csr-approved-by-non-system.js';
import csrClientCertCreated from './csr-client-cert-created.js';
import csrIssuanceChain from './csr-issuance-chain.js';
import csrPrivilegedSubject from './csr-privileged-subject.js';
import secretReadByNode from './secret-read-by-node.js';
import secretReadByServiceAccount from './secret-read-by-service-account.js';
import secretSweep from './secret-sweep.js';
import nodeCredentialOffNode from './node-credential-off-node.js';
import pkiHostMount from './pki-host-mount.js';
import pkiReadViaExec from './pki-read-via-exec.js';
import pkiReadViaNodeProxy from './pki-read-via-node-proxy.js';
import k8sPkiFileRead from './k8s-pki-file-read.js';
import kubeletPkiReadInContainer from './kubelet-pki-read-in-container.js';

export const RULES: readonly AnyRule[] = Object.freeze([
  csrApprovedByNonSystem,
  csrClientCertCreated,
  csrIssuanceChain,
  csrPrivilegedSubject,
  secretReadByNode,
  secretReadByServiceAccount,
  secretSweep,
  nodeCredentialOffNode,
  pkiHostMount,
  pkiReadViaExec,
  pkiReadViaNodeProxy,
  k8sPkiFileRead,
  kubeletPkiReadInContainer,
]);
