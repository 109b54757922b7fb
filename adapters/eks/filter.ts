import { planFilter, renderPlan, type FilterTerm, type PushdownLimits, type Pushdown, type UnpushedNeed } from '../../core/model/filter-plan.js';
import type { NeedsUnion } from '../../core/model/needs.js';

/**
 * The CloudWatch Logs filter pattern compiled from the enabled rules' needs, so FilterLogEvents
 * only downloads the audit events some rule can use (docs/architecture.md "Rules").
 *
 * Pattern language facts this relies on (CloudWatch Logs user guide, "Filter and pattern syntax",
 * JSON log events):
 * - a JSON pattern is `{ … }`, selectors start at `$`, strings are compared with `=`, compound
 *   conditions use `&&` / `||` with parentheses, precedence `()` > `&&` > `||`;
 * - there is no set operator, so a list becomes an `||` chain;
 * - `$.x NOT EXISTS` is true only when the property is absent. Kubernetes omits
 *   `objectRef.subresource` for requests on the object itself (`omitempty`), which is what a
 *   rule's `''` subresource means;
 * - the whole pattern is at most 1,024 characters: a longer union is split into several
 *   patterns whose union is the same set of events, run one after the other;
 * - `*` is a wildcard inside string values, with `=` and with `!=` (the user guide's example
 *   `{ $.sourceIPAddress != 123.123.* }`), so a rule's
 *   `userPrefixes` become `$.user.username = "<prefix>*"` and its `excludeUserAgentPrefixes`
 *   `$.userAgent != "<prefix>*"`. The guide does not say whether `!=` matches an event that lacks
 *   the property; a request without a user agent must be kept, so each exclusion carries its own
 *   `|| $.userAgent NOT EXISTS` and is right either way.
 */

export const FILTER_PATTERN_MAX_LENGTH = 1024;

/**
 * CloudWatch Logs cuts an event over its size limit and ends it with `[Truncated...]`; what is
 * left is not JSON, so no JSON pattern matches it and the needs patterns never download it. This
 * term pattern does: an exact phrase in double quotes, as the user guide ("Using filter patterns
 * to match terms in unstructured log events") requires of a term holding brackets and dots. The
 * cut lines it brings are salvaged by the parser as in files (adapters/eks/parse.ts); whichever
 * no rule needs, the engine drops. JSON lines never match it unless a value holds the phrase,
 * and the source drops such a duplicate by eventId.
 */
export const CUT_LINE_PATTERN = '"[Truncated...]"';

/** Requests that carry no body: their audit lines stay far below CloudWatch's 256 KB cut. */
const BODYLESS_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward', 'proxy']);

/**
 * The queries of a window with the cut-line query added, unless nothing is read, everything
 * already is, or every needed request is a bodyless one (the exec look-back of runtime sensors).
 */
export function withCutLineQuery(queries: readonly EksQuery[], union: NeedsUnion): EksQuery[] {
  if (queries.length === 0 || queries.some((q) => q.pattern === undefined)) return [...queries];
  const bodyless = [...union.resources.values()].every((e) => e.subresources !== undefined && [...e.subresources].every((s) => BODYLESS_SUBRESOURCES.has(s)));
  return bodyless ? [...queries] : [...queries, { pattern: CUT_LINE_PATTERN }];
}

/** One FilterLogEvents query; `pattern` undefined downloads every event of the audit streams. */
export interface EksQuery {
  pattern?: string;
}

// Kubernetes resource, subresource and verb names are DNS-label-like; anything else could need
// escaping rules the pattern language does not document, so such a union is not pushed down.
const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
// User names and agents carry `:` and `/` (`system:node:`, `kubelet/`), harmless inside quotes; a
// prefix with anything else (a `*` or `"` of its own) is left out of the pattern, which only widens it.
const SAFE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;

export const EKS_LIMITS: PushdownLimits = {
  language: 'a CloudWatch Logs filter pattern',
  // `''` is a missing subresource (`NOT EXISTS`) or an empty verb; a resource is always named.
  name: (v, field) => (v === '' ? field !== 'resource' : SAFE_VALUE.test(v)),
  prefix: (p) => SAFE_PREFIX.test(p),
};

/**
 * The filter patterns for a union of needs, each at most `maxLength` characters; several
 * patterns are run as several queries whose union is the same set of events.
 */
