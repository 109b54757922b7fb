import { newTarget, type Target } from '../../core/model/event.js';

/**
 * GKE `protoPayload.resourceName` → target (docs/source-gke.md). The path is
 * `<group>/<version>/<rest>` with `core` for the core group; `<rest>` is matched against a table
 * of named patterns, first match wins. Traps the table settles: the namespace object itself
 * (`core/v1/namespaces/x` is resource `namespaces`, not a scope), cluster-wide collections
 * (`core/v1/secrets`), cluster-scoped subresources (`…/certificatesigningrequests/<n>/approval`)
 * and the 2020 form of streaming subresources that repeats the pod name (`…/pods/p/exec/p`).
 */

type Segment =
  | { literal: string }
  | { capture: 'namespace' | 'resource' | 'name' | 'subresource'; oneOf?: ReadonlySet<string> }
  | { sameAs: 'name' };

export interface ResourcePattern {
  name: string;
  segments: readonly Segment[];
}

const lit = (literal: string): Segment => ({ literal });
const cap = (capture: 'namespace' | 'resource' | 'name' | 'subresource', oneOf?: ReadonlySet<string>): Segment =>
  oneOf === undefined ? { capture } : { capture, oneOf };

/** Subresources of the namespace object (Kubernetes `namespaceSubresources` in requestinfo.go). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const NAMESPACES = new Set(['namespaces']);

export const RESOURCE_PATTERNS: readonly ResourcePattern[] = Object.freeze([
  { name: 'namespace subresource', segments: [cap('resource', NAMESPACES), cap('name'), cap('subresource', NAMESPACE_SUBRESOURCES)] },
  {
    name: 'namespaced subresource, name repeated',
    segments: [lit('namespaces'), cap('namespace'), cap('resource'), cap('name'), cap('subresource'), { sameAs: 'name' }],
  },
  { name: 'namespaced subresource', segments: [lit('namespaces'), cap('namespace'), cap('resource'), cap('name'), cap('subresource')] },
  { name: 'namespaced object', segments: [lit('namespaces'), cap('namespace'), cap('resource'), cap('name')] },
  { name: 'namespaced collection', segments: [lit('namespaces'), cap('namespace'), cap('resource')] },
  { name: 'cluster-scoped subresource', segments: [cap('resource'), cap('name'), cap('subresource')] },
  { name: 'cluster-scoped object', segments: [cap('resource'), cap('name')] },
  { name: 'cluster-wide collection', segments: [cap('resource')] },
]);

const VERSION = /^v\d+(?:(?:alpha|beta)\d+)?$/;

export type ResourceNameMatch =
  /** `proxyPath`: what follows `/proxy` in a proxy subresource's name (`/metrics/cadvisor`, `/exec/ns/pod/c`). */
  | { kind: 'resource'; pattern: string; target: Target; proxyPath?: string }
  | { kind: 'unmatched'; path: string };

/**
 * The proxy subresource (nodes, pods, services) names the path it proxies after `proxy`, and GKE
 * logs it in resourceName (`core/v1/nodes/<node>/proxy/metrics/cadvisor`): the object part
 * must fit a subresource pattern, everything after `proxy` is the proxied path (without the query
 * string, which GKE does not log).
 */
function matchProxy(parts: readonly string[], group: string, version: string): ResourceNameMatch | undefined {
  for (const at of [4, 6]) {
    if (parts[at] !== 'proxy' || parts.length <= at + 1) continue;
    const head = parts.slice(0, at + 1);
    for (const pattern of RESOURCE_PATTERNS) {
      if (pattern.name !== 'namespaced subresource' && pattern.name !== 'cluster-scoped subresource') continue;
      const t = matchPattern(pattern, head, group, version);
      if (t !== undefined) return { kind: 'resource', pattern: `${pattern.name}, proxied path`, target: t, proxyPath: `/${parts.slice(at + 1).join('/')}` };
    }
  }
  return undefined;
}

/** A target of `group` (`core`: the core group) and `version`, the rest to be captured. */
function targetIn(group: string, version: string): Target {
  const t = newTarget();
  t.apiGroup = group === 'core' ? '' : group;
  t.apiVersion = version;
  return t;
}

function matchPattern(pattern: ResourcePattern, parts: readonly string[], group: string, version: string): Target | undefined {
  if (pattern.segments.length !== parts.length - 2) return undefined;
  // Made only once the length fits: a target for each pattern tried was most of the cost of a match.
  const t = targetIn(group, version);
  for (let i = 2; i < parts.length; i++) {
    const seg = pattern.segments[i - 2]!;
    const value = parts[i]!;
    if (value === '') return undefined;
    if ('literal' in seg) {
      if (value !== seg.literal) return undefined;
    } else if ('sameAs' in seg) {
      if (value !== t[seg.sameAs]) return undefined;
    } else {
      if (seg.oneOf !== undefined && !seg.oneOf.has(value)) return undefined;
      t[seg.capture] = value;
    }
  }
  return t;
}

/** Matches a resourceName; a path that fits no pattern is returned whole for the rejection. */
export function parseResourceName(resourceName: string): ResourceNameMatch {
  const parts = resourceName.split('/');
  const group = parts[0];
  const version = parts[1];
  if (group === undefined || group === '' || version === undefined || !VERSION.test(version)) {
    return { kind: 'unmatched', path: resourceName };
  }
  for (const pattern of RESOURCE_PATTERNS) {
    const t = matchPattern(pattern, parts, group, version);
    if (t !== undefined) return { kind: 'resource', pattern: pattern.name, target: t };
  }
  return matchProxy(parts, group, version) ?? { kind: 'unmatched', path: resourceName };
}
