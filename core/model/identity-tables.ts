import type { Cloud } from './event.js';

/** The identity tables rules read through their context; the defaults and classification are in core/detection/identity.ts. */

/** Control-plane names one cloud's managed control plane uses. */
export interface CloudIdentityTable {
  users: readonly string[];
  prefixes: readonly string[];
}

export type ManagedCloud = Exclude<Cloud, 'k8s'>;

export interface IdentityTables {
  /** Exact user names of upstream control-plane components, on every cloud. */
  controlPlaneUsers: readonly string[];
  /** Prefixes of control-plane identities on every cloud. */
  controlPlanePrefixes: readonly string[];
  /** Node TLS-bootstrap identities (exact names; `system:bootstrap:<token-id>` is always one). */
  bootstrapUsers: readonly string[];
  /**
   * Control-plane names that only exist on one managed cloud: `eks:*` on an AKS cluster is not
   * a control-plane component. Events whose cloud is unknown (`k8s`, a bare file) get the union.
   */
  cloudControlPlane?: Partial<Record<ManagedCloud, CloudIdentityTable>>;
  /** Identities that approve and sign CSRs of the built-in signers (the kube-controller-manager's and each cloud's). */
  csrControllers?: readonly string[];
  /**
   * Regular expressions (source text) of cloud principals allowed to carry a control-plane name:
   * an IAM role mapped to `eks:…` or `system:kube-controller-manager` through aws-auth is a
   * customer's principal, not the managed control plane (docs/source-eks.md).
   */
  controlPlanePrincipals?: readonly string[];
}
