import { posix } from 'node:path';

/**
 * Files on a node (or in a pod) whose contents are Kubernetes credentials: control-plane and kubelet
 * PKI, kubeconfigs, service-account and workload-identity tokens.
 * One ordered table; the first entry that matches a path decides. `verified` names the public
 * source that shows the path in use; `false` marks paths from general knowledge of managed nodes
 * that no source we read confirms (kept, and marked as such).
 */

export type SensitiveKind = 'private-key' | 'certificate' | 'kubeconfig' | 'token' | 'directory';

export interface SensitivePathEntry {
  id: string;
  /**
   * Absolute globs (`*` = one path segment or part of one). A glob ending in `/` names a directory:
   * the directory and everything below it match, each file classified by its name.
   */
  globs: readonly string[];
  /** Kind of the matched file; for a directory glob, the kind of files whose name says nothing. */
  kind: Exclude<SensitiveKind, 'directory'>;
  /** The file (or, for a directory, some file in it) is or embeds a private key or long-lived secret. */
  holdsPrivateKey: boolean;
  what: string;
  verified: string | false;
  /** Concrete files this entry stands for: used to decide what a glob or a recursive copy reaches. */
  samples: readonly string[];
}

export const SENSITIVE_PATHS: readonly SensitivePathEntry[] = Object.freeze([
  {
    id: 'control-plane-pki',
    globs: ['/etc/kubernetes/pki/'],
    kind: 'certificate',
    holdsPrivateKey: true,
    what: 'control-plane PKI (kubeadm): cluster CA, API server, etcd and front-proxy keys; EKS nodes keep the cluster CA here',
    verified: 'aquasecurity/tracee TRC-1018; elastic/detection-rules credential_access_kubernetes_and_cloud_credential_paths_via_process_args',
    samples: ['/etc/kubernetes/pki/ca.key', '/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/apiserver-kubelet-client.key', '/etc/kubernetes/pki/sa.key', '/etc/kubernetes/pki/etcd/ca.key'],
  },
  {
    id: 'kubelet-pki',
    globs: ['/var/lib/kubelet/pki/'],
    kind: 'certificate',
    holdsPrivateKey: true,
    what: 'kubelet client and serving certificates; kubelet-client-current.pem holds the node client key',
    verified: 'elastic/detection-rules discovery_kubelet_certificate_file_access',
    samples: ['/var/lib/kubelet/pki/kubelet-client-current.pem', '/var/lib/kubelet/pki/kubelet-server-current.pem', '/var/lib/kubelet/pki/kubelet.crt', '/var/lib/kubelet/pki/kubelet.key'],
  },
  {
    id: 'aks-node-certs',
    globs: ['/etc/kubernetes/certs/'],
    kind: 'certificate',
    holdsPrivateKey: true,
    what: 'AKS node certificates (client.key, kubeletserver.key, ca.crt)',
    verified: false,
    samples: ['/etc/kubernetes/certs/client.key', '/etc/kubernetes/certs/kubeletserver.key', '/etc/kubernetes/certs/ca.crt', '/etc/kubernetes/certs/apiserver.crt'],
  },
  {
    id: 'kubeadm-admin-kubeconfigs',
    globs: ['/etc/kubernetes/admin.conf', '/etc/kubernetes/super-admin.conf', '/etc/kubernetes/controller-manager.conf', '/etc/kubernetes/scheduler.conf'],
    kind: 'kubeconfig',
    // kubeadm writes these with the client certificate and key embedded (`kubeadm certs renew
    // scheduler.conf` renews "the certificate embedded in the kubeconfig file").
    holdsPrivateKey: true,
    what: 'kubeadm kubeconfigs with embedded client keys (cluster-admin, controller-manager, scheduler)',
    verified: 'elastic/detection-rules persistence_kubernetes_sensitive_file_activity (/etc/kubernetes/*.conf), admin.conf in the credential-paths rule; kubeadm reference docs',
    samples: ['/etc/kubernetes/admin.conf', '/etc/kubernetes/super-admin.conf', '/etc/kubernetes/controller-manager.conf', '/etc/kubernetes/scheduler.conf'],
  },
  {
    id: 'node-kubeconfigs',
    globs: ['/etc/kubernetes/*.conf', '/etc/kubernetes/*.kubeconfig'],
    kind: 'kubeconfig',
    holdsPrivateKey: false,
    what: 'other kubeconfigs under /etc/kubernetes (kubelet.conf, bootstrap-kubelet.conf)',
    verified: 'elastic/detection-rules persistence_kubernetes_sensitive_file_activity (/etc/kubernetes/*.conf)',
    samples: ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/bootstrap-kubelet.conf'],
  },
  {
    id: 'kubelet-kubeconfig',
    globs: ['/var/lib/kubelet/kubeconfig'],
    kind: 'kubeconfig',
    holdsPrivateKey: false,
    what: 'the kubelet kubeconfig (EKS, AKS and GKE nodes)',
    verified: 'elastic/detection-rules credential_access_kubernetes_and_cloud_credential_paths_via_process_args (/var/lib/kubelet/kubeconfig)',
    samples: ['/var/lib/kubelet/kubeconfig'],
  },
  {
    id: 'bootstrap-kubeconfigs',
    globs: ['/var/lib/kubelet/bootstrap-kubeconfig', '/var/lib/kubelet/bootstrap-kubelet.conf'],
    kind: 'kubeconfig',
    holdsPrivateKey: false,
    what: 'kubelet TLS-bootstrap kubeconfigs (GKE, AKS): can request a fresh node certificate',
    verified: false,
    samples: ['/var/lib/kubelet/bootstrap-kubeconfig'],
  },
  {
    id: 'serviceaccount-token',
    globs: ['/var/run/secrets/kubernetes.io/serviceaccount/token'],
    kind: 'token',
    holdsPrivateKey: false,
    what: 'the pod service-account token',
    verified: 'panther-labs/panther-analysis k8s_steal_serviceaccount_token; DataDog/stratus-red-team k8s.credential-access.steal-serviceaccount-token',
    samples: ['/var/run/secrets/kubernetes.io/serviceaccount/token'],
  },
  {
    id: 'eks-irsa-token',
    globs: ['/var/run/secrets/eks.amazonaws.com/serviceaccount/token'],
    kind: 'token',
    holdsPrivateKey: false,
    what: 'EKS IRSA web-identity token (AWS role credentials)',
    verified: 'panther-labs/panther-analysis k8s_steal_serviceaccount_token (EKS IRSA case)',
    samples: ['/var/run/secrets/eks.amazonaws.com/serviceaccount/token'],
  },
  {
    id: 'eks-pod-identity-token',
    globs: ['/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token'],
    kind: 'token',
    holdsPrivateKey: false,
    what: 'EKS Pod Identity token',
    verified: false,
    samples: ['/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token'],
  },
  {
    id: 'aks-workload-identity-token',
    globs: ['/var/run/secrets/azure/tokens/azure-identity-token'],
    kind: 'token',
    holdsPrivateKey: false,
    what: 'AKS workload-identity federated token (Entra ID credentials)',
    verified: 'panther-labs/panther-analysis k8s_steal_serviceaccount_token (AKS workload identity case)',
    samples: ['/var/run/secrets/azure/tokens/azure-identity-token'],
  },
  {
    id: 'gke-workload-identity-token',
    globs: ['/var/run/secrets/tokens/gcp-ksa/token'],
    kind: 'token',
    holdsPrivateKey: false,
    what: 'GKE workload-identity projected token',
    verified: 'panther-labs/panther-analysis k8s_steal_serviceaccount_token (GKE case; hand-written fixture)',
    samples: ['/var/run/secrets/tokens/gcp-ksa/token'],
  },
  {
    id: 'node-pod-volume-tokens',
    globs: ['/var/lib/kubelet/pods/*/volumes/kubernetes.io~projected/*/token', '/var/lib/kubelet/pods/*/volumes/kubernetes.io~secret/'],
    kind: 'token',
    holdsPrivateKey: false,
    what: "every pod's projected service-account token and secret volumes, as the node stores them",
    verified: false,
    samples: ['/var/lib/kubelet/pods/0/volumes/kubernetes.io~projected/kube-api-access-0/token', '/var/lib/kubelet/pods/0/volumes/kubernetes.io~secret/s/token'],
  },
] satisfies SensitivePathEntry[]);

