import protobuf from 'protobufjs';
import serializer from 'proto3-json-serializer';
import { AUDIT_LOG_DESCRIPTOR } from './audit-log-descriptor.js';

/**
 * Decoding of the `protoPayload` Any the Cloud Logging gRPC API returns for audit entries, into the
 * proto3 JSON form `gcloud logging read --format=json` prints (`@type` member, Struct bodies as
 * plain JSON, int64 as strings, enums by name), which is what `adapters/gke/parse.ts` reads.
 * The JSON mapping is proto3-json-serializer's, the library google-gax uses for REST.
 */

export const AUDIT_LOG_TYPE_URL = 'type.googleapis.com/google.cloud.audit.AuditLog';

const WELL_KNOWN = [
  'google/protobuf/any.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/duration.proto',
] as const;

let cached: protobuf.Root | undefined;

/** The shared root holding AuditLog, its parts and the well-known types (built once). */
export function auditLogRoot(): protobuf.Root {
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  for (const file of WELL_KNOWN) {
    const json = protobuf.common.get(file);
    if (json?.nested !== undefined) root.addJSON(json.nested);
  }
  root.addJSON(AUDIT_LOG_DESCRIPTOR.nested ?? {});
  root.resolveAll();
  cached = root;
  return root;
}

export type JsonRecord = Record<string, unknown>;

/** An `Any` as the gRPC client delivers it (`type_url`, bytes in `value`). */
export interface RawAny {
  type_url?: string;
  value?: Uint8Array | string;
}

/**
 * The Any's payload as proto3 JSON with its `@type`. Throws on bytes that are not a valid message
 * of the named type, or on a type this root does not hold; callers turn that into a rejection.
 */
export function decodeAnyPayload(any: RawAny): JsonRecord {
  const root = auditLogRoot();
  const typeUrl = any.type_url ?? '';
  const type = root.lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  const raw = typeof any.value === 'string' ? Buffer.from(any.value, 'base64') : (any.value ?? new Uint8Array());
  // A plain Uint8Array view: protobufjs reads Node Buffers leniently (a string running past the
  // end is clipped, not refused), so a truncated payload would decode into a wrong value.
  const reader = protobuf.Reader.create(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  const message = type.decode(reader);
  if (reader.pos !== reader.len) throw new Error(`${reader.len - reader.pos} trailing bytes after the ${type.name} message`);
  const json = serializer.toProto3JSON(message);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`payload ${typeUrl} did not decode to an object`);
  }
  return { '@type': typeUrl, ...(json as JsonRecord) };
}

/** The AuditLog message bytes for a proto3 JSON payload (the fake's and the bench's encoder). */
export function encodeAuditLog(payload: JsonRecord): Uint8Array {
  const root = auditLogRoot();
  const type = root.lookupType('google.cloud.audit.AuditLog');
  const { ['@type']: _type, ...fields } = payload;
  const message = serializer.fromProto3JSON(type, fields as serializer.JSONObject);
  if (message === null) throw new Error('AuditLog JSON did not convert to a message');
  return type.encode(message).finish();
}

/** `{seconds, nanos}` as RFC 3339 with 0, 3, 6 or 9 fractional digits (the proto3 JSON form). */
export function timestampToRfc3339(ts: { seconds?: unknown; nanos?: unknown }): string | undefined {
  const root = auditLogRoot();
  const type = root.lookupType('google.protobuf.Timestamp');
  const seconds = typeof ts.seconds === 'string' || typeof ts.seconds === 'number' ? ts.seconds : undefined;
  if (seconds === undefined) return undefined;
  const nanos = typeof ts.nanos === 'number' ? ts.nanos : 0;
  const json = serializer.toProto3JSON(type.fromObject({ seconds, nanos }));
  return typeof json === 'string' ? json : undefined;
}

/** Struct message (as the gRPC client delivers `jsonPayload`) to plain JSON. */
export function structToJson(struct: unknown): unknown {
  const type = auditLogRoot().lookupType('google.protobuf.Struct');
  return serializer.toProto3JSON(type.fromObject(struct as Record<string, unknown>));
}
