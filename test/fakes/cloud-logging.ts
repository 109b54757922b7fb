import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { AUDIT_LOG_TYPE_URL, encodeAuditLog } from '../../adapters/gke/audit-log.js';
import { matchesQuery, parseQuery, QuerySyntaxError, timeNs } from './logging-query.js';

/**
 * A Cloud Logging `ListLogEntries` server on 127.0.0.1:0 speaking gRPC, the transport
 * `@google-cloud/logging` uses by default, with the service definition shipped in
 * `@google-cloud/logging-api`. Entries are seeded as the JSON
 * `gcloud logging read --format=json` prints and sent the way Cloud Logging sends them: the
 * AuditLog `protoPayload` as an `Any` encoded with the same message definition the adapter decodes,
 * a container's `jsonPayload` as a `google.protobuf.Struct`.
 * It honours the filter subset credwatch emits (anything else: INVALID_ARGUMENT), `orderBy`,
 * `pageSize` (≤ 1,000), opaque page tokens bound to their query, and can be told to serve empty
 * pages, run out of read quota, or fail a call.
 */

export type LogEntryJson = Record<string, unknown>;

export interface ListRequestRecord {
  resourceNames: string[];
  filter: string;
  orderBy: string;
  pageSize: number;
  pageToken: string;
  /** Metadata keys the client sent (to assert no credentials went out). */
  metadataKeys: string[];
}

export interface Fault {
  code: grpc.status;
  message: string;
}

const require = createRequire(import.meta.url);
const QUOTA_MESSAGE =
  "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'logging.googleapis.com' for consumer 'project_number:123456789012'.";

function protoDirs(): string[] {
  const api = path.join(path.dirname(require.resolve('@google-cloud/logging-api/package.json')), 'build/protos');
  const gax = path.join(path.dirname(require.resolve('google-gax')), '../protos');
  return [api, gax];
}

let cachedService: grpc.ServiceDefinition | undefined;
function loggingService(): grpc.ServiceDefinition {
  if (cachedService !== undefined) return cachedService;
  const def = protoLoader.loadSync('google/logging/v2/logging.proto', { includeDirs: protoDirs(), keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { google: { logging: { v2: { LoggingServiceV2: { service: grpc.ServiceDefinition } } } } };
  cachedService = pkg.google.logging.v2.LoggingServiceV2.service;
  return cachedService;
}

function wireTime(rfc3339: unknown): { seconds: string; nanos: number } | undefined {
  if (typeof rfc3339 !== 'string') return undefined;
  const ns = timeNs(rfc3339);
  if (ns === undefined) return undefined;
  return { seconds: String(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) };
}

/** A JSON value as a google.protobuf.Value (proto-loader object form), for `jsonPayload`. */
function wireValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(wireValue) } };
  return { structValue: wireStruct(v as Record<string, unknown>) };
}

function wireStruct(o: Record<string, unknown>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, wireValue(v)])) };
}

/** One seeded entry as the LogEntry message Cloud Logging puts on the wire. */
export function toWireEntry(e: LogEntryJson): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const key of ['insertId', 'logName', 'labels', 'operation', 'resource', 'severity', 'textPayload'] as const) {
    if (e[key] !== undefined) wire[key] = e[key];
  }
  const json = e['jsonPayload'];
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) wire['jsonPayload'] = wireStruct(json as Record<string, unknown>);
  const ts = wireTime(e['timestamp']);
  if (ts !== undefined) wire['timestamp'] = ts;
  const rt = wireTime(e['receiveTimestamp']);
  if (rt !== undefined) wire['receiveTimestamp'] = rt;
  const pp = e['protoPayload'];
  if (pp !== null && typeof pp === 'object') {
    const typeUrl = String((pp as LogEntryJson)['@type'] ?? AUDIT_LOG_TYPE_URL);
    wire['protoPayload'] = { type_url: typeUrl, value: Buffer.from(encodeAuditLog(pp as LogEntryJson)) };
  }
  return wire;
}

const projectOf = (entry: LogEntryJson): string | undefined => /^projects\/([^/]+)\/logs\//.exec(String(entry['logName'] ?? ''))?.[1];

interface Cursor {
  queryKey: string;
  offset: number;
  emptyLeft: number;
}

export class FakeCloudLogging {
  readonly requests: ListRequestRecord[] = [];
  private readonly server = new grpc.Server();
  private entries: LogEntryJson[] = [];
  private readonly cursors = new Map<string, Cursor>();
  private faults: Fault[] = [];
  private failAt = new Map<number, Fault>();
  /** insertIds whose AuditLog bytes are sent corrupted (not a valid message). */
  readonly corrupted = new Set<string>();
  /** Each new query first serves this many empty pages that carry a token. */
  emptyPagesPerQuery = 0;
  port = 0;

