import { LogsQueryResultStatus, type LogsQueryClient, type LogsTable } from '@azure/monitor-query-logs';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { ScanWindow } from '../../core/model/source.js';
import type { AksClientOptions } from './client.js';
import { AKS_CLUSTER_NAME } from './filter.js';

/**
 * Reading Log Analytics for every AKS source, audit and runtime, one window at a time on the
 * ingestion-time axis (docs/architecture.md "Scheduled scans"; https://learn.microsoft.com/azure/azure-monitor/logs/api/overview):
 * the options and their checks, one query of a (sub-)window, the splitting of a window whose
 * result overflows, and what a failure says.
 *
 * The query API has no paging and cuts a result at 500,000 rows or ~64 MB with a PartialError
 * inside a 200. Each window is therefore asked for at most `maxRowsPerQuery + 1` rows and split
 * in two (on ingestion time) whenever a result overflows or is partial. Paging with
 * `order by ingestion_time() | take N` and a resume point was rejected: ingestion_time() is not
 * unique (a `>` resume point loses ties, `>=` repeats them) and the docs warn it is approximate
 * and not for ordering, while two half-open halves of a window cover it exactly.
 */

export interface AksPullOptions extends Omit<AksClientOptions, 'env'> {
  /** The Log Analytics workspace ID (a GUID). */
  workspaceId: string;
  /** Only rows of this managed cluster (`…/managedClusters/<name>`); all clusters otherwise. */
  cluster?: string;
  /** Rows per query; memory per page stays bounded by it. Default 50,000 (service cap 500,000). */
  maxRowsPerQuery?: number;
  /**
   * How late a row may reach the workspace and still be read: the query's TimeGenerated range
   * starts this long before the window. Default 2 h (resource logs are documented 30 s–20 min late).
   */
  maxLatenessMs?: number;
  /** `Prefer: wait=` for each query (service default 180 s, max 600 s). */
  serverTimeoutSeconds?: number;
  /** A window is split at most this many times in depth before the read fails. */
  maxSplitDepth?: number;
  env?: Readonly<Record<string, string | undefined>>;
}

const AKS_QUERY_DEFAULTS = Object.freeze({ maxRowsPerQuery: 50_000, maxLatenessMs: 2 * 3_600_000, serverTimeoutSeconds: 180, maxSplitDepth: 16 });
export type AksQuerySettings = { -readonly [K in keyof typeof AKS_QUERY_DEFAULTS]: number };

/** The pull options of an AKS source (audit or runtime), checked, defaults filled in. */
export function pullSettings(opts: AksPullOptions): AksQuerySettings {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(opts.workspaceId)) {
    throw new ConfigError('aks-workspace', `AKS workspace ID "${opts.workspaceId}" is not a workspace GUID (see the workspace's Overview page)`);
  }
  if (opts.cluster !== undefined && !AKS_CLUSTER_NAME.test(opts.cluster)) {
    throw new ConfigError('aks-cluster', `AKS cluster name "${opts.cluster}" is not valid (letters, digits, - and _, at most 63)`);
  }
  const max = opts.maxRowsPerQuery;
  if (max !== undefined && (!Number.isInteger(max) || max < 1 || max >= 500_000)) {
    throw new ConfigError('aks-max-rows', 'maxRowsPerQuery must be an integer from 1 to 499,999 (the service caps a result at 500,000 rows)');
  }
  return {
    maxRowsPerQuery: opts.maxRowsPerQuery ?? AKS_QUERY_DEFAULTS.maxRowsPerQuery,
    maxLatenessMs: opts.maxLatenessMs ?? AKS_QUERY_DEFAULTS.maxLatenessMs,
    serverTimeoutSeconds: opts.serverTimeoutSeconds ?? AKS_QUERY_DEFAULTS.serverTimeoutSeconds,
    maxSplitDepth: opts.maxSplitDepth ?? AKS_QUERY_DEFAULTS.maxSplitDepth,
  };
}

/** An API server clock slightly ahead of Azure's must not push an event past the range's end. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Up-front pieces per window; beyond that, splitting on overflow takes over. */
export const MAX_PIECES = 64;

const iso = (d: Date): string => d.toISOString();

function evenPieces(w: ScanWindow, n: number): ScanWindow[] {
  const from = w.from.getTime();
  const span = w.to.getTime() - from;
  const count = Math.max(1, Math.min(n, span));
  const edges = Array.from({ length: count + 1 }, (_, i) => (i === count ? w.to : new Date(from + Math.floor((span * i) / count))));
  return edges.slice(0, -1).map((start, i) => ({ from: start, to: edges[i + 1]! }));
}
export const describeWindow = (w: ScanWindow): string => `[${iso(w.from)}, ${iso(w.to)})`;

export type QueryOutcome =
  | { kind: 'rows'; rows: Array<Record<string, unknown>> }
  /** The service cut the result (row/byte cap): the window must be split. */
  | { kind: 'partial'; rows: number; message: string };

/** Column-major SDK table → one object per row; Dates back to ISO text like the other shapes. */
export function rowObjects(table: LogsTable | undefined): Array<Record<string, unknown>> {
  if (table === undefined) return [];
  const names = table.columnDescriptors.map((c, i) => c.name ?? `Column${i}`);
  return table.rows.map((row) => {
    const obj: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const v = row[i];
      obj[name] = v instanceof Date ? v.toISOString() : v;
    });
    return obj;
  });
}

/** What `queryWindow` needs to know about the source. */
export interface WindowQuerySettings {
  name: string;
  workspaceId: string;
  maxLatenessMs: number;
  serverTimeoutSeconds: number;
}

