import { createHash } from 'node:crypto';
import {
  SKIPPED_BODY_MARKER,
  newAuditEvent,
  newOutcome,
  newTarget,
  newUserInfo,
  type Cloud,
  type Origin,
  type Outcome,
  type Target,
  type UserInfo,
} from '../../core/model/event.js';
import { leadingMembers, MAX_NESTING_DEPTH, nestsDeeperThan } from './json-prefix.js';
import { deriveAuth } from '../../core/model/auth.js';
import { shared, sharedQuery, sharedStrings } from './shared-values.js';
import { parsed, rejected, type ParseOutcome } from '../../core/model/parse-result.js';

/**
 * A raw audit.k8s.io `Event` (v1 and v1beta1) as EKS, AKS and self-managed clusters log it, turned
 * into an `AuditEvent` (docs/architecture.md "The event model"). The cloud adapters unwrap their envelopes and
 * call this with what the envelope told them (cloud, cluster, ingestion time).
 */

export interface K8sEventContext {
  cloud: Cloud;
  origin: Origin;
  cluster?: string;
  ingestedAt?: string;
  /** Envelope time (CloudWatch `timestamp` ms, AKS `time`), used only when the Event has none. */
  envelopeTime?: string | number;
  /** The log service cut the record; the event is built from a salvaged prefix. */
  truncated?: boolean;
  /** The Event's original text, hashed for the id when the Event has no auditID. */
  text?: string;
}

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A stable id for a record that carries none: the same text always gives the same id. */
export function stableId(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

const RFC3339 = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;

/**
 * RFC 3339 as logged (microseconds kept). Panther-style `2022-11-29 00:09:04.38` (UTC, space
 * separator) and epoch milliseconds are converted; anything else unparseable is undefined.
 */
export function normaliseTime(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? new Date(v).toISOString() : undefined;
  if (typeof v !== 'string' || v.length < 10) return undefined;
  // The usual case, checked without building a Date (this runs once per record).
  if (RFC3339.test(v)) return v;
  let t = v;
  if (t.charCodeAt(10) === 0x20) {
    t = `${t.slice(0, 10)}T${t.slice(11)}`;
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(t)) t += 'Z';
  }
  return Number.isNaN(Date.parse(t)) ? undefined : t;
}

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.every((x) => typeof x === 'string') ? (v) : v.filter((x): x is string => typeof x === 'string');
}

function extraOf(v: unknown): Record<string, string[]> | undefined {
  if (!isObject(v)) return undefined;
  for (const key in v) {
    if (!Array.isArray(v[key])) {
      // Rare: a value logged as a scalar. Rebuild once rather than let rules see a non-array.
      const out: Record<string, string[]> = {};
      for (const [k, x] of Object.entries(v)) {
        const list = Array.isArray(x) ? stringList(x) : typeof x === 'string' ? [x] : undefined;
        if (list !== undefined && k !== '__proto__') out[k] = list;
      }
      return out;
    }
  }
  return v as Record<string, string[]>;
}

export function userOf(v: unknown): UserInfo {
  const user = newUserInfo();
  if (!isObject(v)) return user;
  const name = str(v['username']);
  if (name !== undefined) user.name = shared(name);
  const groups = stringList(v['groups']);
  if (groups !== undefined) user.groups = sharedStrings(groups);
  const uid = str(v['uid']);
  if (uid !== undefined) user.uid = uid;
  const extra = extraOf(v['extra']);
  if (extra !== undefined) user.extra = extra;
  return user;
}

/** objectRef's members the event keeps as they are, when they are strings. */
const TARGET_STRINGS = ['apiVersion', 'resource', 'subresource', 'namespace', 'name'] as const;

export function targetOf(ref: unknown): Target {
  const t = newTarget();
  if (!isObject(ref)) return t;
  const apiGroup = ref['apiGroup'];
  // Core-group objects omit apiGroup or log it as ""; both mean the core group.
  t.apiGroup = typeof apiGroup === 'string' ? apiGroup : '';
  for (const key of TARGET_STRINGS) {
    const value = str(ref[key]);
    if (value !== undefined) t[key] = value;
  }
  return t;
}

const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

