import type { NeedsUnion } from './needs.js';
import type { CoverageNotice } from './source.js';

/**
 * The enabled rules' needs grouped into the disjuncts of a server-side filter, once for every
 * cloud (docs/architecture.md "Rules"): each adapter's `filter.ts` only renders the plan into its
 * query language. A filter may keep more than the rules want, never less; whatever this module
 * or a renderer widens is listed in `unpushed`, so the source can say so in its notices instead
 * of downloading more in silence.
 */

/**
 * One disjunct: any of `resources`, and (when given) any subresource, any verb, any user prefix,
 * and a user agent that starts with none of `excludeUserAgentPrefixes`. Lists are sorted and
 * without repeats, except `resources`, which keeps the order the needs named them in (each
 * need's own list sorted): a renderer sorts them when its language cares.
 */
export interface FilterTerm {
  resources: string[];
  /**
   * The positions of the needs with its constraints, ascending: what a renderer widens is
   * reported on them, and a renderer that orders terms breaks ties by the first.
   */
  needs: number[];
  subresources?: string[];
  verbs?: string[];
  userPrefixes?: string[];
  excludeUserAgentPrefixes?: string[];
}

/** A rule need the filter does not carry as it is, and what was done instead. */
export interface UnpushedNeed {
  /** The need's position in the union (`perRule`, else the per-resource entries). */
  need: number;
  reason: string;
}

/**
 * What a server-side filter is for one union of needs: `nothing` (no rule needs anything: read
 * nothing), `everything` (the needs cannot be pushed down: read every record), or a `filter`.
 */
export type Pushdown<F> =
  | { kind: 'nothing' }
  | { kind: 'everything'; unpushed: UnpushedNeed[] }
  | { kind: 'filter'; filter: F; unpushed: UnpushedNeed[] };

export type FilterPlan = Pushdown<FilterTerm[]>;

/** What a cloud's query language can carry. */
export interface PushdownLimits {
  /** The language, in messages: `a CloudWatch Logs filter pattern`. */
  language: string;
  /** A resource, subresource or verb it can carry; one it cannot makes the whole filter `everything`. */
  name: (value: string, field: 'resource' | 'subresource' | 'verb') => boolean;
  /** A user or user-agent prefix it can carry; one it cannot drops that constraint of the need. */
  prefix: (value: string) => boolean;
  /** Resources that always get a term of their own (their patterns differ from the others'). */
  ownTerm?: readonly string[];
}

interface Need {
  resources: Iterable<string>;
  subresources?: Iterable<string>;
  verbs?: Iterable<string>;
  userPrefixes?: Iterable<string>;
  excludeUserAgentPrefixes?: Iterable<string>;
}

const sorted = (values: Iterable<string> | undefined): string[] | undefined => (values === undefined ? undefined : [...new Set(values)].sort());
const quoted = (values: readonly string[]): string => values.map((v) => JSON.stringify(v)).join(', ');

/**
 * The terms of a union: each rule's own needs when the union carries them (the per-resource
 * merge would keep, say, every pod `get` because one rule wants pod creates and another pod exec
 * `get`s); resources whose needs have the same other constraints share one term. Terms come in
 * the order their first resource was met.
 */
