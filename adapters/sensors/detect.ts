import type { Origin } from '../../core/model/event.js';
import { isObject, type JsonObject } from '../k8s/parse.js';
import { rejected, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { str, type RuntimeContext } from './context.js';
import { isCloudDefendDocument, parseCloudDefendDocument } from './cloud-defend.js';
import { isFalcoAlert, parseFalcoAlert } from './falco.js';
import { isTraceeEvent, isTraceeNextEvent, parseTraceeEvent, traceeNextAsCurrent } from './tracee.js';

/**
 * Runtime sensor lines, whatever cloud they came from: a Tracee event (current or next format), a
 * Falco alert, or an Elastic Defend for Containers document, bare, in Fluent Bit's record
 * `{log: "<line>", stream, kubernetes: {host, …}}`, as an Elasticsearch search hit
 * (`{_index, _id, _source}`) or a whole search response (`{hits: {hits: [...]}}`). Each cloud's
 * container-log record around such a line is unwrapped in that cloud's `container-log.ts`.
 */

/** Keys one of the sensors' lines always has (Tracee, Falco, Tracee next, Defend for Containers). */
export const SENSOR_MARKERS = ['eventName', 'output_fields', '"workload"', '"orchestrator"'];

export function isSensorLine(v: JsonObject): boolean {
  return isTraceeEvent(v) || isFalcoAlert(v) || isTraceeNextEvent(v) || isCloudDefendDocument(v);
}

export function parseSensorLine(v: JsonObject, ctx: RuntimeContext): ParseOutcome {
  if (isTraceeEvent(v)) return parseTraceeEvent(v, ctx);
  if (isFalcoAlert(v)) return parseFalcoAlert(v, ctx);
  if (isTraceeNextEvent(v)) return parseTraceeEvent(traceeNextAsCurrent(v), ctx);
  return parseCloudDefendDocument(v, ctx);
}

export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A Fluent Bit record (or the line itself): the sensor object inside, if there is one. */
export function unwrapFluentBit(v: JsonObject): { line: JsonObject; node?: string } | undefined {
  if (isSensorLine(v)) return { line: v };
  const log = v['log'];
  const k8s = isObject(v['kubernetes']) ? (v['kubernetes']) : undefined;
  const node = str(k8s?.['host']);
  const inner = isObject(log) ? log : typeof log === 'string' && log.trimStart().startsWith('{') ? tryJson(log.trim()) : undefined;
  if (!isObject(inner) || !isSensorLine(inner)) return undefined;
  return node === undefined ? { line: inner } : { line: inner, node };
}

export function withDefined(ctx: RuntimeContext, extra: { cluster?: string | undefined; node?: string | undefined; ingestedAt?: string | undefined }): RuntimeContext {
  const out = { ...ctx };
  if (out.cluster === undefined && extra.cluster !== undefined) out.cluster = extra.cluster;
  if (extra.node !== undefined) out.node = extra.node;
  if (extra.ingestedAt !== undefined) out.ingestedAt = extra.ingestedAt;
  return out;
}

export function baseContext(cloud: RuntimeContext['cloud'], origin: Origin, hints: ParseHints): RuntimeContext {
  const ctx: RuntimeContext = { cloud, origin };
  if (hints.cluster !== undefined) ctx.cluster = hints.cluster;
  if (hints.ingestedAt !== undefined) ctx.ingestedAt = hints.ingestedAt;
  return ctx;
}





/** An Elasticsearch search hit holding a Defend for Containers document. */
function searchHit(v: JsonObject): { doc: JsonObject; id?: string } | undefined {
  const source = v['_source'];
  if (typeof v['_index'] !== 'string' || !isObject(source) || !isCloudDefendDocument(source)) return undefined;
  const id = str(v['_id']);
  return id === undefined ? { doc: source } : { doc: source, id };
}

function fromSearchHit(hit: { doc: JsonObject; id?: string }, origin: Origin, hints: ParseHints): ParseOutcome {
  const at: Origin = hit.id !== undefined && origin.recordId === undefined ? { ...origin, recordId: hit.id } : origin;
  return parseCloudDefendDocument(hit.doc, baseContext('k8s', at, hints));
}


/**
 * The outcomes of a runtime sensor record in any of the shapes above, or undefined when the value
 * is not one (the caller then tries the audit shapes). Never throws.
 */
export function detectSensorRecord(v: JsonObject, origin: Origin, hints: ParseHints = {}): ParseOutcome[] | undefined {
  return searchHitsOf(v, origin, hints) ?? bareSensorRecord(v, origin, hints);
}

/** A Defend for Containers search hit, or a search response holding them. */
export function searchHitsOf(v: JsonObject, origin: Origin, hints: ParseHints = {}): ParseOutcome[] | undefined {
  const hit = searchHit(v);
  if (hit !== undefined) return [fromSearchHit(hit, origin, hints)];
  const response = isObject(v['hits']) ? (v['hits'])['hits'] : undefined;
  if (Array.isArray(response) && response.some((h) => isObject(h) && searchHit(h) !== undefined)) {
    return response.map((h, index) => {
      const at: Origin = { ...origin, index };
      const x = isObject(h) ? searchHit(h) : undefined;
      return x === undefined ? rejected(at, 'unknown-shape', 'search hit without a Defend for Containers document in _source') : fromSearchHit(x, at, hints);
    });
  }
  return undefined;
}

/** A sensor's own line, bare or in Fluent Bit's record. */
export function bareSensorRecord(v: JsonObject, origin: Origin, hints: ParseHints = {}): ParseOutcome[] | undefined {
  if (isSensorLine(v) || (typeof v['log'] === 'string' && isObject(v['kubernetes']))) {
    const inner = unwrapFluentBit(v);
    if (inner === undefined) return undefined;
    return [parseSensorLine(inner.line, withDefined(baseContext('k8s', origin, hints), { node: inner.node }))];
  }
  return undefined;
}
