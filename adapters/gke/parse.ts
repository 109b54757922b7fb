import { newAuditEvent, newTarget, newUserInfo, originWith, type Origin, type Target, type UserInfo } from '../../core/model/event.js';
import { isObject, normaliseTime, stableId, type JsonObject } from '../k8s/parse.js';
import { shared } from '../k8s/shared-values.js';
import { deriveAuth } from '../../core/model/auth.js';
import { parsed, rejected, skipped, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { parseResourceName } from './resource-name.js';
import { gkeOutcome } from './status.js';

/**
 * GKE Kubernetes audit logs: Cloud Logging LogEntries whose `protoPayload` is a Cloud AuditLog
 * (https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/AuditLog; https://cloud.google.com/kubernetes-engine/docs/how-to/audit-logging), from entries.list, `gcloud logging read
 * --format=json`, Pub/Sub sinks, or the Go logging client's struct dump (sysdig bridge).
 * Only `k8s.io` entries of the Admin Activity / Data Access logs are events.
 */

const AUDIT_LOGS = /\/logs\/cloudaudit\.googleapis\.com(?:%2F|\/)(?:activity|data_access)$/;
const AUTHN_LABEL_PREFIX = 'authentication.kubernetes.io/';
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** True for a LogEntry (REST JSON) or a Go-client dump of one. */
export function isGkeLogEntry(v: JsonObject): boolean {
  return isObject(v['protoPayload']) || (typeof v['logName'] === 'string' && 'resource' in v) || isGoClientDump(v);
}

function isGoClientDump(v: JsonObject): boolean {
  return isObject(v['Entry']) && (typeof v['AuditPayload'] === 'string' || isObject((v['Entry'])['Payload']));
}

/**
 * The Go client dump `{Entry:{Timestamp, Labels, InsertID, Operation, LogName, Resource, Payload},
 * AuditPayload:"<AuditLog JSON>"}` as an ordinary LogEntry. Its snake_case `Payload` holds
 * bodies as protobuf Struct dumps, so the camelCase `AuditPayload` string is the payload used.
 */
function fromGoClientDump(v: JsonObject): JsonObject | string {
  const entry = v['Entry'] as JsonObject;
  const text = v['AuditPayload'];
  if (typeof text !== 'string') return 'Go-client LogEntry dump has no AuditPayload JSON';
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return 'AuditPayload is not valid JSON';
  }
  return {
    insertId: entry['InsertID'],
    logName: entry['LogName'],
    operation: entry['Operation'],
    protoPayload: payload,
    resource: entry['Resource'],
    timestamp: entry['Timestamp'],
    labels: entry['Labels'],
  };
}

function userOf(pp: JsonObject, labels: JsonObject | undefined): UserInfo {
  const user = newUserInfo();
  const authn = isObject(pp['authenticationInfo']) ? pp['authenticationInfo'] : undefined;
  const name = str(authn?.['principalEmail']) ?? str(authn?.['principalSubject']);
  if (name !== undefined) user.name = shared(name);
  if (labels !== undefined) {
    let extra: Record<string, string[]> | undefined;
    for (const [k, v] of Object.entries(labels)) {
      if (!k.startsWith(AUTHN_LABEL_PREFIX) || typeof v !== 'string') continue;
      (extra ??= {})[k] = [v];
    }
    if (extra !== undefined) user.extra = extra;
  }
  return user;
}

/** Label decision first; otherwise what authorizationInfo says (any refusal is a forbid). */
function decisionOf(pp: JsonObject, labels: JsonObject | undefined): string | undefined {
  const label = str(labels?.['authorization.k8s.io/decision']);
  if (label !== undefined) return label;
  const info = pp['authorizationInfo'];
  if (!Array.isArray(info) || info.length === 0) return undefined;
  const granted = info.map((i) => (isObject(i) ? i['granted'] : undefined));
  if (granted.some((g) => g === false)) return 'forbid';
  return granted.every((g) => g === true) ? 'allow' : undefined;
}

/** A request/response Struct without GKE's `@type` member. */
function body(v: unknown): unknown {
  if (!isObject(v)) return v ?? undefined;
  if (!('@type' in v)) return v;
  const { ['@type']: _type, ...rest } = v;
  return rest;
}

/** The target's strings, each a part of the resource name. */
const TARGET_PARTS = ['apiGroup', 'apiVersion', 'resource', 'subresource', 'namespace', 'name'] as const;

/** `/api/v1` for the core group, `/apis/<group>/<version>` for the others. */
const apiPrefix = (t: Target): string => (t.apiGroup === '' || t.apiGroup === undefined ? `/api/${t.apiVersion}` : `/apis/${t.apiGroup}/${t.apiVersion}`);

