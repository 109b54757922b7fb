import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenCredential } from '@azure/identity';
import { KqlError } from './log-analytics-kql-parse.js';
import { runKql, type Column, type StoredRow, type StoredTable } from './log-analytics-kql-eval.js';
import { createLoopbackCert } from './log-analytics-tls.js';
import { TABLE_COLUMNS } from './log-analytics-tables.js';

/**
 * A wire-level fake of the Azure Monitor Logs query API (https://learn.microsoft.com/azure/azure-monitor/logs/api/overview): HTTPS on
 * 127.0.0.1 with a certificate minted at start-up, `POST /v1/workspaces/{id}/query`, the
 * documented `{tables:[{name,columns,rows}]}` shape with dynamic cells as JSON strings, the
 * request's `timespan` applied to TimeGenerated, a real evaluator for the KQL subset the adapter
 * emits, row and byte caps answered with a PartialError inside a 200, 204 for an empty workspace,
 * 429 with Retry-After on demand, and a request log to assert on.
 */

export interface QueryRequestRecord {
  path: string;
  authorization?: string;
  prefer?: string;
  query?: string;
  timespan?: string;
  status: number;
  /** Rows returned (after caps). */
  rows: number;
  partial?: string;
  /** Time the fake spent answering, for the bench to tell its own cost from the client's. */
  ms?: number;
}

export interface FakeLogAnalyticsOptions {
  workspaceId?: string;
  token?: string;
  /** Service caps: 500,000 records and ~64 MB per response (https://learn.microsoft.com/azure/azure-monitor/service-limits#log-queries-and-language). */
  maxRows?: number;
  maxBytes?: number;
}

interface InjectedFault {
  status: number;
  code: string;
  message: string;
  retryAfter?: string;
}

export const FAKE_WORKSPACE_ID = '00000000-0000-0000-0000-0000000000aa';

function durationMs(iso: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (m === null) throw new KqlError('SyntaxError', `bad timespan ${iso}`);
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
}

/** ISO 8601 interval: `start/end`, `start/duration`, `duration/end` or a duration ending now. */
export function parseTimespan(ts: string, now: Date): { start: number; end: number } {
  const [a, b] = ts.split('/');
  if (a === undefined) throw new KqlError('SyntaxError', 'empty timespan');
  if (b === undefined) return { start: now.getTime() - durationMs(a), end: now.getTime() };
  const aTime = a.startsWith('P') ? undefined : Date.parse(a);
  const bTime = b.startsWith('P') ? undefined : Date.parse(b);
  const start = aTime ?? (bTime as number) - durationMs(a);
  const end = bTime ?? start + durationMs(b);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new KqlError('SyntaxError', `bad timespan ${ts}`);
  return { start, end };
}

function cell(type: Column['type'], v: unknown): unknown {
  if (v === null || v === undefined) return type === 'dynamic' ? '' : null;
  if (v instanceof Date) return v.toISOString();
  // The live service sends dynamic cells as JSON text; the SDK parses them.
  if (type === 'dynamic') return typeof v === 'string' ? v : JSON.stringify(v);
  return v;
}

