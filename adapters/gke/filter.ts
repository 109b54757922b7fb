import { ConfigError } from '../../core/model/errors.js';
import { notPushedDown, planFilter, renderPlan, type FilterPlan, type FilterTerm, type PushdownLimits, type Pushdown } from '../../core/model/filter-plan.js';
import type { NeedsUnion } from '../../core/model/needs.js';
import type { ScanWindow } from '../../core/model/source.js';

/**
 * The Cloud Logging query (entries.list `filter`) for one project and window, with the enabled
 * rules' needs pushed down (docs/architecture.md "Rules"). Query-language facts it relies on
 * (https://cloud.google.com/logging/docs/view/logging-query-language): clauses joined by `AND`/`OR` (upper case) with parentheses; `=~` is an RE2
 * search, case-sensitive, which the patterns anchor; `logName` values are URL-encoded; RFC 3339
 * strings compare as times. Patterns use `[.]` instead of `\.` so no string escaping is involved.
 *
 * Resource and subresource are matched on `protoPayload.resourceName` and the verb on the last
 * segment of `protoPayload.methodName`, the same fields `adapters/gke/parse.ts` derives them from
 * (docs/source-gke.md), so the server keeps every entry the parser could turn into an event
 * the union accepts. The patterns may keep a few more (e.g. a CRD resource of the same name); the
 * engine drops those.
 *
 * A rule's `userPrefixes` match `protoPayload.authenticationInfo.principalEmail` (or
 * `principalSubject`, the parser's fallback) with an anchored `=~`, and its
 * `excludeUserAgentPrefixes` become `NOT protoPayload.requestMetadata.callerSuppliedUserAgent=~"^…"`.
 * The query language documents NOT as a boolean operator on the comparison that follows it
 * (`expression = ["NOT"] comparison …`, highest precedence) and a comparison on a field an entry
 * does not have as not matching, so an entry without a user agent passes the NOT and is kept, as
 * the engine keeps it. The "Missing fields" section of the reference could not be read for this
 * change; if the service ever treated NOT of a missing field as false, UA-less node-credential
 * entries (rare: the API server records the header whenever the client sends one) would be dropped.
 */

/** Entries may reach Cloud Logging this long after their `timestamp` and still be scanned. */
export const DEFAULT_MAX_LATENESS_MS = 2 * 60 * 60 * 1000;

// The query language caps a filter at 20,000 characters.
export const FILTER_MAX_LENGTH = 20_000;

const AUDIT_LOGS = ['activity', 'data_access'] as const;
// Kubernetes names are DNS-label-like; anything else might need escaping the patterns avoid, so a
// union holding one is not pushed down (every k8s.io audit entry of the window is read instead).
const SAFE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const CLUSTER_NAME = /^[a-z]([a-z0-9-]{0,98}[a-z0-9])?$/;

export function validateProject(project: string): void {
  // Older projects may carry a domain prefix (`example.com:proj`), which the project-id test allows.
  const bare = project.includes(':') ? project.slice(project.indexOf(':') + 1) : project;
  if (!PROJECT_ID.test(bare)) throw new ConfigError('gke-project', `--gke: "${project}" is not a Google Cloud project ID (lower-case letters, digits and hyphens, 6–30 characters)`);
}

export function validateCluster(cluster: string): void {
  if (!CLUSTER_NAME.test(cluster)) throw new ConfigError('gke-cluster', `--gke-cluster: "${cluster}" is not a GKE cluster name (lower-case letters, digits and hyphens)`);
}

const re = (name: string): string => name.replaceAll('.', '[.]');
const alt = (names: readonly string[]): string => (names.length === 1 ? re(names[0]!) : `(${names.map(re).join('|')})`);

// `<group>/<version>/` then an optional namespace scope, the resource, and what may follow it.
const PREFIX = '^[^/]+/[^/]+/(namespaces/[^/]+/)?';

// User names and agents carry `:`, `/` and `@`, literal in RE2 and harmless inside quotes.
const SAFE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;

export const GKE_LIMITS: PushdownLimits = {
  language: 'a Cloud Logging filter',
  // `''` is the object itself: a resourceName that ends after the name.
  name: (v, field) => (field === 'subresource' && v === '') || SAFE_NAME.test(v),
  // Leaving out a user constraint or an exclusion only keeps more entries.
  prefix: (p) => SAFE_PREFIX.test(p),
  // The namespace object's resourceName reads like a namespace scope: its patterns differ.
  ownTerm: ['namespaces'],
};

// `namespaces/<x>/…` is a namespace scope unless what follows is one of the namespace object's own
// subresources (the table in resource-name.ts), so the namespace object has its own patterns.
const NAMESPACE_OBJECT = '^[^/]+/[^/]+/namespaces';
const NAMESPACE_SUBRESOURCES = ['finalize', 'status'];

function resourcePatterns(t: FilterTerm): string[] {
  const isNamespaces = t.resources.length === 1 && t.resources[0] === 'namespaces';
  const base = isNamespaces ? NAMESPACE_OBJECT : `${PREFIX}${alt(t.resources)}`;
  // Any subresource: a name, a subresource, and the 2020 form's repeated pod name or a proxied path.
  if (t.subresources === undefined) return [isNamespaces ? `${base}(/[^/]+(/${alt(NAMESPACE_SUBRESOURCES)})?)?$` : `${base}(/[^/]+(/[^/]+(/[^/]+)?)?|/[^/]+/proxy/.*)?$`];
  const out: string[] = [];
  // '' is the object (or collection) itself: at most a name after the resource.
  if (t.subresources.includes('')) out.push(`${base}(/[^/]+)?$`);
  const subs = t.subresources.filter((s) => s !== '');
  // A trailing segment after the subresource is the 2020 form that repeats the pod name; after
  // `proxy` comes the proxied path, of any length (`…/nodes/<n>/proxy/metrics/cadvisor`).
  const tail = subs.includes('proxy') ? '(/.*)?' : '(/[^/]+)?';
  if (subs.length > 0) out.push(isNamespaces ? `${base}/[^/]+/${alt(subs)}$` : `${base}/[^/]+/${alt(subs)}${tail}$`);
  return out;
}

