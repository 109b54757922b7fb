import { decodeAnyPayload, structToJson, timestampToRfc3339, type JsonRecord } from './audit-log.js';

/**
 * A LogEntry as the gRPC client delivers it (proto-loader objects: defaults filled in, longs as
 * strings, enums by name, `payload` naming the oneof member, Any payloads undecoded) turned into
 * the JSON `gcloud logging read --format=json` prints, which `adapters/gke/parse.ts` reads.
 * Defaults the service never sent (empty strings, null messages, empty maps) are left out, so
 * nothing is invented; the envelope fields a parser or an analyst uses are kept.
 */

const isRecord = (v: unknown): v is JsonRecord => v !== null && typeof v === 'object' && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return Object.keys(out).length === 0 ? undefined : out;
}

function timeOf(v: unknown): string | undefined {
  if (!isRecord(v)) return undefined;
  return timestampToRfc3339(v);
}

/** What went wrong turning one entry into JSON; the source reports it as a rejection. */
export class EntryDecodeError extends Error {}

export function logEntryToJson(raw: unknown): JsonRecord {
  if (!isRecord(raw)) throw new EntryDecodeError('LogEntry is not an object');
  const out: JsonRecord = {};
  if (nonEmpty(raw['insertId'])) out['insertId'] = raw['insertId'];
  if (nonEmpty(raw['logName'])) out['logName'] = raw['logName'];
  const labels = stringMap(raw['labels']);
  if (labels !== undefined) out['labels'] = labels;
  const op = raw['operation'];
  if (isRecord(op) && (nonEmpty(op['id']) || nonEmpty(op['producer']))) {
    const operation: JsonRecord = {};
    if (op['first'] === true) operation['first'] = true;
    if (nonEmpty(op['id'])) operation['id'] = op['id'];
    if (op['last'] === true) operation['last'] = true;
    if (nonEmpty(op['producer'])) operation['producer'] = op['producer'];
    out['operation'] = operation;
  }
  const payloadKind = typeof raw['payload'] === 'string' ? raw['payload'] : undefined;
  if (payloadKind === 'protoPayload' || (payloadKind === undefined && isRecord(raw['protoPayload']))) {
    const any = raw['protoPayload'];
    if (!isRecord(any)) throw new EntryDecodeError('protoPayload is not an Any');
    try {
      out['protoPayload'] = decodeAnyPayload(any);
    } catch (err) {
      throw new EntryDecodeError(`protoPayload ${String(any['type_url'] ?? '')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else if (payloadKind === 'jsonPayload' && isRecord(raw['jsonPayload'])) {
    out['jsonPayload'] = structToJson(raw['jsonPayload']);
  } else if (payloadKind === 'textPayload' && typeof raw['textPayload'] === 'string') {
    out['textPayload'] = raw['textPayload'];
  }
  const receive = timeOf(raw['receiveTimestamp']);
  if (receive !== undefined) out['receiveTimestamp'] = receive;
  const resource = raw['resource'];
  if (isRecord(resource)) {
    const res: JsonRecord = {};
    const resLabels = stringMap(resource['labels']);
    if (resLabels !== undefined) res['labels'] = resLabels;
    if (nonEmpty(resource['type'])) res['type'] = resource['type'];
    out['resource'] = res;
  }
  if (nonEmpty(raw['severity']) && raw['severity'] !== 'DEFAULT') out['severity'] = raw['severity'];
  const time = timeOf(raw['timestamp']);
  if (time !== undefined) out['timestamp'] = time;
  return out;
}
