import type { Origin } from '../../core/model/event.js';
import {
  isObject,
  k8sEventToAudit,
  normaliseTime,
  parseK8sEventText,
  type JsonObject,
  type K8sEventContext,
} from '../k8s/parse.js';
import { rejected, skipped, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';

/**
 * AKS audit logs (docs/source-aks.md; https://learn.microsoft.com/azure/azure-monitor/reference/tables/aksaudit) in their three shapes:
 * - a diagnostic-settings record (Event Hub / Storage) `{time, resourceId, category, properties:{log}}`
 *   where `log` is the Event as a string (usually newline-terminated) or, rarely, an object;
 * - an `AzureDiagnostics` row (`Category`, `log_s`, `ResourceId`);
 * - an `AKSAudit` / `AKSAuditAdmin` row, the Event split into columns whose dynamic values are
 *   JSON strings (Log Analytics API, `az … -o json`) or objects (SDK, portal export).
 */

const AUDIT_CATEGORIES = new Set(['kube-audit', 'kube-audit-admin']);
const MANAGED_CLUSTER = /\/managedclusters\/([^/]+)/i;

/** The cluster of an AKS resource id (`…/MANAGEDCLUSTERS/<NAME>` or lower-case), lower-cased. */
export function clusterOfResourceId(resourceId: unknown): string | undefined {
  if (typeof resourceId !== 'string') return undefined;
  // Records of one export name few clusters, usually one after another: remember the last answer.
  if (resourceId !== lastResourceId) {
    lastResourceId = resourceId;
    lastCluster = MANAGED_CLUSTER.exec(resourceId)?.[1]?.toLowerCase();
  }
  return lastCluster;
}
let lastResourceId: string | undefined;
let lastCluster: string | undefined;

function contextFor(origin: Origin, hints: ParseHints, resourceId: unknown, time: unknown, ingested: unknown): K8sEventContext {
  const ctx: K8sEventContext = { cloud: 'aks', origin };
  const cluster = hints.cluster ?? clusterOfResourceId(resourceId) ?? clusterOfResourceId(hints.logGroup);
  if (cluster !== undefined) ctx.cluster = cluster;
  const ingestedAt = normaliseTime(ingested) ?? hints.ingestedAt;
  if (ingestedAt !== undefined) ctx.ingestedAt = ingestedAt;
  const envelopeTime = normaliseTime(time);
  if (envelopeTime !== undefined) ctx.envelopeTime = envelopeTime;
  return ctx;
}

/** Parses the Event text of a `log` / `log_s` value, salvaging a 16 KiB cut. */
function parseLogText(log: string, ctx: K8sEventContext): ParseOutcome {
  const text = log.endsWith('\n') ? log.trimEnd() : log;
  if (text === '') return skipped(ctx.origin, 'empty', 'empty log');
  // Other categories routed to the same place carry klog text; a kube-audit log is always JSON.
  if (text.charCodeAt(0) !== 0x7b) return rejected(ctx.origin, 'malformed-json', `log is not JSON: ${text.slice(0, 60)}`);
  // A 16 KiB cut (Azure/AKS#4635) no longer parses; an Event-looking prefix is salvaged.
  return parseK8sEventText(text, ctx);
}

function categoryCheck(category: unknown, origin: Origin): ParseOutcome | undefined {
  if (typeof category === 'string' && AUDIT_CATEGORIES.has(category)) return undefined;
  if (category === undefined) return rejected(origin, 'missing-field', 'AKS record has no category');
  return skipped(origin, 'other-category', `category ${String(category).slice(0, 60)}`);
}

/** True for a diagnostic-settings record. */
export function isAksDiagnosticRecord(v: JsonObject): boolean {
  return isObject(v['properties']) && (typeof v['category'] === 'string' || typeof v['resourceId'] === 'string');
}

/** One diagnostic-settings record (an item of `{records:[…]}` or one line of a Storage blob). */
export function parseAksRecord(record: unknown, origin: Origin, hints: ParseHints = {}): ParseOutcome {
  if (!isObject(record)) return rejected(origin, 'unknown-shape', 'AKS record is not a JSON object');
  const notAudit = categoryCheck(record['category'], origin);
  if (notAudit !== undefined) return notAudit;
  const props = record['properties'];
  if (!isObject(props)) return rejected(origin, 'missing-field', 'AKS record has no properties');
  const ctx = contextFor(origin, hints, record['resourceId'], record['time'], undefined);
  const log = props['log'];
  if (typeof log === 'string') return parseLogText(log, ctx);
  if (isObject(log)) return k8sEventToAudit(log, ctx);
  return rejected(origin, 'missing-field', 'AKS record has no properties.log');
}

/** True for an `AzureDiagnostics` row. */
export function isAzureDiagnosticsRow(v: JsonObject): boolean {
  return v['Type'] === 'AzureDiagnostics' || (typeof v['Category'] === 'string' && 'log_s' in v);
}

export function parseAzureDiagnosticsRow(row: unknown, origin: Origin, hints: ParseHints = {}): ParseOutcome {
  if (!isObject(row)) return rejected(origin, 'unknown-shape', 'AzureDiagnostics row is not a JSON object');
  const notAudit = categoryCheck(row['Category'], origin);
  if (notAudit !== undefined) return notAudit;
  const ctx = contextFor(origin, hints, row['ResourceId'] ?? row['_ResourceId'], row['TimeGenerated'], row['_TimeReceived']);
  const log = row['log_s'];
  if (typeof log === 'string') return parseLogText(log, ctx);
  return rejected(origin, 'missing-field', 'AzureDiagnostics row has no log_s');
}

/** True for an `AKSAudit` / `AKSAuditAdmin` row. */
export function isAksAuditRow(v: JsonObject): boolean {
  const type = v['Type'];
  if (type === 'AKSAudit' || type === 'AKSAuditAdmin') return true;
  return 'AuditId' in v && 'Verb' in v;
}

/** A dynamic column: a JSON string is parsed, '' means absent, a non-JSON string stays as is. */
function dynamic(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? undefined;
  if (v === '') return undefined;
  const c = v.charCodeAt(0);
  if (c !== 0x7b && c !== 0x5b && c !== 0x22) return v; // e.g. the `skipped-too-big-size-object` marker
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** The column → Event member map of the resource-specific tables (same 24 columns in both). */
const AKS_AUDIT_COLUMNS: ReadonlyArray<readonly [column: string, member: string, isDynamic: boolean]> = [
  ['Level', 'level', false],
  ['AuditId', 'auditID', false],
  ['Stage', 'stage', false],
  ['RequestUri', 'requestURI', false],
  ['Verb', 'verb', false],
  ['User', 'user', true],
  ['ImpersonatedUser', 'impersonatedUser', true],
  ['SourceIps', 'sourceIPs', true],
  ['UserAgent', 'userAgent', false],
  ['ObjectRef', 'objectRef', true],
  ['ResponseStatus', 'responseStatus', true],
  ['RequestObject', 'requestObject', true],
  ['ResponseObject', 'responseObject', true],
  ['RequestReceivedTime', 'requestReceivedTimestamp', false],
  ['StageReceivedTime', 'stageTimestamp', false],
  ['Annotations', 'annotations', true],
];

export function parseAksAuditRow(row: unknown, origin: Origin, hints: ParseHints = {}): ParseOutcome {
  if (!isObject(row)) return rejected(origin, 'unknown-shape', 'AKSAudit row is not a JSON object');
  const ev: JsonObject = {};
  for (const [column, member, isDynamic] of AKS_AUDIT_COLUMNS) {
    const v = isDynamic ? dynamic(row[column]) : row[column];
    if (v !== undefined && v !== null && v !== '') ev[member] = v;
  }
  const ctx = contextFor(origin, hints, row['_ResourceId'] ?? row['ResourceId'], row['TimeGenerated'], row['_TimeReceived']);
  return k8sEventToAudit(ev, ctx);
}

/** The adapter's record parser (docs/architecture.md "Layers"): any of the three AKS shapes → outcome. */
export function parse(record: unknown, origin: Origin, hints: ParseHints = {}): ParseOutcome {
  if (!isObject(record)) return rejected(origin, 'unknown-shape', 'AKS record is not a JSON object');
  if (isAksAuditRow(record)) return parseAksAuditRow(record, origin, hints);
  if (isAzureDiagnosticsRow(record)) return parseAzureDiagnosticsRow(record, origin, hints);
  return parseAksRecord(record, origin, hints);
}