// The parser takes the user from principalEmail, else principalSubject (adapters/gke/parse.ts).
const USER_FIELDS = ['protoPayload.authenticationInfo.principalEmail', 'protoPayload.authenticationInfo.principalSubject'];
const USER_AGENT = 'protoPayload.requestMetadata.callerSuppliedUserAgent';

function termClause(t: FilterTerm): string {
  const paths = resourcePatterns(t).map((p) => `protoPayload.resourceName=~"${p}"`);
  const parts = [paths.length === 1 ? paths[0]! : `(${paths.join(' OR ')})`];
  if (t.verbs !== undefined) parts.push(`protoPayload.methodName=~"[.]${alt(t.verbs)}$"`);
  if (t.userPrefixes !== undefined) {
    const users = t.userPrefixes;
    parts.push(`(${USER_FIELDS.map((f) => `${f}=~"^${alt(users)}"`).join(' OR ')})`);
  }
  // NOT negates the comparison as a whole: an entry without a user agent fails the match and so
  // passes the NOT, which keeps it, as the engine does (see the module comment).
  if (t.excludeUserAgentPrefixes !== undefined) parts.push(`NOT ${USER_AGENT}=~"^${alt(t.excludeUserAgentPrefixes)}"`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
}

/** The needs part of the filter: one parenthesised disjunction of the plan's terms. */
export function gkeNeeds(union: NeedsUnion): Pushdown<string> {
  return renderNeeds(planFilter(union, GKE_LIMITS));
}

function renderNeeds(plan: FilterPlan): Pushdown<string> {
  return renderPlan(plan, (terms) => {
    const ordered = [...terms].sort((x, y) => (x.resources[0]! < y.resources[0]! ? -1 : x.resources[0]! > y.resources[0]! ? 1 : 0));
    return `(${ordered.map(termClause).join(' OR ')})`;
  });
}

/** The clause of `gkeNeeds` when the needs are pushed down as a filter, else undefined. */
export function compileNeedsClause(union: NeedsUnion): string | undefined {
  const p = gkeNeeds(union);
  return p.kind === 'filter' ? p.filter : undefined;
}

export interface GkeFilterInput {
  project: string;
  cluster?: string;
  window: ScanWindow;
  maxLatenessMs?: number;
}

const iso = (d: Date): string => d.toISOString();

/** The clauses every query of a window shares: audit logs of GKE API servers, window, lateness. */
function scopeClauses(input: GkeFilterInput, logs: readonly string[]): string[] {
  const { project, cluster, window } = input;
  const lateness = input.maxLatenessMs ?? DEFAULT_MAX_LATENESS_MS;
  const names = logs.map((l) => `logName="projects/${project}/logs/cloudaudit.googleapis.com%2F${l}"`);
  const clauses = [
    names.length === 1 ? names[0]! : `(${names.join(' OR ')})`,
    'resource.type="k8s_cluster"',
    'protoPayload.serviceName="k8s.io"',
  ];
  if (cluster !== undefined) clauses.push(`resource.labels.cluster_name="${cluster}"`);
  clauses.push(
    // The window is on the ingestion axis, so consecutive windows see a late entry exactly once.
    `receiveTimestamp>="${iso(window.from)}"`,
    `receiveTimestamp<"${iso(window.to)}"`,
    // An explicit `timestamp` bound also stops the Node client from adding its own 24 h one.
    `timestamp>="${iso(new Date(window.from.getTime() - lateness))}"`,
  );
  return clauses;
}

/** The entries.list filter for the window, or undefined when no rule needs any GKE entry. */
export function buildGkeFilter(input: GkeFilterInput, union: NeedsUnion): string | undefined {
  const p = gkeFilter(input, union);
  return p.kind === 'nothing' ? undefined : p.kind === 'everything' ? scopeFilter(input) : p.filter;
}

/** Every k8s.io audit entry of the window: the filter of needs that are not pushed down. */
export function scopeFilter(input: GkeFilterInput): string {
  return scopeClauses(input, AUDIT_LOGS).join('\nAND ');
}

/** The whole entries.list filter for the window, the needs pushed down when they can be and fit. */
export function gkeFilter(input: GkeFilterInput, union: NeedsUnion): Pushdown<string> {
  const plan = planFilter(union, GKE_LIMITS);
  const needs = renderNeeds(plan);
  if (needs.kind !== 'filter' || plan.kind !== 'filter') return needs;
  const filter = `${scopeFilter(input)}\nAND ${needs.filter}`;
  // A union this large is not pushed down rather than rejected by the service.
  if (filter.length > FILTER_MAX_LENGTH) {
    return notPushedDown(plan.filter, `the filter would be ${filter.length} characters, over Cloud Logging's ${FILTER_MAX_LENGTH}: no filter is pushed down, every k8s.io entry of the window is read`);
  }
  return { ...needs, filter };
}

/** The probe for "are Data Access logs on": any k8s.io Data Access entry in the window. */
export function dataAccessProbeFilter(input: GkeFilterInput): string {
  return scopeClauses(input, ['data_access']).join('\nAND ');
}
