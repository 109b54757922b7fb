import type { Origin } from '../../core/model/event.js';
import type { ParseHints, ParseOutcome } from '../../core/model/parse-result.js';
import { isObject, type JsonObject } from '../k8s/parse.js';
import { str } from '../sensors/context.js';
import { baseContext, parseSensorLine, tryJson, unwrapFluentBit, withDefined } from '../sensors/detect.js';

/**
 * Runtime sensor lines as Cloud Logging keeps a container's stdout on GKE: a LogEntry of a
 * `k8s_container` with the line in `jsonPayload` (GKE parses JSON stdout lines) or `textPayload`.
 */

/** A LogEntry of a container's stdout. */
export function isContainerLogEntry(v: JsonObject): boolean {
  return isObject(v['resource']) && v['resource']['type'] === 'k8s_container';
}

export function sensorRecordOfLogEntry(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] | undefined {
  const resource = v['resource'] as JsonObject;
  const labels = isObject(resource['labels']) ? (resource['labels']) : {};
  let line: unknown = v['jsonPayload'];
  if (line === undefined && typeof v['textPayload'] === 'string') line = tryJson(v['textPayload'].trim());
  if (!isObject(line)) return undefined;
  const inner = unwrapFluentBit(line);
  if (inner === undefined) return undefined;
  const entryLabels = isObject(v['labels']) ? (v['labels']) : {};
  const recordId = str(v['insertId']);
  const at: Origin = recordId !== undefined && origin.recordId === undefined ? { ...origin, recordId } : origin;
  const ctx = withDefined(baseContext('gke', at, hints), {
    cluster: str(labels['cluster_name']),
    node: inner.node ?? str(entryLabels['compute.googleapis.com/resource_name']),
    ingestedAt: str(v['receiveTimestamp']),
  });
  return [parseSensorLine(inner.line, ctx)];
}
