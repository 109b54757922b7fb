import type { AuditEvent } from '../model/event.js';

/**
 * What the kubelet's own API traffic looks like, so rules can tell a node's kubelet from a stolen
 * kubelet credential used elsewhere (docs/rules-secrets.md).
 */

/**
 * The kubelet sends `kubelet/v1.30.2 (linux/amd64) kubernetes/…`; GKE and AKS use the same form:
 * `^kubelet\/v?\d`, checked by hand because rules ask it of every earlier request of a node
 * (up to the history bound per event), where a regex call was a visible share of a scan.
 */
export function isKubeletUserAgent(userAgent: string | undefined): boolean {
  if (userAgent === undefined || !userAgent.startsWith('kubelet/')) return false;
  let c = userAgent.charCodeAt(8);
  if (c === 0x76) c = userAgent.charCodeAt(9); // the optional `v`
  return c >= 0x30 && c <= 0x39;
}

/**
 * The Node authorizer only lets a kubelet read objects of pods bound to it, one name at a time: a
 * `get` of one object, or a list/watch restricted by `fieldSelector=metadata.name=<x>`.
 * Returns the single name read, or undefined when the request reads more than one object (or
 * when the log does not show the selector: GKE logs no query string).
 */
export function singleNameRead(event: AuditEvent): string | undefined {
  if (event.verb === 'get') return event.target.name;
  if ((event.verb !== 'list' && event.verb !== 'watch') || event.query === undefined) return undefined;
  // Asked of nearly every Secret read (a kubelet's single-name watches are most of them): the pairs
  // are walked as they are, without lists of the values first.
  // (Indexed, and split only for a selector of several terms: the iterators and lists it allocated
  // were 5 MB of a 1,000-node bench scan's garbage.)
  const query = event.query;
  for (let i = 0; i < query.length; i++) {
    const pair = query[i]!;
    if (pair[0] !== 'fieldSelector') continue;
    const selector = pair[1];
    if (!selector.includes(',')) {
      const name = nameOfTerm(selector);
      if (name !== undefined) return name;
      continue;
    }
    const terms = selector.split(',');
    for (let t = 0; t < terms.length; t++) {
      const name = nameOfTerm(terms[t]!);
      if (name !== undefined) return name;
    }
  }
  return undefined;
}
const NAME_TERM = /^metadata\.name(?:==?)(.+)$/;
const nameOfTerm = (term: string): string | undefined => NAME_TERM.exec(term.trim())?.[1];

export interface KubeletProxyTarget {
  /** Node name as addressed (a `:port` or `https:` scheme prefix removed). */
  node: string;
  /** The kubelet API path behind the proxy, e.g. `/exec/default/web/app`. */
  path: string;
  /** First segment of that path: `exec`, `run`, `attach`, `portforward`, `cri`, `metrics`… */
  endpoint: string;
  /** `<namespace>/<pod>` for the per-pod endpoints (`/exec/<ns>/<pod>/<container>`). */
  pod?: string;
}

const NODE_PROXY_PATH = /^\/api\/v1\/nodes\/([^/]+)\/proxy(\/.*)?$/;
const PER_POD_ENDPOINTS: ReadonlySet<string> = new Set(['exec', 'run', 'attach', 'portforward', 'containerLogs']);

/**
 * The kubelet endpoint a `nodes/proxy` request reaches, from its request URI (docs/rules-cert-theft.md). Undefined when the log has no URI (GKE) or the URI is not a node proxy URL.
 */
export function kubeletProxyPath(event: AuditEvent): KubeletProxyTarget | undefined {
  if (event.requestURI === undefined) return undefined;
  let pathname: string;
  try {
    pathname = new URL(event.requestURI, 'https://apiserver.invalid').pathname;
  } catch {
    return undefined;
  }
  const m = NODE_PROXY_PATH.exec(pathname);
  if (m === null) return undefined;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const node = decode(m[1]!).replace(/^https?:/, '').replace(/:\d+$/, '');
  const path = m[2] === undefined ? '/' : decode(m[2]);
  const segments = path.split('/').filter((s) => s !== '');
  const endpoint = segments[0] ?? '';
  const target: KubeletProxyTarget = { node, path, endpoint };
  if (PER_POD_ENDPOINTS.has(endpoint) && segments[1] !== undefined && segments[2] !== undefined) {
    target.pod = `${segments[1]}/${segments[2]}`;
  }
  return target;
}
