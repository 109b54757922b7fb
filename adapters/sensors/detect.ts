import type { Origin } from '../../core/model/event.js';
import { isObject, type JsonObject } from '../k8s/parse.js';
import { rejected, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { clusterOfResourceId } from '../aks/parse.js';
import { CLOUDWATCH_TRUNCATED_SUFFIX, parseEksRecord } from '../eks/parse.js';
import { str, type RuntimeContext } from './context.js';
import { isCloudDefendDocument, parseCloudDefendDocument } from './cloud-defend.js';
import { isFalcoAlert, parseFalcoAlert } from './falco.js';
import { isTraceeEvent, isTraceeNextEvent, parseTraceeEvent, traceeNextAsCurrent } from './tracee.js';

/**
 * Runtime sensor lines, bare or as each log service stores a container's stdout:
 * - a Tracee event (current or next format), a Falco alert, or an Elastic Defend for Containers
 *   document, bare or as an Elasticsearch search hit (`{_index, _id, _source}`) or a whole search
 *   response (`{hits: {hits: [...]}}`);
 * - Fluent Bit's record `{log: "<line>", stream, kubernetes: {host, …}}` (files, or the message of
 *   a CloudWatch log event when Fluent Bit ships to CloudWatch Logs);
 * - a CloudWatch log event whose `message` is one of the above (cloud `eks`);
 * - a Cloud Logging LogEntry of a `k8s_container` with the line in `jsonPayload` (GKE parses JSON
 *   stdout lines) or `textPayload` (cloud `gke`);
 * - a Log Analytics `ContainerLogV2` row with the line in `LogMessage` (cloud `aks`).
 * `detectRuntimeRecord` answers undefined for anything else, so audit detection goes on unchanged.
 */

/** `/aws/containerinsights/<cluster>/application`: where Container Insights' Fluent Bit writes. */
const CONTAINER_INSIGHTS_GROUP = /^\/aws\/containerinsights\/([^/]+)\//;
/** Keys one of the sensors' lines always has (Tracee, Falco, Tracee next, Defend for Containers). */
const SENSOR_MARKERS = ['eventName', 'output_fields', '"workload"', '"orchestrator"'];
/** EKS audit streams: never runtime, skipped without looking at the message. */
const AUDIT_STREAM_PREFIX = 'kube-apiserver';

function isSensorLine(v: JsonObject): boolean {
  return isTraceeEvent(v) || isFalcoAlert(v) || isTraceeNextEvent(v) || isCloudDefendDocument(v);
}

function parseSensorLine(v: JsonObject, ctx: RuntimeContext): ParseOutcome {
  if (isTraceeEvent(v)) return parseTraceeEvent(v, ctx);
  if (isFalcoAlert(v)) return parseFalcoAlert(v, ctx);
  if (isTraceeNextEvent(v)) return parseTraceeEvent(traceeNextAsCurrent(v), ctx);
  return parseCloudDefendDocument(v, ctx);
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A Fluent Bit record (or the line itself): the sensor object inside, if there is one. */
function unwrapFluentBit(v: JsonObject): { line: JsonObject; node?: string } | undefined {
  if (isSensorLine(v)) return { line: v };
  const log = v['log'];
  const k8s = isObject(v['kubernetes']) ? (v['kubernetes'] as JsonObject) : undefined;
  const node = str(k8s?.['host']);
  const inner = isObject(log) ? log : typeof log === 'string' && log.trimStart().startsWith('{') ? tryJson(log.trim()) : undefined;
  if (!isObject(inner) || !isSensorLine(inner)) return undefined;
  return node === undefined ? { line: inner } : { line: inner, node };
}

function withDefined(ctx: RuntimeContext, extra: { cluster?: string | undefined; node?: string | undefined; ingestedAt?: string | undefined }): RuntimeContext {
  const out = { ...ctx };
  if (out.cluster === undefined && extra.cluster !== undefined) out.cluster = extra.cluster;
  if (extra.node !== undefined) out.node = extra.node;
  if (extra.ingestedAt !== undefined) out.ingestedAt = extra.ingestedAt;
  return out;
}

function baseContext(cloud: RuntimeContext['cloud'], origin: Origin, hints: ParseHints): RuntimeContext {
  const ctx: RuntimeContext = { cloud, origin };
  if (hints.cluster !== undefined) ctx.cluster = hints.cluster;
  if (hints.ingestedAt !== undefined) ctx.ingestedAt = hints.ingestedAt;
  return ctx;
}

function fromCloudWatch(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] | undefined {
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

function fromLogEntry(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] | undefined {
  const resource = v['resource'] as JsonObject;
  const labels = isObject(resource['labels']) ? (resource['labels'] as JsonObject) : {};
  let line: unknown = v['jsonPayload'];
  if (line === undefined && typeof v['textPayload'] === 'string') line = tryJson(v['textPayload'].trim());
  if (!isObject(line)) return undefined;
  const inner = unwrapFluentBit(line);
  if (inner === undefined) return undefined;
  const entryLabels = isObject(v['labels']) ? (v['labels'] as JsonObject) : {};
  const recordId = str(v['insertId']);
  const at: Origin = recordId !== undefined && origin.recordId === undefined ? { ...origin, recordId } : origin;
  const ctx = withDefined(baseContext('gke', at, hints), {
    cluster: str(labels['cluster_name']),
    node: inner.node ?? str(entryLabels['compute.googleapis.com/resource_name']),
    ingestedAt: str(v['receiveTimestamp']),
  });
  return [parseSensorLine(inner.line, ctx)];
}

function fromContainerLogV2(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] {
  const message = v['LogMessage'];
  const parsed = isObject(message) ? message : typeof message === 'string' ? tryJson(message.trim()) : undefined;
  const inner = isObject(parsed) ? unwrapFluentBit(parsed) : undefined;
  if (inner === undefined) {
    const container = str(v['ContainerName']) ?? '?';
    return [rejected(origin, 'unknown-shape', `ContainerLogV2 row of container ${container.slice(0, 60)}: LogMessage is not a Tracee event or a Falco alert`)];
  }
  const cluster = clusterOfResourceId(v['_ResourceId']) ?? clusterOfResourceId(hints.logGroup);
  const ingested = str(v['_TimeReceived']);
  const ctx = withDefined(baseContext('aks', origin, hints), { cluster, node: str(v['Computer']), ingestedAt: ingested });
  return [parseSensorLine(inner.line, ctx)];
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
    const record = stream === undefined ? (e as JsonObject) : { ...(e as JsonObject), logStreamName: stream };
    return fromCloudWatch(record, { ...origin, index }, inner)?.[0];
  });
  if (runtime.every((r) => r === undefined)) return undefined;
  return runtime.map((r, index) => r ?? parseEksRecord(events[index], { ...origin, index }, inner, stream));
}

/** An Elasticsearch search hit holding a Defend for Containers document. */
function searchHit(v: JsonObject): { doc: JsonObject; id?: string } | undefined {
  const source = v['_source'];
  if (typeof v['_index'] !== 'string' || !isObject(source) || !isCloudDefendDocument(source as JsonObject)) return undefined;
  const id = str(v['_id']);
  return id === undefined ? { doc: source as JsonObject } : { doc: source as JsonObject, id };
}

function fromSearchHit(hit: { doc: JsonObject; id?: string }, origin: Origin, hints: ParseHints): ParseOutcome {
  const at: Origin = hit.id !== undefined && origin.recordId === undefined ? { ...origin, recordId: hit.id } : origin;
  return parseCloudDefendDocument(hit.doc, baseContext('k8s', at, hints));
}

/** True for a Log Analytics ContainerLogV2 row (API, `az monitor log-analytics query`, portal export). */
export function isContainerLogV2Row(v: JsonObject): boolean {
  return 'LogMessage' in v && (typeof v['PodName'] === 'string' || typeof v['ContainerName'] === 'string');
}

/**
 * The outcomes of a runtime sensor record in any of the shapes above, or undefined when the value
 * is not one (the caller then tries the audit shapes). Never throws.
 */
export function detectRuntimeRecord(v: JsonObject, origin: Origin, hints: ParseHints = {}): ParseOutcome[] | undefined {
  const hit = searchHit(v);
  if (hit !== undefined) return [fromSearchHit(hit, origin, hints)];
  const response = isObject(v['hits']) ? (v['hits'] as JsonObject)['hits'] : undefined;
  if (Array.isArray(response) && response.some((h) => isObject(h) && searchHit(h as JsonObject) !== undefined)) {
    return response.map((h, index) => {
      const at: Origin = { ...origin, index };
      const x = isObject(h) ? searchHit(h as JsonObject) : undefined;
      return x === undefined ? rejected(at, 'unknown-shape', 'search hit without a Defend for Containers document in _source') : fromSearchHit(x, at, hints);
    });
  }
  if (typeof v['message'] === 'string') {
    if (typeof v['timestamp'] === 'number' || typeof v['logStreamName'] === 'string') return fromCloudWatch(v, origin, hints);
    return undefined;
  }
  if (isObject(v['resource']) && (v['resource'] as JsonObject)['type'] === 'k8s_container') return fromLogEntry(v, origin, hints);
  if (isContainerLogV2Row(v)) return fromContainerLogV2(v, origin, hints);
  if (isSensorLine(v) || (typeof v['log'] === 'string' && isObject(v['kubernetes']))) {
    const inner = unwrapFluentBit(v);
    if (inner === undefined) return undefined;
    return [parseSensorLine(inner.line, withDefined(baseContext('k8s', origin, hints), { node: inner.node }))];
  }
  return undefined;
}
