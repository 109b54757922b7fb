import type { Origin } from '../../core/model/event.js';
import { rejected, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { isObject, type JsonObject } from '../k8s/parse.js';
import { baseContext, parseSensorLine, SENSOR_MARKERS, tryJson, unwrapFluentBit, withDefined } from '../sensors/detect.js';
import { CLOUDWATCH_TRUNCATED_SUFFIX, parseEksRecord } from './parse.js';

/**
 * Runtime sensor lines as CloudWatch Logs keeps a container's stdout on EKS: a log event whose
 * `message` is the line or Fluent Bit's record around it (Container Insights), read live or from a
 * subscription payload.
 */

/** `/aws/containerinsights/<cluster>/application`: where Container Insights' Fluent Bit writes. */
const CONTAINER_INSIGHTS_GROUP = /^\/aws\/containerinsights\/([^/]+)\//;
/** EKS audit streams: never runtime, skipped without looking at the message. */
const AUDIT_STREAM_PREFIX = 'kube-apiserver';

/** A CloudWatch log event as FilterLogEvents or an export writes it. */
export function isLogEvent(v: JsonObject): boolean {
  return typeof v['message'] === 'string' && (typeof v['timestamp'] === 'number' || typeof v['logStreamName'] === 'string');
}

export function sensorRecordOfLogEvent(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] | undefined {
  const message = v['message'] as string;
  const stream = v['logStreamName'];
  if (typeof stream === 'string' && stream.startsWith(AUDIT_STREAM_PREFIX)) return undefined;
  // Cheap test before parsing: a sensor line names one of these keys.
  if (!SENSOR_MARKERS.some((m) => message.includes(m))) return undefined;
  const recordId = typeof v['eventId'] === 'string' ? v['eventId'] : typeof v['id'] === 'string' ? v['id'] : undefined;
  const at: Origin = recordId !== undefined && origin.recordId === undefined ? { ...origin, recordId } : origin;
  const ingested = typeof v['ingestionTime'] === 'number' ? new Date(v['ingestionTime']).toISOString() : undefined;
  const cluster = CONTAINER_INSIGHTS_GROUP.exec(hints.logGroup ?? '')?.[1];
  const ctx = withDefined(baseContext('eks', at, hints), { cluster, ingestedAt: ingested });
  if (message.endsWith(CLOUDWATCH_TRUNCATED_SUFFIX)) return [rejected(at, 'truncated', 'CloudWatch cut a runtime sensor line ([Truncated...])')];
  const parsed = tryJson(message.trim());
  if (!isObject(parsed)) return undefined;
  const inner = unwrapFluentBit(parsed);
  if (inner === undefined) return undefined;
  return [parseSensorLine(inner.line, withDefined(ctx, { node: inner.node }))];
}

/**
 * A decoded CloudWatch subscription payload (Fluent Bit → CloudWatch Logs → subscription filter)
 * whose log events are sensor lines: one outcome per log event, a line that is not a sensor's
 * going to the audit parser as before. Undefined for an audit stream's payload or one without any
 * sensor line, so the caller parses it as audit events unchanged.
 */
export function detectRuntimeSubscription(payload: JsonObject, origin: Origin, hints: ParseHints = {}): ParseOutcome[] | undefined {
  if (payload['messageType'] !== 'DATA_MESSAGE') return undefined;
  const stream = typeof payload['logStream'] === 'string' ? payload['logStream'] : undefined;
  if (stream?.startsWith(AUDIT_STREAM_PREFIX) === true) return undefined;
  const events = payload['logEvents'];
  if (!Array.isArray(events) || events.length === 0) return undefined;
  const logGroup = typeof payload['logGroup'] === 'string' ? payload['logGroup'] : undefined;
  const inner: ParseHints = logGroup === undefined || hints.logGroup !== undefined ? hints : { ...hints, logGroup };
  const runtime = events.map((e, index) => {
    if (!isObject(e) || typeof e['message'] !== 'string') return undefined;
    const record = stream === undefined ? (e) : { ...(e), logStreamName: stream };
    return sensorRecordOfLogEvent(record, { ...origin, index }, inner)?.[0];
  });
  if (runtime.every((r) => r === undefined)) return undefined;
  return runtime.map((r, index) => r ?? parseEksRecord(events[index], { ...origin, index }, inner, stream));
}