  /** Starts the server; seed entries with `add`. */
  static async start(): Promise<FakeCloudLogging> {
    const fake = new FakeCloudLogging();
    fake.server.addService(loggingService(), {
      ListLogEntries: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => fake.list(call, cb),
    });
    fake.port = await new Promise<number>((resolve, reject) =>
      fake.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return fake;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  add(...entries: LogEntryJson[]): void {
    this.entries.push(...entries);
  }

  /** The next `times` calls fail with RESOURCE_EXHAUSTED (the read quota error). */
  exhaustQuota(times: number): void {
    for (let i = 0; i < times; i++) this.faults.push({ code: grpc.status.RESOURCE_EXHAUSTED, message: QUOTA_MESSAGE });
  }

  /** The next call fails with this status. */
  failNext(fault: Fault): void {
    this.faults.push(fault);
  }

  /** The call with this 1-based number (counting every call) fails. */
  failCall(n: number, fault: Fault): void {
    this.failAt.set(n, fault);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /** Entries of the named projects matching a filter, in the service's order (for assertions). */
  select(filter: string, projects: readonly string[], orderBy = 'timestamp asc'): LogEntryJson[] {
    const node = parseQuery(filter);
    const keep = this.entries.filter((e) => projects.includes(projectOf(e) ?? '') && matchesQuery(node, e));
    const key = (e: LogEntryJson) => timeNs(String(e['timestamp'] ?? '')) ?? 0n;
    keep.sort((a, b) => {
      const d = key(a) - key(b);
      if (d !== 0n) return d < 0n ? -1 : 1;
      return String(a['insertId'] ?? '').localeCompare(String(b['insertId'] ?? ''));
    });
    return orderBy === 'timestamp desc' ? keep.reverse() : keep;
  }

  private list(call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    const r = call.request;
    const req: ListRequestRecord = {
      resourceNames: Array.isArray(r['resourceNames']) ? (r['resourceNames'] as string[]) : [],
      filter: typeof r['filter'] === 'string' ? r['filter'] : '',
      orderBy: typeof r['orderBy'] === 'string' ? r['orderBy'] : '',
      pageSize: typeof r['pageSize'] === 'number' ? r['pageSize'] : 0,
      pageToken: typeof r['pageToken'] === 'string' ? r['pageToken'] : '',
      metadataKeys: Object.keys(call.metadata.getMap()),
    };
    this.requests.push(req);
    const fault = this.failAt.get(this.requests.length) ?? this.faults.shift();
    if (fault !== undefined) return cb({ code: fault.code, details: fault.message });
    const invalid = (details: string) => cb({ code: grpc.status.INVALID_ARGUMENT, details });

    if (req.resourceNames.length === 0 || req.resourceNames.length > 100) return invalid('resource_names: between 1 and 100 parents are required');
    const projects: string[] = [];
    for (const name of req.resourceNames) {
      const m = /^projects\/([^/]+)$/.exec(name);
      if (m === null) return invalid(`resource_names: unsupported parent ${name}`);
      projects.push(m[1]!);
    }
    if (req.pageSize < 0 || req.pageSize > 1000) return invalid('page_size must be between 0 and 1000');
    if (req.filter.length > 20_000) return invalid('filter is longer than 20000 characters');
    if (!['', 'timestamp asc', 'timestamp desc'].includes(req.orderBy)) return invalid(`order_by: unsupported ${req.orderBy}`);
    let selected: LogEntryJson[];
    try {
      selected = this.select(req.filter, projects, req.orderBy);
    } catch (err) {
      if (err instanceof QuerySyntaxError) return invalid(`filter: ${err.message}`);
      throw err;
    }
    const queryKey = JSON.stringify([req.resourceNames, req.filter, req.orderBy, req.pageSize]);
    let cursor: Cursor = { queryKey, offset: 0, emptyLeft: this.emptyPagesPerQuery };
    if (req.pageToken !== '') {
      const found = this.cursors.get(req.pageToken);
      if (found === undefined) return invalid('page_token: unknown or expired token');
      if (found.queryKey !== queryKey) return invalid('page_token: the request changed since the token was issued');
      cursor = found;
    }
    const size = req.pageSize === 0 ? 50 : req.pageSize;
    let page: LogEntryJson[] = [];
    let next: Cursor | undefined;
    if (cursor.emptyLeft > 0) {
      // The search ran out of time before finding anything: an empty page that carries a token.
      next = { ...cursor, emptyLeft: cursor.emptyLeft - 1 };
    } else {
      page = selected.slice(cursor.offset, cursor.offset + size);
      const offset = cursor.offset + page.length;
      if (offset < selected.length) next = { queryKey, offset, emptyLeft: 0 };
    }
    let nextPageToken = '';
    if (next !== undefined) {
      nextPageToken = createHash('sha256').update(`${queryKey}|${this.requests.length}|${next.offset}`).digest('base64url');
      this.cursors.set(nextPageToken, next);
    }
    const wire = page.map((e) => {
      const w = toWireEntry(e);
      if (this.corrupted.has(String(e['insertId']))) w['protoPayload'] = { type_url: AUDIT_LOG_TYPE_URL, value: Buffer.from([0x3a, 0x10, 0x6b]) };
      return w;
    });
    cb(null, { entries: wire, nextPageToken });
  }
}