function stored(columns: Column[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    let v = values[c.name];
    if (v === undefined || v === '') v = c.type === 'string' ? (v ?? null) : null;
    else if (c.type === 'datetime' && typeof v === 'string') v = new Date(v);
    else if (c.type === 'dynamic' && typeof v === 'string' && /^[[{"]/.test(v)) {
      try {
        v = JSON.parse(v) as unknown;
      } catch {
        // kept as text, like the service keeps an unparsable dynamic value
      }
    }
    out[c.name] = v;
  }
  return out;
}

export class FakeLogAnalytics {
  readonly requests: QueryRequestRecord[] = [];
  readonly workspaceId: string;
  readonly token: string;
  maxRows: number;
  maxBytes: number;
  private readonly tables = new Map<string, StoredTable>();
  private readonly faults: InjectedFault[] = [];
  private readonly partialErrors: Array<{ match: string; left: number }> = [];

  private constructor(
    private readonly server: https.Server,
    readonly endpoint: string,
    readonly ca: string,
    opts: FakeLogAnalyticsOptions,
  ) {
    this.workspaceId = opts.workspaceId ?? FAKE_WORKSPACE_ID;
    this.token = opts.token ?? 'fake-log-analytics-token';
    this.maxRows = opts.maxRows ?? 500_000;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  }

  static async start(opts: FakeLogAnalyticsOptions = {}): Promise<FakeLogAnalytics> {
    const { cert, key } = await createLoopbackCert();
    const server = https.createServer({ cert, key }, (req, res) => fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const fake = new FakeLogAnalytics(server, `https://127.0.0.1:${port}/v1`, cert, opts);
    return fake;
  }

  /** A TokenCredential handing out the static token this fake accepts. */
  get credential(): TokenCredential {
    const token = this.token;
    return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  }

  /** Adds rows to a table (created with its documented columns); `Type` is the table name. */
  addRows(table: string, rows: ReadonlyArray<Record<string, unknown>>, ingestedAt: Date | ((row: Record<string, unknown>, i: number) => Date)): void {
    const columns = TABLE_COLUMNS[table];
    if (columns === undefined) throw new Error(`fake has no schema for table ${table}`);
    let t = this.tables.get(table);
    if (t === undefined) {
      t = { columns, rows: [] };
      this.tables.set(table, t);
    }
    rows.forEach((r, i) => {
      const at = typeof ingestedAt === 'function' ? ingestedAt(r, i) : ingestedAt;
      t.rows.push({ values: stored(columns, { ...r, Type: table }), ingestedAt: at });
    });
  }

  /** The next `n` queries get 429 with this Retry-After (seconds). */
  throttle(n: number, retryAfter = '0'): void {
    for (let i = 0; i < n; i++) this.faults.push({ status: 429, code: 'TooManyRequests', message: 'Too many requests.', retryAfter });
  }

  fail(status: number, code: string, message: string): void {
    this.faults.push({ status, code, message });
  }

  /** The next `n` queries containing `match` return their rows with a PartialError not about size. */
  partialErrorNext(n: number, match = ''): void {
    this.partialErrors.push({ match, left: n });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, rec: QueryRequestRecord & { started?: number }, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    rec.status = status;
    const text = body === undefined ? undefined : JSON.stringify(body);
    if (rec.started !== undefined) rec.ms = performance.now() - rec.started;
    delete rec.started;
    this.requests.push(rec);
    res.writeHead(status, body === undefined ? headers : { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(text);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.answer(req, Buffer.concat(chunks).toString('utf8'), res));
  }

  private answer(req: IncomingMessage, text: string, res: ServerResponse): void {
    const rec: QueryRequestRecord & { started?: number } = { path: req.url ?? '', status: 0, rows: 0, started: performance.now() };
    if (req.headers.authorization !== undefined) rec.authorization = req.headers.authorization;
    if (typeof req.headers.prefer === 'string') rec.prefer = req.headers.prefer;
    const err = (status: number, code: string, message: string, inner?: string) =>
      this.send(res, rec, status, { error: { code, message, ...(inner === undefined ? {} : { innererror: { code: inner, message } }) } });
    const m = /^\/v1\/workspaces\/([^/?]+)\/query$/.exec(rec.path);
    if (req.method !== 'POST' || m === null) return err(404, 'PathNotFoundError', `The requested path does not exist: ${rec.path}`);
    if (rec.authorization === undefined) return err(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing.');
    if (rec.authorization !== `Bearer ${this.token}`) return err(403, 'InvalidAuthenticationToken', 'The provided authentication is not valid.');
    if (decodeURIComponent(m[1]!) !== this.workspaceId) return err(404, 'WorkspaceNotFoundError', `Workspace ${m[1]} not found.`);
    const fault = this.faults.shift();
    if (fault !== undefined) {
      rec.status = fault.status;
      return this.send(res, rec, fault.status, { error: { code: fault.code, message: fault.message } }, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
    }
    // The service answers an empty 200 when the body is not JSON.
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return this.send(res, rec, 200, {});
    let body: { query?: unknown; timespan?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return this.send(res, rec, 200, {});
    }
    if (typeof body.query !== 'string') return err(400, 'BadArgumentError', 'The request had some invalid properties', 'MissingQuery');
    rec.query = body.query;
    if (typeof body.timespan === 'string') rec.timespan = body.timespan;
    if (this.tables.size === 0) return this.send(res, rec, 204);
    try {
      const span = rec.timespan === undefined ? undefined : parseTimespan(rec.timespan, new Date());
      const inWindow = (r: StoredRow): boolean => {
        if (span === undefined) return true;
        const tg = r.values['TimeGenerated'];
        const t = tg instanceof Date ? tg.getTime() : NaN;
        return t >= span.start && t < span.end;
      };
      const result = runKql(body.query, this.tables, inWindow);
      this.reply(res, rec, result.columns, result.rows);
    } catch (e) {
      if (e instanceof KqlError) return err(400, 'BadArgumentError', `The request had some invalid properties: ${e.message}`, e.kind);
      throw e;
    }
  }

  private reply(res: ServerResponse, rec: QueryRequestRecord & { started?: number }, columns: Column[], rows: unknown[][]): void {
    const out: unknown[][] = [];
    let bytes = 0;
    let partial: string | undefined;
    for (const r of rows) {
      if (out.length >= this.maxRows) {
        partial = `Query result set has exceeded the internal record count limit ${this.maxRows} records (E_QUERY_RESULT_SET_TOO_LARGE)`;
        break;
      }
      const row = r.map((v, i) => cell(columns[i]!.type, v));
      bytes += JSON.stringify(row).length;
      if (bytes > this.maxBytes) {
        partial = `Query result set has exceeded the internal data size limit ${this.maxBytes} bytes (E_QUERY_RESULT_SET_TOO_LARGE)`;
        break;
      }
      out.push(row);
    }
    const injected = this.partialErrors.find((p) => p.left > 0 && (rec.query ?? '').includes(p.match));
    if (partial === undefined && injected !== undefined) {
      injected.left--;
      partial = 'Query execution has exceeded the allowed limits (E_LOW_MEMORY_CONDITION)';
    }
    rec.rows = out.length;
    const body: Record<string, unknown> = { tables: [{ name: 'PrimaryResult', columns, rows: out }] };
    if (partial !== undefined) {
      rec.partial = partial;
      body['error'] = {
        code: 'PartialError',
        message: 'There were some errors when processing your query.',
        details: [{ code: 'EngineError', message: partial }],
      };
    }
    this.send(res, rec, 200, body);
  }
}
