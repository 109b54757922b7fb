import type { AuditEvent } from './event.js';
import type { AnyRule, RuleNeeds } from './rule.js';

/** True when a rule with these needs can fire on the event (the engine's dispatch test). */
export function matchesNeeds(needs: RuleNeeds, event: AuditEvent): boolean {
  const resource = event.target.resource;
  if (resource === undefined || !needs.resources.includes(resource)) return false;
  if (needs.subresources !== undefined && !needs.subresources.includes(event.target.subresource ?? '')) {
    return false;
  }
  if (needs.verbs !== undefined && !needs.verbs.includes(event.verb)) return false;
  if (needs.userPrefixes !== undefined) {
    const user = event.user.name;
    if (user === undefined || !needs.userPrefixes.some((p) => user.startsWith(p))) return false;
  }
  const ua = event.userAgent;
  if (ua !== undefined && needs.excludeUserAgentPrefixes?.some((p) => ua.startsWith(p)) === true) return false;
  return true;
}

/**
 * The union of rules' needs, grouped per resource, for the adapters' server-side filters.
 * `subresources`/`verbs` undefined means "any" for that resource. `resources` ignores the
 * user and user-agent constraints, so it over-approximates (keeps more, never less).
 */
export interface NeedsUnion {
  resources: Map<string, { subresources?: Set<string>; verbs?: Set<string> }>;
  /**
   * Each rule's own needs, when known. `resources` merges lists per resource (a cross product);
   * a server-side filter built from these keeps only what some rule can really fire on.
   */
  perRule?: readonly RuleNeeds[];
}

export function unionNeeds(rules: readonly AnyRule[]): NeedsUnion {
  const resources: NeedsUnion['resources'] = new Map();
  for (const rule of rules) {
    for (const resource of rule.needs.resources) {
      const current = resources.get(resource);
      const sub = rule.needs.subresources;
      const verbs = rule.needs.verbs;
      if (current === undefined) {
        const entry: { subresources?: Set<string>; verbs?: Set<string> } = {};
        if (sub !== undefined) entry.subresources = new Set(sub);
        if (verbs !== undefined) entry.verbs = new Set(verbs);
        resources.set(resource, entry);
        continue;
      }
      // "any" absorbs a specific list; two lists merge.
      if (current.subresources !== undefined) {
        if (sub === undefined) delete current.subresources;
        else for (const s of sub) current.subresources.add(s);
      }
      if (current.verbs !== undefined) {
        if (verbs === undefined) delete current.verbs;
        else for (const v of verbs) current.verbs.add(v);
      }
    }
  }
  return { resources, perRule: rules.map((r) => r.needs) };
}

/**
 * True when an event passes the union (what a correct server-side filter must keep): some
 * rule's exact needs when the union carries them, else the per-resource over-approximation.
 */
export function matchesUnion(union: NeedsUnion, event: AuditEvent): boolean {
  if (union.perRule !== undefined) return union.perRule.some((needs) => matchesNeeds(needs, event));
  const resource = event.target.resource;
  if (resource === undefined) return false;
  const entry = union.resources.get(resource);
  if (entry === undefined) return false;
  if (entry.subresources !== undefined && !entry.subresources.has(event.target.subresource ?? '')) return false;
  if (entry.verbs !== undefined && !entry.verbs.has(event.verb)) return false;
  return true;
}