/** HTTP status → outcome: >= 400 failure, 1xx/2xx/3xx success, absent unknown. */
export function requestOutcome(status: unknown, stage: string | undefined, subresource: string | undefined): Outcome {
  const s = isObject(status) ? status : undefined;
  const code = typeof s?.['code'] === 'number' ? s['code'] : undefined;
  const out = newOutcome('unknown');
  if (code !== undefined) {
    out.code = code;
    out.result = code >= 400 ? 'failure' : code >= 100 ? 'success' : 'unknown';
  } else if (s?.['status'] === 'Failure') {
    out.result = 'failure';
  } else if (stage === 'ResponseStarted' && subresource !== undefined && STREAMING_SUBRESOURCES.has(subresource)) {
    // ResponseStarted of a streaming request is only logged once the 101 upgrade was sent.
    out.result = 'success';
    out.code = 101;
  }
  const reason = str(s?.['reason']);
  if (reason !== undefined) out.reason = reason;
  const message = str(s?.['message']);
  if (message !== undefined) out.message = message;
  return out;
}

/** Ordered query pairs of a request URI (repeated keys kept, `+` as space), or [] without a query. */
export function queryOf(requestURI: string): Array<[string, string]> {
  const q = requestURI.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(requestURI.slice(q + 1))];
}

/** Builds the event; the Event must be an object with a verb and some timestamp. */
export function k8sEventToAudit(raw: unknown, ctx: K8sEventContext): ParseOutcome {
  if (!isObject(raw)) return rejected(ctx.origin, 'unknown-shape', 'audit event is not a JSON object');
  const verb = shared(str(raw['verb']));
  if (verb === undefined) return rejected(ctx.origin, 'missing-field', 'audit event has no verb');
  const meta = isObject(raw['metadata']) ? raw['metadata'] : undefined;
  const rawTime =
    raw['requestReceivedTimestamp'] ?? raw['stageTimestamp'] ?? raw['timestamp'] ?? meta?.['creationTimestamp'] ?? ctx.envelopeTime;
  if (rawTime === undefined) {
    return rejected(ctx.origin, 'missing-field', 'audit event has no timestamp (requestReceivedTimestamp, stageTimestamp)');
  }
  const time = normaliseTime(rawTime);
  if (time === undefined) return rejected(ctx.origin, 'invalid-value', `unparseable timestamp ${JSON.stringify(rawTime).slice(0, 80)}`);

  const stage = shared(str(raw['stage']));
  const target = targetOf(raw['objectRef']);
  const user = userOf(raw['user']);
  const auditID = str(raw['auditID']);
  const event = newAuditEvent({
    id: auditID ?? stableId(ctx.text ?? JSON.stringify(raw)),
    cloud: ctx.cloud,
    time,
    verb,
    user,
    auth: deriveAuth(user, ctx.cloud),
    sourceIPs: sharedStrings(stringList(raw['sourceIPs']) ?? []),
    target,
    outcome: requestOutcome(raw['responseStatus'], stage, target.subresource),
    truncated: ctx.truncated === true,
    origin: ctx.origin,
  });
  if (ctx.cluster !== undefined) event.cluster = shared(ctx.cluster);
  if (ctx.ingestedAt !== undefined) event.ingestedAt = ctx.ingestedAt;
  if (stage !== undefined) event.stage = stage;
  const level = str(raw['level']);
  if (level !== undefined) event.level = level;
  if (isObject(raw['impersonatedUser'])) event.impersonatedUser = userOf(raw['impersonatedUser']);
  const userAgent = str(raw['userAgent']);
  if (userAgent !== undefined) event.userAgent = shared(userAgent);
  const requestURI = str(raw['requestURI']);
  if (requestURI !== undefined) {
    const known = sharedQuery(requestURI, queryOf);
    event.requestURI = known.uri;
    event.query = known.query;
  }
  const annotations = raw['annotations'];
  if (isObject(annotations)) {
    for (const key in annotations) {
      const value = annotations[key];
      if (typeof value === 'string') annotations[key] = shared(value);
    }
    event.annotations = annotations as Record<string, string>;
    const decision = str(annotations['authorization.k8s.io/decision']);
    if (decision !== undefined) event.decision = decision;
    const reason = str(annotations['authorization.k8s.io/reason']);
    if (reason !== undefined) event.decisionReason = reason;
  }
  const req = raw['requestObject'];
  const res = raw['responseObject'];
  if (req !== undefined && req !== null) event.requestObject = req;
  if (res !== undefined && res !== null) event.responseObject = res;
  if (req === SKIPPED_BODY_MARKER || res === SKIPPED_BODY_MARKER) event.truncated = true;
  return parsed(event);
}

