import { planFilter, renderPlan, type PushdownLimits, type Pushdown } from '../../core/model/filter-plan.js';
import type { NeedsUnion } from '../../core/model/needs.js';
import type { ScanWindow } from '../../core/model/source.js';

/**
 * The KQL the AKS source sends to Log Analytics (https://learn.microsoft.com/azure/azure-monitor/logs/api/overview): a window on ingestion
 * time, the cluster, the union of the enabled rules' needs, and a projection of only the columns
 * the event model reads. Compiled per table layout, because the resource-specific tables carry
 * the Event split into columns while AzureDiagnostics keeps it as JSON text in `log_s`.
 */

export type AksLayout = 'resource-specific' | 'azure-diagnostics';
export type AksAuditCategory = 'kube-audit' | 'kube-audit-admin';

/** One table (and, for AzureDiagnostics, one category) a window is read from. */
export type AksTableSource =
  | { layout: 'resource-specific'; table: 'AKSAudit' | 'AKSAuditAdmin' }
  | { layout: 'azure-diagnostics'; table: 'AzureDiagnostics'; category: AksAuditCategory };

export const AUDIT_CATEGORIES: readonly AksAuditCategory[] = Object.freeze(['kube-audit', 'kube-audit-admin']);

/** A table's column named for what it holds in the event model; the rest is never downloaded. */
export const RESOURCE_SPECIFIC_COLUMNS: readonly string[] = Object.freeze([
  'TimeGenerated',
  'IngestedAt = ingestion_time()',
  'Level',
  'AuditId',
  'Stage',
  'RequestUri',
  'Verb',
  'User',
  'SourceIps',
  'UserAgent',
  'ObjectRef',
  'ResponseStatus',
  'RequestObject',
  'ResponseObject',
  'RequestReceivedTime',
  'StageReceivedTime',
  'Annotations',
  '_ResourceId',
  'Type',
]);

/** AzureDiagnostics is up to 500 columns wide; the Event is all in `log_s`. */
export const AZURE_DIAGNOSTICS_COLUMNS: readonly string[] = Object.freeze([
  'TimeGenerated',
  'IngestedAt = ingestion_time()',
  'Category',
  'ResourceId',
  'log_s',
  'Type',
]);

/** AKS cluster names: letters, digits, `-` and `_`, at most 63 characters. */
export const AKS_CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function kqlString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

const list = (values: Iterable<string>): string => `(${[...values].sort().map(kqlString).join(', ')})`;

export function kqlDatetime(d: Date): string {
  return `datetime(${d.toISOString()})`;
}

/** `[from, to)` on ingestion time: consecutive windows partition the timeline exactly. */
export function ingestionClause(window: ScanWindow): string {
  return `where ingestion_time() >= ${kqlDatetime(window.from)} and ingestion_time() < ${kqlDatetime(window.to)}`;
}

/** `endswith` is case-insensitive in KQL; resource ids come upper- and lower-case. */
export function clusterClause(cluster: string): string {
  return `where _ResourceId endswith ${kqlString(`/managedclusters/${cluster}`)}`;
}

interface Accessors {
  resource: string;
  subresource: string;
  verb: string;
  user: string;
  userAgent: string;
}

const ACCESSORS: Record<AksLayout, Accessors> = {
  'resource-specific': {
    resource: 'tostring(ObjectRef.resource)',
    subresource: 'tostring(ObjectRef.subresource)',
    verb: 'Verb',
    user: 'tostring(User.username)',
    userAgent: 'UserAgent',
  },
  'azure-diagnostics': {
    resource: 'tostring(Audit.objectRef.resource)',
    subresource: 'tostring(Audit.objectRef.subresource)',
    verb: 'tostring(Audit.verb)',
    user: 'tostring(Audit.user.username)',
    userAgent: 'tostring(Audit.userAgent)',
  },
};

/** KQL string literals escape anything (`kqlString`), so every need is pushed down as it is. */
export const AKS_LIMITS: PushdownLimits = { language: 'KQL', name: () => true, prefix: () => true };

/**
 * The needs as one boolean KQL expression. A missing subresource reads as `""` through
 * `tostring`, which is exactly the needs' `''` ("the object itself"). User and user-agent
 * prefixes use the case-sensitive `startswith_cs`, as the engine compares them; a row without a
 * user agent reads as `""` and is kept, as the engine keeps it.
 */