export function parseGkeRecord(record: unknown, origin: Origin, hints: ParseHints = {}): ParseOutcome {
  if (!isObject(record)) return rejected(origin, 'unknown-shape', 'LogEntry is not a JSON object');
  let le: JsonObject = record;
  if (isGoClientDump(record)) {
    const converted = fromGoClientDump(record);
    if (typeof converted === 'string') return rejected(origin, 'unknown-shape', converted);
    le = converted;
  }
  const insertId = str(le['insertId']);
  const at: Origin = insertId !== undefined && origin.recordId === undefined ? originWith(origin, { recordId: insertId }) : origin;
  const logName = str(le['logName']);
  const pp = isObject(le['protoPayload']) ? le['protoPayload'] : undefined;
  const service = str(pp?.['serviceName']);
  if (service !== 'k8s.io') return skipped(at, 'not-audit', `service ${service ?? '(none)'}`);
  if (logName !== undefined && !AUDIT_LOGS.test(logName)) return skipped(at, 'not-audit', `log ${logName}`);
  const p = pp!;

  const method = str(p['methodName']);
  if (method === undefined) return rejected(at, 'missing-field', 'protoPayload has no methodName');
  const verb = shared(method.slice(method.lastIndexOf('.') + 1));
  const rawTime = le['timestamp'];
  if (rawTime === undefined) return rejected(at, 'missing-field', 'LogEntry has no timestamp');
  const time = normaliseTime(rawTime);
  if (time === undefined) return rejected(at, 'invalid-value', `unparseable timestamp ${JSON.stringify(rawTime).slice(0, 80)}`);

  // `io.k8s.<verb>` has no resource part: a non-resource request (`readyz`, `api/v1`, `HNAP1`).
  const nonResource = method.startsWith('io.k8s.') && method.indexOf('.', 7) < 0;
  const resourceName = str(p['resourceName']) ?? '';
  let target: Target = newTarget();
  let requestURI: string | undefined;
  if (nonResource) {
    // The path is what GKE logs for these; the raw Event would carry it as requestURI.
    if (resourceName !== '') requestURI = resourceName.startsWith('/') ? resourceName : `/${resourceName}`;
  } else {
    const m = parseResourceName(resourceName);
    if (m.kind === 'unmatched') return rejected(at, 'unsupported-resource-path', `resourceName ${JSON.stringify(m.path).slice(0, 300)} (method ${method})`);
    target = m.target;
    // Parts of resourceName: each would keep the whole name alive.
    for (const key of TARGET_PARTS) target[key] = shared(target[key]);
    // A proxied path is what the raw Event's requestURI carries (core/detection/kubelet.ts reads it there);
    // GKE logs no query string, so the URI has none.
    if (m.proxyPath !== undefined) requestURI = `${apiPrefix(target)}${resourceName.slice(resourceName.indexOf('/', resourceName.indexOf('/') + 1))}`;
  }

  const labels = isObject(le['labels']) ? le['labels'] : undefined;
  const user = userOf(p, labels);
  const meta = isObject(p['requestMetadata']) ? p['requestMetadata'] : undefined;
  const op = isObject(le['operation']) ? le['operation'] : undefined;
  let id = str(op?.['id']) ?? insertId;
  if (id === undefined) {
    try {
      id = stableId(JSON.stringify(le));
    } catch (err) {
      // A value so deep that serialising it overflows the stack (a live entry is not pre-checked as a line is).
      if (err instanceof RangeError) return rejected(at, 'too-deep', 'LogEntry nested too deep to serialise');
      throw err;
    }
  }
  const event = newAuditEvent({
    id,
    cloud: 'gke',
    time,
    verb,
    user,
    auth: deriveAuth(user, 'gke', labels as Record<string, string> | undefined),
    sourceIPs: typeof meta?.['callerIp'] === 'string' ? [shared(meta['callerIp'])] : [],
    target,
    outcome: gkeOutcome(p['status'], target.subresource),
    truncated: labels?.['audit.k8s.io/truncated'] === 'true',
    origin: at,
  });
  const resLabels = isObject(le['resource']) && isObject((le['resource'])['labels']) ? ((le['resource'])['labels']) : undefined;
  const cluster = hints.cluster ?? str(resLabels?.['cluster_name']);
  if (cluster !== undefined) event.cluster = shared(cluster);
  const ingestedAt = normaliseTime(le['receiveTimestamp']) ?? hints.ingestedAt;
  if (ingestedAt !== undefined) event.ingestedAt = ingestedAt;
  const userAgent = str(meta?.['callerSuppliedUserAgent']);
  if (userAgent !== undefined) event.userAgent = shared(userAgent);
  if (requestURI !== undefined) event.requestURI = requestURI;
  event.queryUnlogged = true;
  if (labels !== undefined) {
    for (const key in labels) {
      const value = labels[key];
      if (typeof value === 'string') labels[key] = shared(value);
    }
    event.annotations = labels as Record<string, string>;
  }
  const decision = decisionOf(p, labels);
  if (decision !== undefined) event.decision = decision;
  const reason = str(labels?.['authorization.k8s.io/reason']);
  if (reason !== undefined) event.decisionReason = reason;
  const request = body(p['request']);
  if (request !== undefined) event.requestObject = request;
  const response = body(p['response']);
  if (response !== undefined) event.responseObject = response;
  return parsed(event);
}

/** The adapter's record parser (docs/architecture.md "Layers"): one LogEntry → outcome. */
export const parse = parseGkeRecord;