export function eksFilter(union: NeedsUnion, maxLength = FILTER_PATTERN_MAX_LENGTH): Pushdown<string[]> {
  return renderPlan(planFilter(union, EKS_LIMITS), (planned, unpushed) => {
    const terms = planned
      .map((t) => ({ ...t, resources: [...t.resources].sort() }))
      .sort((a, b) => (a.resources[0] ?? '').localeCompare(b.resources[0] ?? '') || (a.needs[0] ?? 0) - (b.needs[0] ?? 0));
    const pieces = terms.flatMap((t) => fitTerm(t, maxLength - '{  }'.length, unpushed));
    const patterns: string[] = [];
    let current: string[] = [];
    for (const piece of pieces) {
      const candidate = [...current, piece];
      if (current.length > 0 && wrap(candidate).length > maxLength) {
        patterns.push(wrap(current));
        current = [piece];
      } else {
        current = candidate;
      }
    }
    if (current.length > 0) patterns.push(wrap(current));
    return patterns;
  });
}

/** The FilterLogEvents queries of a pushdown: none, one without a pattern, or one per pattern. */
export function queriesOf(p: Pushdown<string[]>): EksQuery[] {
  if (p.kind === 'nothing') return [];
  if (p.kind === 'everything') return [{}];
  return p.filter.map((pattern) => ({ pattern }));
}

/** The queries to run for a union of needs (`eksFilter` as FilterLogEvents requests). */
export function compileEksFilter(union: NeedsUnion, maxLength = FILTER_PATTERN_MAX_LENGTH): EksQuery[] {
  return queriesOf(eksFilter(union, maxLength));
}

const wrap = (terms: readonly string[]): string => `{ ${terms.join(' || ')} }`;

/**
 * Renders a term, halving its longest list until each piece fits: `A && (v1 || v2 || v3)` is the
 * same set as `(A && (v1 || v2)) || (A && v3)` because an event has one value per field.
 */
function fitTerm(term: FilterTerm, budget: number, unpushed: UnpushedNeed[]): string[] {
  const text = renderTerm(term);
  if (text.length <= budget) return [text];
  // Alternatives only: the user-agent exclusions are a conjunction and cannot be split this way.
  const lists: Array<'resources' | 'subresources' | 'verbs' | 'userPrefixes'> = ['resources', 'subresources', 'verbs', 'userPrefixes'];
  let longest: (typeof lists)[number] | undefined;
  for (const k of lists) {
    const list = term[k];
    if (list !== undefined && list.length > 1 && (longest === undefined || list.length > (term[longest]?.length ?? 0))) {
      longest = k;
    }
  }
  // Without its exclusions the term keeps more events, never fewer.
  if (longest === undefined && term.excludeUserAgentPrefixes !== undefined) {
    const { excludeUserAgentPrefixes: _dropped, ...wider } = term;
    for (const need of term.needs) unpushed.push({ need, reason: `a term's user-agent exclusions do not fit in ${budget} characters of pattern: they are left out` });
    return fitTerm(wider, budget, unpushed);
  }
  // Unreachable with the 200-character caps and the 1,024 budget; kept as a loud failure.
  if (longest === undefined) throw new RangeError(`filter term does not fit in ${budget} characters: ${text.slice(0, 80)}…`);
  const list = term[longest] ?? [];
  const half = Math.ceil(list.length / 2);
  return [
    ...fitTerm({ ...term, [longest]: list.slice(0, half) }, budget, unpushed),
    ...fitTerm({ ...term, [longest]: list.slice(half) }, budget, unpushed),
  ];
}

function renderTerm(term: FilterTerm): string {
  const parts = [anyOf(term.resources.map((r) => `$.objectRef.resource = "${r}"`))];
  if (term.subresources !== undefined) {
    parts.push(
      anyOf(term.subresources.map((s) => (s === '' ? '$.objectRef.subresource NOT EXISTS' : `$.objectRef.subresource = "${s}"`))),
    );
  }
  if (term.verbs !== undefined) parts.push(anyOf(term.verbs.map((v) => `$.verb = "${v}"`)));
  if (term.userPrefixes !== undefined) parts.push(anyOf(term.userPrefixes.map((p) => `$.user.username = "${p}*"`)));
  if (term.excludeUserAgentPrefixes !== undefined) {
    const none = term.excludeUserAgentPrefixes.map((p) => `$.userAgent != "${p}*"`);
    parts.push(`(${none.length === 1 ? none[0] : `(${none.join(' && ')})`} || $.userAgent NOT EXISTS)`);
  }
  return parts.length === 1 ? (parts[0] ?? '') : `(${parts.join(' && ')})`;
}

const anyOf = (conditions: readonly string[]): string =>
  conditions.length === 1 ? (conditions[0] ?? '') : `(${conditions.join(' || ')})`;
