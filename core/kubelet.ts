import { queryValues, type AuditEvent } from './event.js';

/**
 * What the kubelet's own API traffic looks like, so rules can tell a node's kubelet from a stolen
 * kubelet credential used elsewhere (research/rules.md §2, gap G5; issue "Secret get/list").
 */

/** The kubelet sends `kubelet/v1.30.2 (linux/amd64) kubernetes/…`; GKE and AKS use the same form. */
const KUBELET_UA = /^kubelet\/v?\d/;

export function isKubeletUserAgent(userAgent: string | undefined): boolean {
  return userAgent !== undefined && KUBELET_UA.test(userAgent);
}

/**
 * The Node authorizer only lets a kubelet read objects of pods bound to it, one name at a time: a
 * `get` of one object, or a list/watch restricted by `fieldSelector=metadata.name=<x>`.
 * Returns the single name read, or undefined when the request reads more than one object (or
 * when the log does not show the selector: GKE logs no query string).
 */
export function singleNameRead(event: AuditEvent): string | undefined {
  if (event.verb === 'get') return event.target.name;
  if (event.verb !== 'list' && event.verb !== 'watch') return undefined;
  for (const selector of queryValues(event, 'fieldSelector')) {
    for (const term of selector.split(',')) {
      const m = /^metadata\.name(?:==?)(.+)$/.exec(term.trim());
      if (m?.[1] !== undefined) return m[1];
    }
  }
  return undefined;
}