/** Where a failed query was, for its message. */
export interface FailureContext {
  source: string;
  workspaceId: string;
  /** The table or query (`AKSAudit`, `probe`, `ContainerLogV2`). */
  what: string;
  window: ScanWindow;
}

interface RestLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

function explain(status: number | undefined, code: string | undefined): { code: string; hint: string; retryable: boolean } {
  if (status === 401 || status === 403) {
    return {
      code: 'aks-auth',
      hint: 'the identity needs the Log Analytics Reader role on the workspace (a new assignment can take up to an hour to apply)',
      retryable: false,
    };
  }
  if (status === 404) return { code: 'aks-workspace', hint: 'check the workspace ID (the workspace GUID, not its name or resource ID)', retryable: false };
  if (status === 400) return { code: 'aks-bad-query', hint: 'the service rejected the query', retryable: false };
  if (status === 429) return { code: 'aks-throttled', hint: 'the query API throttled the scan; the next run retries the window', retryable: true };
  return { code: 'aks-unavailable', hint: `the query API failed${code === undefined ? '' : ` (${code})`}; the next run retries the window`, retryable: true };
}

/** A query's failure as a SourceError that says what to do; only transient ones are `retryable`. */
export function describeFailure(err: unknown, ctx: FailureContext): SourceError {
  const rest = err as RestLike;
  const x = explain(rest.statusCode, rest.code);
  const status = rest.statusCode === undefined ? '' : ` HTTP ${rest.statusCode}`;
  const where = `${ctx.source}: workspace ${ctx.workspaceId} ${ctx.what} ${describeWindow(ctx.window)}`;
  return new SourceError(x.code, `${where}:${status} ${rest.message ?? String(err)}; ${x.hint}`, { cause: err, retryable: x.retryable });
}

/**
 * One query of a (sub-)window, its TimeGenerated range reaching back far enough for late rows.
 * 204 (a workspace with no data) is an empty result (adapters/aks/client.ts); a PartialError
 * inside a 200 is reported as `partial` so the caller splits the window, never taken as the
 * whole answer.
 */
export async function queryWindow(client: LogsQueryClient, s: WindowQuerySettings, query: string, w: ScanWindow, what: string, signal: AbortSignal | undefined): Promise<QueryOutcome> {
  if (signal?.aborted === true) throw new SourceError('aks-aborted', `${s.name}: read of ${describeWindow(w)} aborted`, { retryable: true });
  // Rows are selected on ingestion time; TimeGenerated only bounds the scan (and must reach
  // back far enough for late rows).
  const timespan = { startTime: new Date(w.from.getTime() - s.maxLatenessMs), endTime: new Date(w.to.getTime() + CLOCK_SKEW_MS) };
  const timeout = (s.serverTimeoutSeconds + 30) * 1000;
  const requestOptions = signal === undefined ? { timeout } : { timeout, abortSignal: signal };
  try {
    const result = await client.queryWorkspace(s.workspaceId, query, timespan, { serverTimeoutInSeconds: s.serverTimeoutSeconds, requestOptions });
    if (result.status === LogsQueryResultStatus.Success) return { kind: 'rows', rows: rowObjects(result.tables[0]) };
    const rows = result.partialTables[0]?.rows.length ?? 0;
    const err = result.partialError as { message?: string; details?: Array<{ message?: string }> } | undefined;
    const detail = err?.details?.map((d) => d.message).filter((m) => m !== undefined).join('; ');
    return { kind: 'partial', rows, message: detail !== undefined && detail !== '' ? detail : (err?.message ?? 'PartialError') };
  } catch (e) {
    throw describeFailure(e, { source: s.name, workspaceId: s.workspaceId, what, window: w });
  }
}

/** How `readInPieces` queries one piece; undefined from `query` means there is nothing to read. */
export interface PieceReader {
  name: string;
  what: string;
  maxRows: number;
  maxSplitDepth: number;
  query(w: ScanWindow, take: number): Promise<QueryOutcome | undefined>;
}

/**
 * The rows of a window, read in `pieces` even sub-windows, each split in two (on ingestion time)
 * whenever its result overflows `maxRows` or comes back partial; yields each piece's rows in order.
 */
export async function* readInPieces(window: ScanWindow, pieces: number, r: PieceReader): AsyncIterable<Array<Record<string, unknown>>> {
  const max = r.maxRows;
  const pending = evenPieces(window, pieces).map((w) => ({ w, depth: 0 }));
  while (pending.length > 0) {
    const { w, depth } = pending.shift()!;
    const out = await r.query(w, max + 1);
    if (out === undefined) return;
    if (out.kind === 'rows' && out.rows.length <= max) {
      if (out.rows.length > 0) yield out.rows;
      continue;
    }
    const why = out.kind === 'partial' ? `partial result (${out.message})` : `more than ${max} rows`;
    const span = w.to.getTime() - w.from.getTime();
    // Zero rows with a PartialError is not a size cap: splitting cannot help.
    const hopeless = out.kind === 'partial' && out.rows === 0;
    if (hopeless || span < 2 || depth >= r.maxSplitDepth) {
      throw new SourceError(
        'aks-partial-result',
        `${r.name}: ${r.what} ${describeWindow(w)} returned a ${why} and cannot be split further; ` +
          `read completely up to ${iso(w.from)} of ${describeWindow(window)}. Lower maxRowsPerQuery or narrow the window; the next run retries it`,
        { retryable: true },
      );
    }
    const mid = new Date(w.from.getTime() + Math.floor(span / 2));
    pending.unshift({ w: { from: w.from, to: mid }, depth: depth + 1 }, { w: { from: mid, to: w.to }, depth: depth + 1 });
  }
}