export function kqlNeeds(needs: NeedsUnion, layout: AksLayout): Pushdown<string> {
  const a = ACCESSORS[layout];
  return renderPlan(planFilter(needs, AKS_LIMITS), (terms) => {
    const clauses = terms
      .map((g) => {
        const parts = [`${a.resource} in ${list(g.resources)}`];
        if (g.subresources !== undefined) parts.push(`${a.subresource} in ${list(g.subresources)}`);
        if (g.verbs !== undefined) parts.push(`${a.verb} in ${list(g.verbs)}`);
        if (g.userPrefixes !== undefined) {
          const any = g.userPrefixes.map((p) => `${a.user} startswith_cs ${kqlString(p)}`);
          parts.push(any.length === 1 ? any[0]! : `(${any.join(' or ')})`);
        }
        if (g.excludeUserAgentPrefixes !== undefined) {
          const none = g.excludeUserAgentPrefixes.map((p) => `not(${a.userAgent} startswith_cs ${kqlString(p)})`);
          parts.push(`(isempty(${a.userAgent}) or ${none.join(' and ')})`);
        }
        return { first: [...g.resources].sort()[0]!, text: parts.join(' and ') };
      })
      .sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : x.text < y.text ? -1 : 1))
      .map((c) => c.text);
    return clauses.length === 1 ? clauses[0]! : clauses.map((c) => `(${c})`).join(' or ');
  });
}

/** The predicate of `kqlNeeds` when the needs are pushed down as a filter, else undefined. */
export function needsPredicate(needs: NeedsUnion, layout: AksLayout): string | undefined {
  const p = kqlNeeds(needs, layout);
  return p.kind === 'filter' ? p.filter : undefined;
}

/**
 * `has_any` uses the term index, so only rows whose text names one of the resources are parsed
 * with `parse_json`, the expensive step. A resource name with delimiters (a CRD plural with `-`)
 * is not one term, so then no pre-filter is emitted rather than one that could drop rows.
 */
function termPrefilter(needs: NeedsUnion): string | undefined {
  const resources = [...needs.resources.keys()];
  if (resources.length === 0 || !resources.every((r) => /^[a-z0-9]+$/.test(r))) return undefined;
  return `where log_s has_any ${list(resources)}`;
}

export interface DataQueryInput {
  source: AksTableSource;
  needs: NeedsUnion;
  window: ScanWindow;
  cluster?: string;
  /** Rows to ask for: one more than the page cap, so an overflow is visible. */
  take: number;
}

/** The query for one table and window, or undefined when the needs select nothing. */
export function buildDataQuery(input: DataQueryInput): string | undefined {
  const pushdown = kqlNeeds(input.needs, input.source.layout);
  if (pushdown.kind === 'nothing') return undefined;
  const predicate = pushdown.kind === 'filter' ? pushdown.filter : undefined;
  const lines = [input.source.table, `| ${ingestionClause(input.window)}`];
  if (input.source.layout === 'azure-diagnostics') lines.push(`| where Category == ${kqlString(input.source.category)}`);
  if (input.cluster !== undefined) lines.push(`| ${clusterClause(input.cluster)}`);
  if (input.source.layout === 'azure-diagnostics') {
    const pre = termPrefilter(input.needs);
    if (pre !== undefined) lines.push(`| ${pre}`);
    lines.push('| extend Audit = parse_json(log_s)');
  }
  // A log_s that Azure cut at 16 KiB is not JSON, so no predicate on Audit can judge it: a row whose
  // text does not end with the Event's closing brace is kept for the parser to salvage, as in files.
  if (predicate !== undefined) lines.push(input.source.layout === 'azure-diagnostics' ? `| where (${predicate}) or not(log_s endswith "}" or log_s endswith "}\\n")` : `| where ${predicate}`);
  const columns = input.source.layout === 'azure-diagnostics' ? AZURE_DIAGNOSTICS_COLUMNS : RESOURCE_SPECIFIC_COLUMNS;
  lines.push(`| project ${columns.join(', ')}`);
  lines.push(`| take ${input.take}`);
  return lines.join('\n');
}

const LAYOUT_TABLES: Record<AksLayout, string[]> = {
  'resource-specific': ['AKSAudit', 'AKSAuditAdmin'],
  'azure-diagnostics': ['AzureDiagnostics'],
};

/**
 * A cheap count of audit rows per table and category in the window: it tells which layout the
 * workspace uses and whether only `kube-audit-admin` arrives. `column_ifexists` because the
 * resource-specific tables have no Category column; `isfuzzy` because a workspace has only the
 * tables some diagnostic setting ever wrote to.
 */
export function buildProbeQuery(layouts: readonly AksLayout[], window: ScanWindow, cluster?: string): string {
  const tables = layouts.flatMap((l) => LAYOUT_TABLES[l]);
  const category = 'column_ifexists("Category", "")';
  const lines = [
    `union isfuzzy=true ${tables.join(', ')}`,
    `| ${ingestionClause(window)}`,
    `| where Type != "AzureDiagnostics" or ${category} in ${list(AUDIT_CATEGORIES)}`,
  ];
  if (cluster !== undefined) lines.push(`| ${clusterClause(cluster)}`);
  lines.push(`| summarize Rows = count() by Type, Category = ${category}`);
  return lines.join('\n');
}