/** Where node filesystems are commonly mounted inside pods; `/proc/1/root` is the host root with hostPID. */
export const DEFAULT_HOST_MOUNT_PREFIXES: readonly string[] = Object.freeze(['/host', '/hostfs', '/rootfs', '/node', '/host-root', '/proc/1/root']);

/** `/run` and `/var/run` are one directory on every distribution kubelets run on. */
const ALIASES: readonly (readonly [string, string])[] = Object.freeze([['/run/', '/var/run/']]);

export interface PathMatch {
  /** The path as written. */
  path: string;
  /** Host-mount prefix stripped, `/run` aliased, `.`/`..` resolved. */
  nodePath: string;
  hostPrefix?: string;
  entry: string;
  kind: SensitiveKind;
  privateKey: boolean;
  verified: boolean;
}

const PRIVATE_KEY_NAME = /(\.key|-key\.pem|^kubelet-(client|server)(-[^/]*)?\.pem|\.p12|\.pfx)$/;
const CERT_NAME = /\.(crt|pem|cer|pub)$/;

/** Kind of a file below a directory entry, from its name (kubelet's rotated .pem files hold the key too). */
function kindBelow(entry: SensitivePathEntry, rest: string): { kind: SensitiveKind; privateKey: boolean } {
  if (rest === '') return { kind: 'directory', privateKey: entry.holdsPrivateKey };
  const name = rest.split('/').pop() ?? rest;
  if (PRIVATE_KEY_NAME.test(name)) return { kind: 'private-key', privateKey: true };
  if (CERT_NAME.test(name)) return { kind: entry.kind === 'token' ? 'token' : 'certificate', privateKey: false };
  // A name without an extension below a PKI directory is a sub-directory (pki/etcd) or a bare file.
  if (!name.includes('.') && entry.kind !== 'token') return { kind: 'directory', privateKey: entry.holdsPrivateKey };
  return { kind: entry.kind, privateKey: false };
}

