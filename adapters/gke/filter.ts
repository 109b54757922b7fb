import { ConfigError } from '../../core/model/errors.js';
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

interface Term {
  resources: string[];
  subresources?: string[];
  verbs?: string[];
  userPrefixes?: string[];
  excludeUserAgentPrefixes?: string[];
}

// User names and agents carry `:`, `/` and `@`, literal in RE2 and harmless inside quotes.
const SAFE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
const sorted = (values: Iterable<string> | undefined): string[] | undefined => (values === undefined ? undefined : [...new Set(values)].sort());

/**
 * A prefix list the filter can carry, or undefined (no constraint) when one is not safe to put in
 * a pattern: leaving out a user constraint or an exclusion only keeps more entries.
 */
function safePrefixes(values: Iterable<string> | undefined): string[] | undefined {
  const list = sorted(values);
  return list !== undefined && list.every((v) => SAFE_PREFIX.test(v)) ? list : undefined;
}

/**
 * Each rule's own needs when the union carries them (the per-resource merge keeps, say, every pod
 * `get` because one rule wants pod creates and another all node-credential requests); resources
 * sharing the same constraints become one term, and `namespaces` always has a term of its own.
 */
function terms(union: NeedsUnion): Term[] | 'all' {
  const sources =
    union.perRule !== undefined
      ? union.perRule
      : [...union.resources].map(([resource, entry]) => ({ resources: [resource], ...entry }));
  const byKey = new Map<string, Term>();
  for (const needs of sources) {
    const subresources = sorted(needs.subresources);
    const verbs = sorted(needs.verbs);
    const userPrefixes = safePrefixes('userPrefixes' in needs ? needs.userPrefixes : undefined);
    const excluded = safePrefixes('excludeUserAgentPrefixes' in needs ? needs.excludeUserAgentPrefixes : undefined);
    // An empty list matches nothing: no rule can fire through this entry.
    if (subresources?.length === 0 || verbs?.length === 0 || userPrefixes?.length === 0) continue;
    for (const resource of [...needs.resources].sort()) {
      const values = [resource, ...(subresources ?? []).filter((s) => s !== ''), ...(verbs ?? [])];
      if (values.some((v) => !SAFE_NAME.test(v))) return 'all';
      const key = JSON.stringify([resource === 'namespaces', subresources ?? null, verbs ?? null, userPrefixes ?? null, excluded ?? null]);
      const term = byKey.get(key);
      if (term !== undefined) {
        if (!term.resources.includes(resource)) term.resources.push(resource);
        continue;
      }
      byKey.set(key, {
        resources: [resource],
        ...(subresources && { subresources }),
        ...(verbs && { verbs }),
        ...(userPrefixes && { userPrefixes }),
        ...(excluded !== undefined && excluded.length > 0 && { excludeUserAgentPrefixes: excluded }),
      });
    }
  }
  return [...byKey.values()].sort((x, y) => (x.resources[0]! < y.resources[0]! ? -1 : x.resources[0]! > y.resources[0]! ? 1 : 0));
}

// `namespaces/<x>/…` is a namespace scope unless what follows is one of the namespace object's own
// subresources (the table in resource-name.ts), so the namespace object has its own patterns.
const NAMESPACE_OBJECT = '^[^/]+/[^/]+/namespaces';
const NAMESPACE_SUBRESOURCES = ['finalize', 'status'];

function resourcePatterns(t: Term): string[] {
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

function termClause(t: Term): string {
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

/**
 * The needs part of the filter: `undefined` when no rule needs anything (nothing to read), `''`
 * when the union cannot be pushed down (read everything), else one parenthesised disjunction.
 */
export function compileNeedsClause(union: NeedsUnion): string | undefined {
  const ts = terms(union);
  if (ts === 'all') return '';
  if (ts.length === 0) return undefined;
  return `(${ts.map(termClause).join(' OR ')})`;
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
  const needs = compileNeedsClause(union);
  if (needs === undefined) return undefined;
  const clauses = scopeClauses(input, AUDIT_LOGS);
  if (needs !== '') clauses.push(needs);
  const filter = clauses.join('\nAND ');
  if (filter.length > FILTER_MAX_LENGTH) {
    // A union this large is not pushed down rather than rejected by the service.
    return scopeClauses(input, AUDIT_LOGS).join('\nAND ');
  }
  return filter;
}

/** The probe for "are Data Access logs on": any k8s.io Data Access entry in the window. */
export function dataAccessProbeFilter(input: GkeFilterInput): string {
  return scopeClauses(input, ['data_access']).join('\nAND ');
}
