import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compilePattern, PatternSyntaxError, type Matcher } from './cloudwatch-logs-pattern.js';

/**
 * A wire-level fake of CloudWatch Logs FilterLogEvents (JSON 1.1: `POST /`,
 * `X-Amz-Target: Logs_20140328.FilterLogEvents`, `application/x-amz-json-1.1`), for the real SDK
 * client. Facts followed (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html): event-time window with inclusive start and end
 * in epoch ms; results sorted by timestamp, then ingestion time; `limit` 1–10,000 is only an upper
 * bound; a page holds at most 10,000 events or 1 MB; a page may be empty and still carry a
 * `nextToken` (here: each request scans at most `scanLimit` stored events, like the service's
 * bounded search); only a missing token ends paging; `searchedLogStreams` is always `[]`; the
 * JSON filter pattern is evaluated for real (≤ 1,024 characters); errors are HTTP 400/500 with
 * `{"__type","message"}`.
 */

export interface SeedEvent {
  logStreamName: string;
  timestamp: number;
  /** Defaults to `timestamp`; set it later to model late delivery. */
  ingestionTime?: number;
  message: string;
  eventId?: string;
}

export interface FakeFault {
  /** `__type` of the error, e.g. `ThrottlingException`, `ServiceUnavailableException`. */
  code: string;
  /** Defaults: 500 for ServiceUnavailableException, else 400. */
  status?: number;
  message?: string;
  /** How many requests fail (default 1; `Infinity` for all that follow). */
  times?: number;
  /** How many requests succeed first, counted from the injection (default 0). */
  afterRequests?: number;
}

export interface LoggedRequest {
  target: string;
  body: Record<string, unknown>;
  status: number;
  errorCode?: string;
  events?: number;
  nextToken?: string;
}

export interface FakeOptions {
  /** Stored events one request looks at before it returns what it found (default 5,000). */
  scanLimit?: number;
}

type Stored = Required<SeedEvent>;

const PAGE_MAX_EVENTS = 10_000;
const PAGE_MAX_BYTES = 1_048_576;
const JSON_TYPE = 'application/x-amz-json-1.1';

class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

