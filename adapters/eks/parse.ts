import { originWith, type Origin } from '../../core/model/event.js';
import { isObject, parseK8sEventText, type JsonObject, type K8sEventContext } from '../k8s/parse.js';
import { rejected, skipped, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';

/**
 * EKS control-plane logs in CloudWatch (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html): a log event
 * `{logStreamName, timestamp, ingestionTime, message, eventId}` from FilterLogEvents /
 * GetLogEvents / `aws logs filter-log-events`, or a subscription `logEvents[]` item `{id,
 * timestamp, message}`. `message` is one raw audit.k8s.io Event.
 */

const LOG_GROUP = /^\/aws\/eks\/([^/]+)\/cluster$/;
const AUDIT_STREAM_PREFIX = 'kube-apiserver-audit';
/** CloudWatch appends this to a message over its size limit (the Falco EKS plugin drops these). */
export const CLOUDWATCH_TRUNCATED_SUFFIX = '[Truncated...]';

/** The cluster named by an EKS log group `/aws/eks/<name>/cluster`, if it is one. */
export function clusterOfLogGroup(logGroup: string | undefined): string | undefined {
  if (logGroup === undefined) return undefined;
  // Every record of a scan names the same group: remember the last answer.
  if (logGroup !== lastGroup) {
    lastGroup = logGroup;
    lastCluster = LOG_GROUP.exec(logGroup)?.[1];
  }
  return lastCluster;
}
let lastGroup: string | undefined;
let lastCluster: string | undefined;

/**
 * Epoch milliseconds as `new Date(v).toISOString()` gives them (a RangeError included). Every
 * record carries one and nearby records share their second (ingestion times a few seconds apart
 * interleave), so the text up to the second is kept for recent seconds and only the milliseconds
 * are formatted anew; a Date per record was a visible share of a scan.
 */
function isoOfMs(v: unknown): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  const ms = Math.trunc(v); // a Date drops the fraction the same way
  if (Math.abs(ms) > MAX_DATE_MS) return new Date(ms).toISOString(); // throws, as it always did
  const second = Math.floor(ms / 1000);
  let prefix = secondPrefixes.get(second);
  if (prefix === undefined) {
    // Everything before `mmmZ`; years past 9999 make the prefix longer, never the tail.
    prefix = new Date(second * 1000).toISOString().slice(0, -4);
    if (secondPrefixes.size >= SECONDS_KEPT) secondPrefixes.clear();
    secondPrefixes.set(second, prefix);
  }
  const milli = ms - second * 1000;
  return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
const SECONDS_KEPT = 64;
const secondPrefixes = new Map<number, string>();
const MAX_DATE_MS = 8.64e15;

/** True when the object is a CloudWatch log event (export item or subscription item). */
export function isCloudWatchEvent(v: JsonObject): boolean {
  return typeof v['message'] === 'string' && (typeof v['timestamp'] === 'number' || typeof v['logStreamName'] === 'string');
}

/**
 * One CloudWatch log event. `logStream` comes from the subscription envelope when the item has
 * no `logStreamName` of its own.
 */
export function parseEksRecord(record: unknown, origin: Origin, hints: ParseHints = {}, logStream?: string): ParseOutcome {
  if (!isObject(record)) return rejected(origin, 'unknown-shape', 'CloudWatch log event is not a JSON object');
  const message = record['message'];
  if (typeof message !== 'string') return rejected(origin, 'missing-field', 'CloudWatch log event has no message');
  const recordId = record['eventId'] ?? record['id'];
  const at: Origin = typeof recordId === 'string' && origin.recordId === undefined ? originWith(origin, { recordId }) : origin;
  const stream = typeof record['logStreamName'] === 'string' ? record['logStreamName'] : logStream;
  // Other streams of the group (kube-apiserver-, authenticator-, …) carry klog text, not audit events.
  if (stream !== undefined && !stream.startsWith(AUDIT_STREAM_PREFIX)) return skipped(at, 'not-audit', `log stream ${stream}`);
  if (message.trim() === '') return skipped(at, 'empty', 'empty CloudWatch message');

  const cut = message.endsWith(CLOUDWATCH_TRUNCATED_SUFFIX);
  const text = cut ? message.slice(0, -CLOUDWATCH_TRUNCATED_SUFFIX.length) : message;
  if (stream === undefined && !cut && text.charCodeAt(0) !== 0x7b) {
    // Without a stream name the message must itself tell: klog text is not an audit event.
    return skipped(at, 'not-audit', 'message is not JSON');
  }
  const ctx: K8sEventContext = { cloud: 'eks', origin: at };
  const cluster = hints.cluster ?? clusterOfLogGroup(hints.logGroup);
  if (cluster !== undefined) ctx.cluster = cluster;
  const ingestedAt = isoOfMs(record['ingestionTime']) ?? hints.ingestedAt;
  if (ingestedAt !== undefined) ctx.ingestedAt = ingestedAt;
  // Milliseconds, converted only if the Event itself has no timestamp.
  if (typeof record['timestamp'] === 'number') ctx.envelopeTime = record['timestamp'];
  return parseK8sEventText(text, ctx, cut);
}

/** True for a decoded subscription payload `{messageType, logGroup, logStream, logEvents}`. */
export function isSubscriptionPayload(v: JsonObject): boolean {
  return typeof v['messageType'] === 'string' && (Array.isArray(v['logEvents']) || v['messageType'] === 'CONTROL_MESSAGE');
}

/** A decoded subscription-filter payload: one outcome per log event; CONTROL_MESSAGE is skipped. */
export function parseEksSubscription(payload: JsonObject, origin: Origin, hints: ParseHints = {}): ParseOutcome[] {
  if (payload['messageType'] === 'CONTROL_MESSAGE') return [skipped(origin, 'control-message', 'CloudWatch reachability probe')];
  if (payload['messageType'] !== 'DATA_MESSAGE') {
    return [rejected(origin, 'invalid-value', `unknown subscription messageType ${String(payload['messageType']).slice(0, 40)}`)];
  }
  const events = payload['logEvents'];
  if (!Array.isArray(events)) return [rejected(origin, 'missing-field', 'subscription payload has no logEvents')];
  if (events.length === 0) return [skipped(origin, 'empty', 'subscription payload without log events')];
  const logGroup = typeof payload['logGroup'] === 'string' ? payload['logGroup'] : undefined;
  const logStream = typeof payload['logStream'] === 'string' ? payload['logStream'] : undefined;
  const inner: ParseHints = logGroup === undefined || hints.logGroup !== undefined ? hints : { ...hints, logGroup };
  return events.map((e, index) => parseEksRecord(e, originWith(origin, { index }), inner, logStream));
}

/** The adapter's record parser (docs/architecture.md "Layers"): one CloudWatch log event → outcome. */
export const parse = parseEksRecord;
