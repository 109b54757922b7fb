import * as z from 'zod';

/**
 * Who reads Secrets for a living (docs/rules-secrets.md). Data only: the rules
 * in the Secret family merge these tables with deployment configuration and never repeat them.
 *
 * Trust is never given to a name alone: a client certificate's CN becomes the user name, so anyone
 * who can get a CSR approved can *be* `system:kube-controller-manager` by name. Each entry
 * is therefore bound to something the name does not give: the component's user agent for the
 * control plane, the pod-name claim of its bound token for an in-cluster controller.
 */

/** A control-plane identity that reads Secrets, and what it must look like to be trusted. */
export interface ControlPlaneSecretReader {
  /** Exact user name. */
  user: string;
  /**
   * The request's user agent must start with this. Undefined only where no public source shows
   * the component's user agent; those entries are trusted by name and say so in `why`.
   */
  userAgentPrefix?: string;
  why: string;
}

const KCM_UA = 'kube-controller-manager/';

/** kube-controller-manager's controllers that run with their own service account and read Secrets. */
const KCM_SECRET_CONTROLLERS: ReadonlyArray<[string, string]> = [
  ['namespace-controller', 'lists and deletes every object, Secrets included, of a namespace being deleted'],
  ['generic-garbage-collector', 'watches the metadata of every resource cluster-wide to follow owner references'],
  ['resourcequota-controller', 'lists Secrets to count them against quotas'],
  ['token-cleaner', 'deletes expired bootstrap-token Secrets in kube-system'],
  ['bootstrap-signer', 'reads bootstrap-token Secrets to sign the cluster-info ConfigMap'],
  ['legacy-service-account-token-cleaner', 'lists legacy service-account token Secrets to clean unused ones'],
  ['persistent-volume-binder', 'reads provisioner Secrets named by StorageClasses'],
  ['expand-controller', 'reads provisioner Secrets to expand volumes'],
  ['service-account-controller', 'manages service accounts and their token Secrets'],
];

export const CONTROL_PLANE_SECRET_READERS: readonly ControlPlaneSecretReader[] = Object.freeze([
  {
    user: 'system:kube-controller-manager',
    userAgentPrefix: KCM_UA,
    why: 'shared informers of the tokens controller and of controllers run without per-controller credentials',
  },
  { user: 'system:apiserver', userAgentPrefix: 'kube-apiserver/', why: 'loopback client of the API server itself' },
  ...KCM_SECRET_CONTROLLERS.map(([sa, why]) => ({
    user: `system:serviceaccount:kube-system:${sa}`,
    userAgentPrefix: KCM_UA,
    why: `kube-controller-manager ${sa}: ${why}`,
  })),
  // EKS (Elastic's cluster-wide Secret list rule excludes these; no public sample shows their user agent).
  { user: 'eks:kms-storage-migrator', why: 'EKS re-encrypts every Secret after KMS envelope encryption is enabled; trusted by name' },
  { user: 'eks:cloud-controller-manager', why: 'EKS cloud controller manager; trusted by name' },
].map((r) => Object.freeze(r)));

/**
 * A service account allowed to read Secrets beyond its own namespace, bound to the pods it runs
 * in: its token must carry a pod-name claim starting with `podNamePrefix`. Where the log does not
 * carry the claim (GKE, legacy token Secrets), the entry applies only through `userAgentPrefix`.
 */
export const SecretControllerEntry = z.object({
  /** `<namespace>:<name>` of the service account. */
  serviceAccount: z.string().regex(/^[^:\s]+:[^:\s]+$/, 'expected <namespace>:<name>'),
  podNamePrefix: z.string().min(1),
  userAgentPrefix: z.string().min(1).optional(),
  why: z.string().optional(),
});
export type SecretControllerEntry = z.infer<typeof SecretControllerEntry>;

/**
 * Controllers that read Secrets across namespaces by design, in their default install namespace
 * (Elastic's Secret rule binds the same kind of pairs to the pod name). A deployment
 * that installs them elsewhere adds its own entries. No user agent is given by default: none
 * was verified against a public capture, and a guessed one would trust a name.
 */
export const KNOWN_SECRET_CONTROLLERS: readonly SecretControllerEntry[] = Object.freeze(
  (
    [
      ['cert-manager:cert-manager', 'cert-manager-', 'reads issuer credentials and writes certificate Secrets'],
      ['cert-manager:cert-manager-cainjector', 'cert-manager-cainjector-', 'reads CA Secrets to inject caBundles'],
      ['external-secrets:external-secrets', 'external-secrets-', 'writes and reads synced Secrets in every namespace'],
      ['flux-system:kustomize-controller', 'kustomize-controller-', 'reads decryption and kubeconfig Secrets'],
      ['flux-system:helm-controller', 'helm-controller-', 'reads Helm release Secrets and values Secrets'],
      ['flux-system:source-controller', 'source-controller-', 'reads Git and registry credentials'],
      ['argocd:argocd-application-controller', 'argocd-application-controller-', 'reads cluster and repository Secrets'],
      ['argocd:argocd-server', 'argocd-server-', 'reads cluster, repository and SSO Secrets'],
      ['trivy-system:trivy-operator', 'trivy-operator-', 'reads image pull Secrets to scan private images'],
      ['kyverno:kyverno-admission-controller', 'kyverno-admission-controller-', 'reads Secrets named by policies'],
      ['kyverno:kyverno-background-controller', 'kyverno-background-controller-', 'clones Secrets into namespaces'],
      ['kube-system:kube-state-metrics', 'kube-state-metrics-', 'lists Secret metadata for its secrets collector'],
    ] as const
  ).map(([serviceAccount, podNamePrefix, why]) => Object.freeze({ serviceAccount, podNamePrefix, why })),
);

/** Options shared by the Secret rules that honour the controller allowlist. */
export const secretAllowlistOptions = {
  /** Extra controllers for this deployment, added to the defaults. */
  allow: z.array(SecretControllerEntry).default([]),
  /** Set false to drop KNOWN_SECRET_CONTROLLERS and trust only `allow`. */
  defaultAllowlist: z.boolean().default(true),
};

export function allowlistOf(options: { allow: readonly SecretControllerEntry[]; defaultAllowlist: boolean }): readonly SecretControllerEntry[] {
  return options.defaultAllowlist ? [...KNOWN_SECRET_CONTROLLERS, ...options.allow] : options.allow;
}
