import { gunzipSync } from 'node:zlib';
import { originWith, type Origin } from '../../core/model/event.js';
import {
  isK8sAuditEvent,
  isObject,
  k8sEventToAudit,
  looksLikeK8sEventText,
  salvageK8sEvent,
  type JsonObject,
  type K8sEventContext,
} from '../k8s/parse.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../k8s/json-prefix.js';
import { rejected, skipped, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { isAksAuditRow, isAksDiagnosticRecord, isAzureDiagnosticsRow, parseAksAuditRow, parseAksRecord, parseAzureDiagnosticsRow } from '../aks/parse.js';
import { clusterOfLogGroup, isCloudWatchEvent, isSubscriptionPayload, parseEksRecord, parseEksSubscription } from '../eks/parse.js';
import { isGkeLogEntry, parseGkeRecord } from '../gke/parse.js';
import { isContainerLogV2Row, sensorRecordOfContainerLogRow } from '../aks/container-log.js';
import { detectRuntimeSubscription, isLogEvent, sensorRecordOfLogEvent } from '../eks/container-log.js';
import { isContainerLogEntry, sensorRecordOfLogEntry } from '../gke/container-log.js';
import { bareSensorRecord, searchHitsOf } from '../sensors/detect.js';

/**
 * Auto-detection of one parsed JSON value (docs/input-formats.md): every shape any adapter accepts,
 * and the envelopes around them (CloudWatch exports and subscription payloads, AKS `{records}`,
 * audit `EventList`, CLI arrays). One file may mix shapes, so detection is per record.
 */

/** A line longer than this is rejected unread: no audit record is near it (EKS cuts at 256 KiB). */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;
/** Envelopes inside envelopes (array of `{events}` of subscription strings…) stop here. */
const MAX_ENVELOPE_DEPTH = 4;
/** A decoded subscription payload is at most ~1 MiB of JSON; a bigger inflation is refused. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

const GZIP_BASE64_PREFIX = 'H4sI';

/**
 * A runtime sensor record in any shape a file may hold it: Elasticsearch search hits, a cloud's
 * container-log record (CloudWatch log event, Cloud Logging entry, ContainerLogV2 row), or the
 * sensor's own line, bare or in Fluent Bit's record. Undefined when the value is none of these.
 */
function detectRuntimeRecord(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] | undefined {
  const hits = searchHitsOf(v, origin, hints);
  if (hits !== undefined) return hits;
  if (typeof v['message'] === 'string') return isLogEvent(v) ? sensorRecordOfLogEvent(v, origin, hints) : undefined;
  if (isContainerLogEntry(v)) return sensorRecordOfLogEntry(v, origin, hints);
  if (isContainerLogV2Row(v)) return sensorRecordOfContainerLogRow(v, origin, hints);
  return bareSensorRecord(v, origin, hints);
}

function rawEventContext(origin: Origin, hints: ParseHints): K8sEventContext {
  // A raw Event says nothing about its cloud; an EKS log-group hint does.
  const eksCluster = clusterOfLogGroup(hints.logGroup);
  const ctx: K8sEventContext = { cloud: eksCluster === undefined ? 'k8s' : 'eks', origin };
  const cluster = hints.cluster ?? eksCluster;
  if (cluster !== undefined) ctx.cluster = cluster;
  if (hints.ingestedAt !== undefined) ctx.ingestedAt = hints.ingestedAt;
  return ctx;
}

function inflate(data: Uint8Array, origin: Origin, hints: ParseHints, depth: number): ParseOutcome[] {
  let text: string;
  try {
    text = gunzipSync(data, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
  } catch (err) {
    return [rejected(origin, 'decode-failed', `gzip payload: ${err instanceof Error ? err.message : String(err)}`)];
  }
  return parseEmbedded(text, 'decompressed payload', origin, hints, depth);
}

const tooDeep = (origin: Origin, what: string): ParseOutcome => rejected(origin, 'too-deep', `${what} nested deeper than ${MAX_NESTING_DEPTH} levels`);

/** JSON text found inside a record (a decompressed payload, a Pub/Sub message's data). */
function parseEmbedded(text: string, what: string, origin: Origin, hints: ParseHints, depth: number): ParseOutcome[] {
  if (nestsDeeperThan(text)) return [tooDeep(origin, what)];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return [rejected(origin, 'malformed-json', `${what}: ${err instanceof Error ? err.message : String(err)}`)];
  }
  return detect(value, origin, hints, depth + 1);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$|^[A-Za-z0-9_-]*={0,2}$/;

/**
 * The Pub/Sub message a record carries: a push request body `{message:{data,…}, subscription}`,
 * an item of `gcloud pubsub subscriptions pull --format=json` (`{ackId, message}`), or a bare
 * PubsubMessage (the event a Cloud Function receives; `@type` …PubsubMessage, or `messageId`).
 */
function pubsubMessageOf(v: JsonObject): JsonObject | undefined {
  const m = v['message'];
  if (isObject(m) && typeof m['data'] === 'string' && (typeof v['subscription'] === 'string' || typeof v['ackId'] === 'string')) return m;
  if (typeof v['data'] !== 'string') return undefined;
  const type = v['@type'];
  if (typeof type === 'string' && type.endsWith('google.pubsub.v1.PubsubMessage')) return v;
  return (typeof v['messageId'] === 'string' || typeof v['message_id'] === 'string') && ('publishTime' in v || 'attributes' in v) ? v : undefined;
}

/** A Pub/Sub message's `data` (base64 of a LogEntry, possibly gzip) decoded and detected like any record. */
function fromPubsub(m: JsonObject, origin: Origin, hints: ParseHints, depth: number): ParseOutcome[] {
  const data = (m['data'] as string).trim();
  const id = typeof m['messageId'] === 'string' ? m['messageId'] : typeof m['message_id'] === 'string' ? m['message_id'] : undefined;
  const at = id === undefined || origin.recordId !== undefined ? origin : originWith(origin, { recordId: `pubsub:${id}` });
  if (data === '') return [skipped(at, 'empty', 'Pub/Sub message without data')];
  if (!BASE64.test(data)) return [rejected(at, 'decode-failed', 'Pub/Sub message data is not base64')];
  const bytes = Buffer.from(data, data.includes('-') || data.includes('_') ? 'base64url' : 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return inflate(bytes, at, hints, depth);
  return parseEmbedded(bytes.toString('utf8'), 'Pub/Sub message data', at, hints, depth);
}

function fromString(s: string, origin: Origin, hints: ParseHints, depth: number): ParseOutcome[] {
  if (s.startsWith(GZIP_BASE64_PREFIX)) return inflate(Buffer.from(s, 'base64'), origin, hints, depth);
  return [rejected(origin, 'unknown-shape', `a JSON string, not a record: ${JSON.stringify(s.slice(0, 60))}`)];
}

function eachItem(items: unknown[], origin: Origin, hints: ParseHints, depth: number, what: string, item = detect): ParseOutcome[] {
  if (items.length === 0) return [skipped(origin, 'empty', `${what} without items`)];
  const out: ParseOutcome[] = [];
  for (let index = 0; index < items.length; index++) {
    for (const o of item(items[index], originWith(origin, { index }), hints, depth + 1)) out.push(o);
  }
  return out;
}

const eksItem = (v: unknown, origin: Origin, hints: ParseHints): ParseOutcome[] => [parseEksRecord(v, origin, hints)];
const aksItem = (v: unknown, origin: Origin, hints: ParseHints): ParseOutcome[] => [parseAksRecord(v, origin, hints)];
function rawItem(v: unknown, origin: Origin, hints: ParseHints): ParseOutcome[] {
  return [k8sEventToAudit(v, rawEventContext(origin, hints))];
}

function detectObject(v: JsonObject, origin: Origin, hints: ParseHints, depth: number): ParseOutcome[] {
  if (isK8sAuditEvent(v)) return [k8sEventToAudit(v, rawEventContext(origin, hints))];
  const pubsub = pubsubMessageOf(v);
  if (pubsub !== undefined) return fromPubsub(pubsub, origin, hints, depth);
  // Runtime sensor lines (Tracee, Falco), bare or in the log services' envelopes (adapters/sensors/detect.ts).
  const runtime = detectRuntimeRecord(v, origin, hints);
  if (runtime !== undefined) return runtime;
  if (isCloudWatchEvent(v)) return [parseEksRecord(v, origin, hints)];
  if (isGkeLogEntry(v)) return [parseGkeRecord(v, origin, hints)];
  if (isAksDiagnosticRecord(v)) return [parseAksRecord(v, origin, hints)];
  if (isAksAuditRow(v)) return [parseAksAuditRow(v, origin, hints)];
  if (isAzureDiagnosticsRow(v)) return [parseAzureDiagnosticsRow(v, origin, hints)];
  if (isSubscriptionPayload(v)) return detectRuntimeSubscription(v, origin, hints) ?? parseEksSubscription(v, origin, hints);
  const awslogs = v['awslogs'];
  if (isObject(awslogs) && typeof awslogs['data'] === 'string') return fromString(awslogs['data'], origin, hints, depth);
  if (Array.isArray(v['events'])) return eachItem(v['events'], origin, hints, depth, 'CloudWatch export', eksItem);
  if (Array.isArray(v['records'])) return eachItem(v['records'], origin, hints, depth, 'AKS records envelope', aksItem);
  if (v['kind'] === 'EventList' && Array.isArray(v['items'])) return eachItem(v['items'], origin, hints, depth, 'EventList', rawItem);
  if (typeof v['apiVersion'] === 'string' && v['apiVersion'].startsWith('audit.k8s.io/')) {
    return [rejected(origin, 'unknown-shape', `audit.k8s.io object of kind ${String(v['kind']).slice(0, 40)}`)];
  }
  const keys = Object.keys(v).slice(0, 6).join(', ');
  return [rejected(origin, 'unknown-shape', `no known audit record shape (keys: ${keys || 'none'})`)];
}

function detect(record: unknown, origin: Origin, hints: ParseHints, depth: number): ParseOutcome[] {
  if (depth > MAX_ENVELOPE_DEPTH) return [rejected(origin, 'unknown-shape', `envelopes nested deeper than ${MAX_ENVELOPE_DEPTH}`)];
  if (isObject(record)) {
    if (record instanceof Uint8Array) return inflate(record, origin, hints, depth);
    return detectObject(record, origin, hints, depth);
  }
  if (Array.isArray(record)) return eachItem(record, origin, hints, depth, 'array');
  if (typeof record === 'string') return fromString(record, origin, hints, depth);
  return [rejected(origin, 'unknown-shape', `a JSON ${record === null ? 'null' : typeof record}, not a record`)];
}

/**
 * Every outcome one parsed JSON value holds: one for a single record, one per item of an
 * envelope or array (each item's origin gets `index`). Never throws.
 */
export function parseAnyRecord(record: unknown, origin: Origin, hints: ParseHints = {}): ParseOutcome[] {
  try {
    return detect(record, origin, hints, 0);
  } catch (err) {
    // A parser bug must not end a scan; it is reported like any bad record. A stack overflow is a
    // value nested too deep for a recursive step (a whole document's item is not pre-checked).
    if (err instanceof RangeError) return [tooDeep(origin, 'record')];
    return [rejected(origin, 'invalid-value', `record could not be parsed: ${err instanceof Error ? err.message : String(err)}`)];
  }
}

/** A line that is not valid JSON: a cut raw Event is salvaged, anything else is malformed. */
function salvageLine(text: string, origin: Origin, hints: ParseHints, error: string): ParseOutcome {
  if (looksLikeK8sEventText(text)) return salvageK8sEvent(text, rawEventContext(origin, hints));
  return rejected(origin, 'malformed-json', error);
}

/** One line of text (JSONL): blank lines give nothing, bad JSON a rejection or a salvaged event. */
export function parseAnyLine(text: string, origin: Origin, hints: ParseHints = {}): ParseOutcome[] {
  if (text.length === 0) return [];
  if (text.length > MAX_LINE_CHARS) return [rejected(origin, 'too-large', `line of ${text.length} chars exceeds ${MAX_LINE_CHARS}`)];
  if (nestsDeeperThan(text)) return [tooDeep(origin, 'record')];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (text.trim() === '') return [];
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof RangeError) return [rejected(origin, 'too-large', `JSON nested too deeply: ${message}`)];
    return [salvageLine(text, origin, hints, message)];
  }
  return parseAnyRecord(value, origin, hints);
}