/**
 * A cut Event text (`ctx` is completed in place): an event marked truncated when the surviving prefix still names the verb, the
 * user and the target (objectRef resource, or the request URI of a non-resource request); a
 * `truncated` rejection otherwise.
 */
export function salvageK8sEvent(text: string, ctx: K8sEventContext): ParseOutcome {
  if (nestsDeeperThan(text)) return rejected(ctx.origin, 'too-deep', `cut record nested deeper than ${MAX_NESTING_DEPTH} levels`);
  const prefix = leadingMembers(text);
  if (prefix === undefined) return rejected(ctx.origin, 'truncated', 'cut record does not start a JSON object');
  const m = prefix.members;
  const user = isObject(m['user']) ? m['user'] : undefined;
  const ref = isObject(m['objectRef']) ? m['objectRef'] : undefined;
  const missing: string[] = [];
  if (str(m['verb']) === undefined) missing.push('verb');
  if (str(user?.['username']) === undefined) missing.push('user');
  const uri = str(m['requestURI']);
  // A resource request names its target in objectRef; only a non-resource request (/readyz) may lack it.
  const nonResource = uri !== undefined && !/^\/apis?\//.test(uri);
  if (str(ref?.['resource']) === undefined && !(ref === undefined && nonResource)) missing.push('target');
  // Timestamps are logged after the bodies, so a raw line keeps one only if the envelope has it.
  const hasTime = ['requestReceivedTimestamp', 'stageTimestamp', 'timestamp'].some((k) => m[k] !== undefined);
  if (!hasTime && ctx.envelopeTime === undefined) missing.push('timestamp');
  if (missing.length > 0) {
    return rejected(ctx.origin, 'truncated', `cut after ${text.length} chars; surviving prefix lacks ${missing.join(', ')}`);
  }
  ctx.truncated = true;
  ctx.text = text;
  return k8sEventToAudit(m, ctx);
}

/** True when an object looks like an audit.k8s.io Event (v1 or v1beta1). */
export function isK8sAuditEvent(v: JsonObject): boolean {
  if (v['kind'] === 'EventList') return false;
  const apiVersion = v['apiVersion'];
  if (typeof apiVersion === 'string' && apiVersion.startsWith('audit.k8s.io/')) return true;
  if (v['kind'] === 'Event' && (v['verb'] !== undefined || v['auditID'] !== undefined)) return true;
  return typeof v['auditID'] === 'string' && typeof v['verb'] === 'string';
}

/** Text that starts like an audit Event (used to decide whether a cut line is worth salvaging). */
export function looksLikeK8sEventText(text: string): boolean {
  const head = text.slice(0, 400);
  return /"apiVersion"\s*:\s*"audit\.k8s\.io\//.test(head) || (/"kind"\s*:\s*"Event"/.test(head) && head.includes('"verb"')) || head.includes('"auditID"');
}

/** `JSON.parse` that returns an error instead of throwing; text nested too deep is refused unparsed. */
export function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string; tooDeep?: true } {
  if (nestsDeeperThan(text)) return { ok: false, error: `JSON nested deeper than ${MAX_NESTING_DEPTH} levels`, tooDeep: true };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Parses an Event text, salvaging it when it was cut (`cut` true or the JSON is incomplete).
 * `ctx` belongs to this one record and is completed in place (no copy per record).
 */
export function parseK8sEventText(text: string, ctx: K8sEventContext, cut = false): ParseOutcome {
  if (!cut) {
    const r = tryParseJson(text);
    ctx.text = text;
    if (r.ok) return k8sEventToAudit(r.value, ctx);
    if (r.tooDeep === true) return rejected(ctx.origin, 'too-deep', r.error);
    if (!looksLikeK8sEventText(text)) return rejected(ctx.origin, 'malformed-json', r.error);
  }
  return salvageK8sEvent(text, ctx);
}