export class FakeCloudWatchLogs {
  readonly requests: LoggedRequest[] = [];
  private readonly groups = new Map<string, { events: Stored[]; sorted: boolean }>();
  private readonly faults: Array<Required<FakeFault>> = [];
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];
  private seq = 0;
  private tokens = 0;
  private readonly scanLimit: number;

  private constructor(private readonly server: Server, opts: FakeOptions) {
    this.scanLimit = opts.scanLimit ?? 5_000;
  }

  static async start(opts: FakeOptions = {}): Promise<FakeCloudWatchLogs> {
    const server = createServer((req, res) => fake.handle(req, res));
    const fake = new FakeCloudWatchLogs(server, opts);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  createLogGroup(name: string): void {
    if (!this.groups.has(name)) this.groups.set(name, { events: [], sorted: true });
  }

  /** Adds events to a group (created when missing). */
  putEvents(group: string, events: readonly SeedEvent[]): void {
    this.createLogGroup(group);
    const g = this.groups.get(group);
    if (g === undefined) return;
    for (const e of events) {
      this.seq++;
      g.events.push({
        logStreamName: e.logStreamName,
        timestamp: e.timestamp,
        ingestionTime: e.ingestionTime ?? e.timestamp,
        message: e.message,
        eventId: e.eventId ?? String(this.seq).padStart(56, '0'),
      });
    }
    g.sorted = false;
  }

  inject(fault: FakeFault): void {
    this.faults.push({
      code: fault.code,
      status: fault.status ?? (fault.code === 'ServiceUnavailableException' ? 500 : 400),
      message: fault.message ?? defaultMessage(fault.code),
      times: fault.times ?? 1,
      afterRequests: fault.afterRequests ?? 0,
    });
  }

  /** Resolves once the fake has answered `n` requests in total. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: Record<string, unknown> = {};
      const entry: LoggedRequest = { target, body, status: 200 };
      try {
        if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith(JSON_TYPE)) {
          throw new ApiError('SerializationException', `expected POST with ${JSON_TYPE}`);
        }
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError('SerializationException', 'body is not an object');
        body = parsed as Record<string, unknown>;
        entry.body = body;
        this.fireFault();
        if (target !== 'Logs_20140328.FilterLogEvents') throw new ApiError('UnknownOperationException', `unsupported target ${target}`);
        const out = this.filterLogEvents(body);
        entry.events = out.events.length;
        if (out.nextToken !== undefined) entry.nextToken = out.nextToken;
        this.reply(res, 200, out);
      } catch (err) {
        const e = err instanceof ApiError ? err : new ApiError('SerializationException', String(err));
        entry.status = e.status;
        entry.errorCode = e.code;
        this.reply(res, e.status, { __type: e.code, message: e.message });
      }
      this.requests.push(entry);
      for (const w of this.waiters.filter((x) => this.requests.length >= x.n)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': `req-${this.requests.length + 1}` });
    res.end(text);
  }

  private fireFault(): void {
    const fault = this.faults[0];
    if (fault === undefined) return;
    if (fault.afterRequests > 0) {
      fault.afterRequests--;
      return;
    }
    fault.times--;
    if (fault.times <= 0) this.faults.shift();
    throw new ApiError(fault.code, fault.message, fault.status);
  }

  private filterLogEvents(body: Record<string, unknown>) {
    const group = this.groupName(body);
    if (body['logStreamNames'] !== undefined && body['logStreamNamePrefix'] !== undefined) {
      throw new ApiError('InvalidParameterException', 'logStreamNames and logStreamNamePrefix cannot both be specified');
    }
    const limit = optionalInt(body, 'limit') ?? PAGE_MAX_EVENTS;
    if (limit < 1 || limit > PAGE_MAX_EVENTS) throw new ApiError('InvalidParameterException', `limit must be 1-${PAGE_MAX_EVENTS}`);
    const startTime = optionalInt(body, 'startTime') ?? 0;
    const endTime = optionalInt(body, 'endTime') ?? Number.MAX_SAFE_INTEGER;
    const prefix = optionalString(body, 'logStreamNamePrefix');
    const names = body['logStreamNames'];
    if (names !== undefined && (!Array.isArray(names) || names.length < 1 || names.length > 100)) {
      throw new ApiError('InvalidParameterException', 'logStreamNames must hold 1-100 names');
    }
    const pattern = optionalString(body, 'filterPattern');
    if (pattern !== undefined && pattern.length > 1024) {
      throw new ApiError('InvalidParameterException', `filterPattern length ${pattern.length} exceeds 1024`);
    }
    let matcher: Matcher;
    try {
      matcher = compilePattern(pattern);
    } catch (err) {
      if (err instanceof PatternSyntaxError) throw new ApiError('InvalidParameterException', `Invalid filter pattern: ${err.message}`);
      throw err;
    }
    const fingerprint = JSON.stringify([group, startTime, endTime, prefix ?? null, names ?? null, pattern ?? null]);
    const start = this.readToken(body, fingerprint);

    const g = this.groups.get(group);
    if (g === undefined) throw new ApiError('ResourceNotFoundException', 'The specified log group does not exist.');
    if (!g.sorted) {
      g.events.sort((a, b) => a.timestamp - b.timestamp || a.ingestionTime - b.ingestionTime);
      g.sorted = true;
    }
    const events: Stored[] = [];
    let bytes = 0;
    let i = start;
    const scanEnd = Math.min(g.events.length, start + this.scanLimit);
    for (; i < scanEnd; i++) {
      const e = g.events[i];
      if (e === undefined || e.timestamp > endTime) {
        i = g.events.length;
        break;
      }
      if (e.timestamp < startTime) continue;
      if (prefix !== undefined && !e.logStreamName.startsWith(prefix)) continue;
      if (Array.isArray(names) && !names.includes(e.logStreamName)) continue;
      if (pattern !== undefined && !matcher(messageJson(e), e.message)) continue;
      const size = Buffer.byteLength(e.message, 'utf8');
      if (events.length >= limit || bytes + size > PAGE_MAX_BYTES) break;
      bytes += size;
      events.push({ logStreamName: e.logStreamName, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: e.eventId });
    }
    const out: { events: typeof events; searchedLogStreams: never[]; nextToken?: string } = { events, searchedLogStreams: [] };
    if (i < g.events.length) out.nextToken = this.makeToken(fingerprint, i);
    return out;
  }

  private groupName(body: Record<string, unknown>): string {
    const name = optionalString(body, 'logGroupName');
    const id = optionalString(body, 'logGroupIdentifier');
    if ((name === undefined) === (id === undefined)) {
      throw new ApiError('InvalidParameterException', 'exactly one of logGroupName and logGroupIdentifier is required');
    }
    if (name !== undefined) return name;
    const arn = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$/.exec(id ?? '');
    return arn?.[1] ?? id ?? '';
  }

  // Opaque and different on every page, even when the position did not move (an empty page).
  private makeToken(fingerprint: string, index: number): string {
    this.tokens++;
    return Buffer.from(JSON.stringify({ f: fingerprint, i: index, n: this.tokens })).toString('base64url');
  }

  private readToken(body: Record<string, unknown>, fingerprint: string): number {
    const token = optionalString(body, 'nextToken');
    if (token === undefined) return 0;
    try {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { f?: unknown; i?: unknown };
      if (t.f === fingerprint && typeof t.i === 'number') return t.i;
    } catch {
      // fall through to the service's error
    }
    throw new ApiError('InvalidParameterException', 'The specified nextToken is invalid.');
  }
}

// Parsed per request, not cached: a bench window holds 360,000 messages.
function messageJson(e: Stored): unknown {
  try {
    return JSON.parse(e.message) as unknown;
  } catch {
    return undefined;
  }
}

function optionalInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError('InvalidParameterException', `${key} must be an integer`);
  return v;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ApiError('InvalidParameterException', `${key} must be a string`);
  return v;
}

function defaultMessage(code: string): string {
  switch (code) {
    case 'ThrottlingException': return 'Rate exceeded';
    case 'ServiceUnavailableException': return 'The service cannot complete the request.';
    case 'AccessDeniedException':
      return 'User: arn:aws:iam::111122223333:user/scanner is not authorized to perform: logs:FilterLogEvents on resource: arn:aws:logs:us-west-2:111122223333:log-group:/aws/eks/prod-eks-1/cluster:log-stream: because no identity-based policy allows the logs:FilterLogEvents action';
    default: return code;
  }
}

/**
 * The real SDK client for a fake: explicit endpoint, Region and static credentials (no credential
 * chain, no metadata server), a request timeout that throws, and retries 5 ms apart.
 */
export function fakeClient(endpoint: string, opts: { maxAttempts?: number; region?: string } = {}): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    region: opts.region ?? 'us-west-2',
    endpoint,
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake-secret' },
    retryStrategy: new ConfiguredRetryStrategy(opts.maxAttempts ?? 3, () => 5),
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  });
}