/** One `[...]` class at `p[i]` (`p[i] === '['`): whether `c` is in it, and the index after `]`. */
function matchClass(p: string, i: number, c: string): { ok: boolean; next: number } | undefined {
  let j = i + 1;
  const negate = p[j] === '!' || p[j] === '^';
  if (negate) j++;
  const start = j;
  let ok = false;
  while (j < p.length && (p[j] !== ']' || j === start)) {
    const lo = p[j]!;
    if (p[j + 1] === '-' && j + 2 < p.length && p[j + 2] !== ']') {
      if (c >= lo && c <= p[j + 2]!) ok = true;
      j += 3;
    } else {
      if (c === lo) ok = true;
      j++;
    }
  }
  if (j >= p.length) return undefined; // no closing bracket: a literal '['
  return { ok: ok !== negate, next: j + 1 };
}

/**
 * Shell wildcard match of one path segment, `*` `?` `[...]`. Iterative with one backtrack point
 * (the last `*`), so O(len(p) * len(s)): globs come from logged commands, an attacker's input, and
 * a backtracking regex over them could be made to run for hours.
 */
function segmentMatch(p: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const c = s[si]!;
    const pc = p[pi];
    if (pc === '*') {
      starP = pi++;
      starS = si;
      continue;
    }
    if (pc === '?') {
      pi++;
      si++;
      continue;
    }
    if (pc === '[') {
      const m = matchClass(p, pi, c);
      if (m === undefined ? c === '[' : m.ok) {
        pi = m === undefined ? pi + 1 : m.next;
        si++;
        continue;
      }
    } else if (pc === c) {
      pi++;
      si++;
      continue;
    }
    if (starP === -1) return false;
    pi = starP + 1;
    si = ++starS;
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** True when `path` matches the absolute `glob`; wildcards never cross `/`. */
export function globMatch(glob: string, path: string): boolean {
  const gs = glob.split('/');
  const ps = path.split('/');
  if (gs.length !== ps.length) return false;
  return gs.every((g, i) => segmentMatch(g, ps[i]!));
}

export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

export interface PathOptions {
  hostMountPrefixes?: readonly string[];
}

/** The path as the node sees it, and the host-mount prefix it was reached through. */
export function nodePathOf(path: string, opts: PathOptions = {}): { nodePath: string; hostPrefix?: string } {
  let p = posix.normalize(path);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  let hostPrefix: string | undefined;
  for (const prefix of opts.hostMountPrefixes ?? DEFAULT_HOST_MOUNT_PREFIXES) {
    const pre = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    if (pre !== '' && (p === pre || p.startsWith(`${pre}/`))) {
      hostPrefix = pre;
      p = p === pre ? '/' : p.slice(pre.length);
      break;
    }
  }
  for (const [from, to] of ALIASES) if (p.startsWith(from)) p = to + p.slice(from.length);
  return hostPrefix === undefined ? { nodePath: p } : { nodePath: p, hostPrefix };
}

function withPrefix(base: Omit<PathMatch, 'entry' | 'kind' | 'privateKey' | 'verified'>, entry: SensitivePathEntry, kind: SensitiveKind, privateKey: boolean): PathMatch {
  return { ...base, entry: entry.id, kind, privateKey, verified: entry.verified !== false };
}

/** Classifies one concrete absolute path (no glob): the first table entry that holds it. */
function classifyConcrete(base: Omit<PathMatch, 'entry' | 'kind' | 'privateKey' | 'verified'>): PathMatch | undefined {
  const p = base.nodePath;
  for (const entry of SENSITIVE_PATHS) {
    for (const glob of entry.globs) {
      if (glob.endsWith('/')) {
        const dir = glob.slice(0, -1);
        const segs = dir.split('/').length;
        const parts = p.split('/');
        if (parts.length < segs || !globMatch(dir, parts.slice(0, segs).join('/'))) continue;
        const k = kindBelow(entry, parts.slice(segs).join('/'));
        return withPrefix(base, entry, k.kind, k.privateKey);
      }
      if (globMatch(glob, p)) return withPrefix(base, entry, entry.kind, entry.holdsPrivateKey);
    }
  }
  return undefined;
}

/** Entries whose sample files a glob or a recursive read of `p` reaches; the one holding a key first. */
function classifyReach(base: Omit<PathMatch, 'entry' | 'kind' | 'privateKey' | 'verified'>, reach: (sample: string) => boolean): PathMatch | undefined {
  let best: PathMatch | undefined;
  for (const entry of SENSITIVE_PATHS) {
    for (const sample of entry.samples) {
      if (!reach(sample)) continue;
      const m = classifyConcrete({ path: sample, nodePath: sample });
      if (m === undefined) continue;
      const candidate = withPrefix(base, entry, m.kind, m.privateKey);
      if (best === undefined || (candidate.privateKey && !best.privateKey)) best = candidate;
    }
  }
  return best;
}

export interface ClassifyOptions extends PathOptions {
  /** The reader copies directories recursively (tar c, cp -r): a directory above a credential counts. */
  recursive?: boolean;
  /** A recursive read of a directory this shallow (`/`, `/etc`) is not counted: too broad to mean theft. */
  minRecursiveDepth?: number;
}

/** What credential, if any, reading `path` exposes. Relative paths are not judged. */
export function classifyPath(path: string, opts: ClassifyOptions = {}): PathMatch | undefined {
  if (!path.startsWith('/')) return undefined;
  const base = { path, ...nodePathOf(path, opts) };
  if (hasGlob(base.nodePath)) {
    const prefix = base.nodePath.slice(0, base.nodePath.search(/[*?[]/));
    const viaDir = classifyConcrete({ ...base, nodePath: prefix.endsWith('/') ? prefix.slice(0, -1) : prefix });
    const reached = classifyReach(base, (s) => globMatch(base.nodePath, s));
    if (reached !== undefined) return reached;
    // A glob inside a credential directory (pki/*) reads what is in it.
    return viaDir !== undefined && viaDir.kind === 'directory' ? viaDir : undefined;
  }
  const direct = classifyConcrete(base);
  if (direct !== undefined || opts.recursive !== true) return direct;
  const depth = base.nodePath === '/' ? 0 : base.nodePath.split('/').length - 1;
  if (depth < (opts.minRecursiveDepth ?? 2)) return undefined;
  const m = classifyReach(base, (s) => s.startsWith(`${base.nodePath}/`));
  return m === undefined ? undefined : { ...m, kind: 'directory' };
}