export function planFilter(union: NeedsUnion, limits: PushdownLimits): FilterPlan {
  const needs: readonly Need[] =
    union.perRule !== undefined ? union.perRule : [...union.resources].map(([resource, entry]) => ({ resources: [resource], ...entry }));
  const byKey = new Map<string, FilterTerm>();
  const unpushed: UnpushedNeed[] = [];
  const unsafe: UnpushedNeed[] = [];
  const bare: Array<{ key: string; need: number }> = [];
  needs.forEach((n, need) => {
    const subresources = sorted(n.subresources);
    const verbs = sorted(n.verbs);
    const users = sorted(n.userPrefixes);
    const agents = sorted(n.excludeUserAgentPrefixes);
    // Leaving out a user constraint or an exclusion only keeps more records.
    const userPrefixes = users?.every(limits.prefix) === false ? undefined : users;
    const excluded = agents?.every(limits.prefix) === false ? undefined : agents;
    // An empty list matches nothing: no rule can fire through this need.
    if (subresources?.length === 0 || verbs?.length === 0 || userPrefixes?.length === 0) return;
    const resources = sorted(n.resources) ?? [];
    const shared = (own: string | null): string => JSON.stringify([own, subresources ?? null, verbs ?? null, userPrefixes ?? null, excluded ?? null]);
    if (resources.length === 0) {
      // It adds no resource, but its position still orders the term it shares constraints with.
      bare.push({ key: shared(null), need });
      return;
    }
    if (users !== undefined && userPrefixes === undefined) {
      unpushed.push({ need, reason: `user prefixes ${quoted(users.filter((p) => !limits.prefix(p)))} cannot be written in ${limits.language}: the need's user constraint is left out` });
    }
    if (agents !== undefined && excluded === undefined) {
      unpushed.push({ need, reason: `user-agent prefixes ${quoted(agents.filter((p) => !limits.prefix(p)))} cannot be written in ${limits.language}: the need's user-agent exclusion is left out` });
    }
    const odd = [
      ...resources.filter((r) => !limits.name(r, 'resource')),
      ...(subresources ?? []).filter((s) => !limits.name(s, 'subresource')),
      ...(verbs ?? []).filter((v) => !limits.name(v, 'verb')),
    ];
    if (odd.length > 0) unsafe.push({ need, reason: `names ${quoted(odd)} cannot be written in ${limits.language}: no filter is pushed down, every record of the window is read` });
    for (const resource of resources) {
      const key = shared(limits.ownTerm?.includes(resource) === true ? resource : null);
      const term = byKey.get(key);
      if (term !== undefined) {
        if (!term.resources.includes(resource)) term.resources.push(resource);
        if (!term.needs.includes(need)) term.needs.push(need);
        continue;
      }
      byKey.set(key, {
        resources: [resource],
        needs: [need],
        ...(subresources && { subresources }),
        ...(verbs && { verbs }),
        ...(userPrefixes && { userPrefixes }),
        ...(excluded !== undefined && excluded.length > 0 && { excludeUserAgentPrefixes: excluded }),
      });
    }
  });
  for (const { key, need } of bare) {
    const term = byKey.get(key);
    if (term !== undefined) term.needs = [...term.needs, need].sort((a, b) => a - b);
  }
  if (unsafe.length > 0) return { kind: 'everything', unpushed: unsafe };
  if (byKey.size === 0) return { kind: 'nothing' };
  return { kind: 'filter', filter: [...byKey.values()], unpushed };
}

/** `everything`, every term's needs unpushed for `reason`: a renderer that cannot fit the filter at all. */
export function notPushedDown(terms: readonly FilterTerm[], reason: string): Pushdown<never> {
  const needs = [...new Set(terms.flatMap((t) => t.needs))].sort((a, b) => a - b);
  return { kind: 'everything', unpushed: needs.map((need) => ({ need, reason })) };
}

/** The same decision with the filter rendered; `nothing` and `everything` pass through. */
export function renderPlan<F>(plan: FilterPlan, render: (terms: FilterTerm[], unpushed: UnpushedNeed[]) => F): Pushdown<F> {
  if (plan.kind !== 'filter') return plan;
  const unpushed = [...plan.unpushed];
  return { kind: 'filter', filter: render(plan.filter, unpushed), unpushed };
}

export const PUSHDOWN_NOTICE = 'needs-not-pushed-down';

/**
 * The notice a source gives when some needs were widened: how many, and why. Reasons repeated
 * across needs (or across a source's projects or tables) are said once.
 */
export function pushdownNotice(source: string, pushdowns: Iterable<Pushdown<unknown>>): CoverageNotice | undefined {
  const needs = new Set<number>();
  const reasons = new Set<string>();
  for (const p of pushdowns) {
    if (p.kind === 'nothing') continue;
    for (const u of p.unpushed) {
      needs.add(u.need);
      reasons.add(u.reason);
    }
  }
  if (needs.size === 0) return undefined;
  return {
    code: PUSHDOWN_NOTICE,
    message: `${source}: ${needs.size} rule need${needs.size === 1 ? '' : 's'} could not be pushed down to the server-side filter, so more is downloaded than the rules use (never less): ${[...reasons].join('; ')}`,
  };
}
