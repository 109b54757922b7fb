import type { Origin } from '../../core/model/event.js';
import { rejected, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { isObject, type JsonObject } from '../k8s/parse.js';
import { str } from '../sensors/context.js';
import { baseContext, parseSensorLine, tryJson, unwrapFluentBit, withDefined } from '../sensors/detect.js';
import { clusterOfResourceId } from './parse.js';

/** Runtime sensor lines as Log Analytics keeps a container's stdout on AKS: a `ContainerLogV2` row with the line in `LogMessage`. */

/** True for a Log Analytics ContainerLogV2 row (API, `az monitor log-analytics query`, portal export). */
export function isContainerLogV2Row(v: JsonObject): boolean {
  return 'LogMessage' in v && (typeof v['PodName'] === 'string' || typeof v['ContainerName'] === 'string');
}

export function sensorRecordOfContainerLogRow(v: JsonObject, origin: Origin, hints: ParseHints): ParseOutcome[] {
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
