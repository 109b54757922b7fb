import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Firestore Value in its REST JSON form (`{stringValue}`, `{integerValue}`, `{timestampValue}`…). */
export type FirestoreValue = Record<string, unknown>;

export interface StoredDocument {
  name: string;
  fields: Record<string, FirestoreValue>;
  createTime: string;
  updateTime: string;
}

export interface FirestoreRequestRecord {
  rpc: 'commit' | 'batchGet' | 'unknown';
  method: string;
  path: string;
  database: string;
  body: Record<string, unknown>;
  authorization?: string;
  /** The gRPC-style status name the fake answered with (`OK` on success). */
  status: string;
}

/** gRPC status names with the HTTP status the REST surface maps them to (google.rpc.Code). */
const HTTP_OF: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export type FaultStatus = 'PERMISSION_DENIED' | 'RESOURCE_EXHAUSTED' | 'UNAVAILABLE' | 'INTERNAL' | 'UNAUTHENTICATED';

export interface FirestoreFault {
  rpc: 'commit' | 'batchGet' | 'any';
  status: FaultStatus;
  message?: string;
}

class RpcError extends Error {
  constructor(
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

const DOC_NAME = /^projects\/([^/]+)\/databases\/([^/]+)\/documents\/(.+)$/;
const ROUTE = /^\/v1\/projects\/([^/]+)\/databases\/([^/:]+)\/documents:(commit|batchGet)$/;

/** Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fractional digits. */
export function timestampNanos(value: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(value);
  if (m === null) return undefined;
  const seconds = Date.parse(`${m[1]!}Z`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * A wire-level Firestore on 127.0.0.1 for the REST transport the client uses with `preferRest`
 * (`POST …/documents:commit` and `…/documents:batchGet`). It enforces what the store relies on —
 * `currentDocument.exists` (ALREADY_EXISTS / NOT_FOUND) and `currentDocument.updateTime`
 * (FAILED_PRECONDITION), atomic commits, valid document ids — answers errors in the
 * `{error:{code,message,status}}` format, keeps a request log, and fails on demand. Transactions,
 * field transforms and nested field masks are not implemented and are rejected loudly.
 */
export class FirestoreFake {
  readonly requests: FirestoreRequestRecord[] = [];
  readonly documents = new Map<string, StoredDocument>();
  /** Databases that exist; a request to another answers NOT_FOUND like an uncreated database. */
  readonly databases = new Set<string>(['(default)']);
  private faults: FirestoreFault[] = [];
  private intercepts: Array<{ rpc: 'commit' | 'batchGet'; run: (body: Record<string, unknown>) => void }> = [];
  private server: Server | undefined;
  private lastMicros = 0n;

  static async start(): Promise<FirestoreFake> {
    const fake = new FirestoreFake();
    fake.server = createServer((req, res) => fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server!.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** `host:port` for the client's `host` setting. */
  get host(): string {
    return `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The next matching request fails with `status` (queued; each fault is used once). */
  failNext(fault: FirestoreFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  clearFaults(): void {
    this.faults = [];
    this.intercepts = [];
  }

  /** Runs `run` once, just before the next `rpc` is served: another client's write lands in between. */
  beforeNext(rpc: 'commit' | 'batchGet', run: (body: Record<string, unknown>) => void): void {
    this.intercepts.push({ rpc, run });
  }

  /** Writes a document as another client would (new update time), for races set up by tests. */
  put(name: string, fields: Record<string, FirestoreValue>): void {
    const time = this.nextTime();
    this.documents.set(name, { name, fields, createTime: this.documents.get(name)?.createTime ?? time, updateTime: time });
  }

  /** Fields of a stored document by collection and id, in REST Value form. */
  fieldsOf(project: string, database: string, collection: string, id: string): Record<string, FirestoreValue> | undefined {
    return this.documents.get(`projects/${project}/databases/${database}/documents/${collection}/${id}`)?.fields;
  }

  async stop(): Promise<void> {
    if (this.server === undefined) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').replace(/\?.*$/, '');
      const route = ROUTE.exec(path);
      const rpc = route === null ? 'unknown' : (route[3] as 'commit' | 'batchGet');
      const record: FirestoreRequestRecord = { rpc, method: req.method ?? '', path, database: route?.[2] ?? '', body: {}, status: 'OK' };
      if (req.headers.authorization !== undefined) record.authorization = req.headers.authorization;
      this.requests.push(record);
      try {
        if (route === null || req.method !== 'POST') throw new RpcError('NOT_FOUND', `The fake serves POST documents:commit and documents:batchGet only, not ${req.method} ${path}`);
        record.body = parseBody(Buffer.concat(chunks).toString('utf8'));
        const faultAt = this.faults.findIndex((f) => f.rpc === 'any' || f.rpc === rpc);
        if (faultAt >= 0) {
          const [fault] = this.faults.splice(faultAt, 1);
          throw new RpcError(fault!.status, fault!.message ?? defaultMessage(fault!.status));
        }
        const interceptAt = this.intercepts.findIndex((i) => i.rpc === rpc);
        if (interceptAt >= 0) this.intercepts.splice(interceptAt, 1)[0]!.run(record.body);
        const [, project, database] = route;
        if (!this.databases.has(database!)) {
          throw new RpcError(
            'NOT_FOUND',
            `The database ${database!} does not exist for project ${project!} Please visit https://console.cloud.google.com/datastore/setup?project=${project!} to add a Cloud Datastore or Cloud Firestore database.`,
          );
        }
        const prefix = `projects/${project!}/databases/${database!}/documents/`;
        const reply = rpc === 'commit' ? this.commit(record.body, prefix) : this.batchGet(record.body, prefix);
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(reply));
      } catch (err) {
        const e = err instanceof RpcError ? err : new RpcError('INTERNAL', String(err));
        record.status = e.status;
        const code = HTTP_OF[e.status] ?? 500;
        res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ error: { code, message: e.message, status: e.status } }));
      }
    });
  }

  /** Validates every write's precondition first, then applies all of them: a commit is atomic. */
  private commit(body: Record<string, unknown>, prefix: string): unknown {
    if (body['transaction'] !== undefined) throw new RpcError('INVALID_ARGUMENT', 'fake: transactions are not implemented');
    const writes = body['writes'];
    if (!Array.isArray(writes) || writes.length === 0) throw new RpcError('INVALID_ARGUMENT', 'writes: at least one write is required');
    if (writes.length > 500) throw new RpcError('INVALID_ARGUMENT', 'maximum 500 writes allowed per request');
    const plan = writes.map((w) => this.checkWrite(w as Record<string, unknown>, prefix));
    const time = this.nextTime();
    const results = plan.map((p) => {
      if (p.kind === 'delete') {
        this.documents.delete(p.name);
        return {};
      }
      const existing = this.documents.get(p.name);
      let fields = p.fields;
      if (p.mask !== undefined) {
        fields = { ...(existing?.fields ?? {}) };
        for (const path of p.mask) {
          if (p.fields[path] === undefined) delete fields[path];
          else fields[path] = p.fields[path]!;
        }
      }
      this.documents.set(p.name, { name: p.name, fields, createTime: existing?.createTime ?? time, updateTime: time });
      return { updateTime: time };
    });
    return { writeResults: results, commitTime: time };
  }

  private checkWrite(
    w: Record<string, unknown>,
    prefix: string,
  ): { kind: 'delete'; name: string } | { kind: 'update'; name: string; fields: Record<string, FirestoreValue>; mask?: string[] } {
    for (const unsupported of ['transform', 'updateTransforms']) {
      if (w[unsupported] !== undefined) throw new RpcError('INVALID_ARGUMENT', `fake: ${unsupported} is not implemented`);
    }
    const update = w['update'] as { name?: unknown; fields?: unknown } | undefined;
    const name = typeof w['delete'] === 'string' ? w['delete'] : update?.name;
    if (typeof name !== 'string') throw new RpcError('INVALID_ARGUMENT', 'write: one of update or delete is required');
    validateName(name, prefix);
    const existing = this.documents.get(name);
    const pre = w['currentDocument'] as { exists?: unknown; updateTime?: unknown } | undefined;
    if (pre?.exists === false && existing !== undefined) throw new RpcError('ALREADY_EXISTS', `Document already exists: ${name}`);
    if (pre?.exists === true && existing === undefined) throw new RpcError('NOT_FOUND', `No document to update: ${name}`);
    if (typeof pre?.updateTime === 'string') {
      const wanted = timestampNanos(pre.updateTime);
      if (wanted === undefined) throw new RpcError('INVALID_ARGUMENT', `currentDocument.updateTime: invalid timestamp ${pre.updateTime}`);
      if (existing === undefined || timestampNanos(existing.updateTime) !== wanted) {
        throw new RpcError('FAILED_PRECONDITION', `the stored version (${existing?.updateTime ?? 'none'}) does not match the required base version (${pre.updateTime})`);
      }
    }
    if (typeof w['delete'] === 'string') return { kind: 'delete', name };
    const fields = (update?.fields ?? {}) as Record<string, FirestoreValue>;
    const maskPaths = (w['updateMask'] as { fieldPaths?: unknown } | undefined)?.fieldPaths;
    if (maskPaths === undefined) return { kind: 'update', name, fields };
    if (!Array.isArray(maskPaths) || maskPaths.some((p) => typeof p !== 'string' || p.includes('.') || p.includes('`'))) {
      throw new RpcError('INVALID_ARGUMENT', 'fake: only top-level field paths are implemented in updateMask');
    }
    return { kind: 'update', name, fields, mask: maskPaths as string[] };
  }

  private batchGet(body: Record<string, unknown>, prefix: string): unknown {
    for (const unsupported of ['transaction', 'newTransaction', 'readTime', 'mask']) {
      if (body[unsupported] !== undefined) throw new RpcError('INVALID_ARGUMENT', `fake: batchGet ${unsupported} is not implemented`);
    }
    const names = body['documents'];
    if (!Array.isArray(names) || names.length === 0) throw new RpcError('INVALID_ARGUMENT', 'documents: at least one document is required');
    const readTime = this.nextTime();
    // A server-streaming RPC: over REST the whole stream arrives as one JSON array.
    return names.map((n) => {
      if (typeof n !== 'string') throw new RpcError('INVALID_ARGUMENT', 'documents: names must be strings');
      validateName(n, prefix);
      const doc = this.documents.get(n);
      return doc === undefined ? { missing: n, readTime } : { found: doc, readTime };
    });
  }

  /** Microsecond precision like the service, strictly increasing so every write gets a new version. */
  private nextTime(): string {
    const now = BigInt(Date.now()) * 1000n;
    this.lastMicros = now > this.lastMicros ? now : this.lastMicros + 1n;
    const ms = Number(this.lastMicros / 1000n);
    const micros = String(this.lastMicros % 1_000_000n).padStart(6, '0');
    return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
  }
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text === '' ? '{}' : text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new RpcError('INVALID_ARGUMENT', `Invalid JSON payload received. ${(err as Error).message}`);
  }
}

/** Collection/document segments alternate; ids may not be `.`, `..`, `__.*__` or over 1,500 bytes. */
function validateName(name: string, prefix: string): void {
  const m = DOC_NAME.exec(name);
  if (m === null || !name.startsWith(prefix)) throw new RpcError('INVALID_ARGUMENT', `Document name "${name}" lacks the database "${prefix}"`);
  const segments = m[3]!.split('/');
  if (segments.length % 2 !== 0) throw new RpcError('INVALID_ARGUMENT', `Document name "${name}" has odd number of segments`);
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || /^__.*__$/.test(s) || Buffer.byteLength(s) > 1500) {
      throw new RpcError('INVALID_ARGUMENT', `Resource id "${s}" is invalid because it is reserved or too long.`);
    }
  }
}

function defaultMessage(status: FaultStatus): string {
  switch (status) {
    case 'PERMISSION_DENIED':
      return 'Missing or insufficient permissions.';
    case 'RESOURCE_EXHAUSTED':
      return 'Quota exceeded.';
    case 'UNAVAILABLE':
      return 'The service is currently unavailable.';
    case 'UNAUTHENTICATED':
      return 'Request had invalid authentication credentials.';
    case 'INTERNAL':
      return 'Internal error.';
  }
}
