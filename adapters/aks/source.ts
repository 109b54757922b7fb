import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { Origin } from '../../core/model/event.js';
import type { ParseHints, ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createLogsClient, runQuery, type AksClientOptions, type QueryOutcome } from './client.js';
import { AKS_CLUSTER_NAME, buildDataQuery, buildProbeQuery, type AksLayout, type AksTableSource } from './filter.js';
import { parseAksAuditRow, parseAzureDiagnosticsRow } from './parse.js';
import { coverageOf, type ProbeCount } from './coverage.js';

/**
 * AKS kube-audit from Azure Monitor Logs (Log Analytics), one window at a time on the
 * ingestion-time axis (docs/architecture.md "Scheduled scans"; https://learn.microsoft.com/azure/azure-monitor/logs/api/overview).
 *
 * The query API has no paging and cuts a result at 500,000 rows or ~64 MB with a PartialError
 * inside a 200. Each window is therefore asked for at most `maxRowsPerQuery + 1` rows and split
 * in two (on ingestion time) whenever a result overflows or is partial. Paging with
 * `order by ingestion_time() | take N` and a resume point was rejected: ingestion_time() is not
 * unique (a `>` resume point loses ties, `>=` repeats them) and the docs warn it is approximate
 * and not for ordering, while two half-open halves of a window cover it exactly.
 */

export interface AksSourceOptions extends Omit<AksClientOptions, 'env'> {
  /** The Log Analytics workspace ID (a GUID). */
  workspaceId: string;
  /** Only rows of this managed cluster (`…/managedClusters/<name>`); all clusters otherwise. */
  cluster?: string;
  /** `auto` (default) asks the workspace which tables hold AKS audit rows in each window. */
  layout?: 'auto' | AksLayout;
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

/** The query settings of an AKS source (audit or runtime), defaults filled in. */
export function aksQuerySettings(opts: Partial<AksQuerySettings>): AksQuerySettings {
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
const MAX_PIECES = 64;

const iso = (d: Date): string => d.toISOString();

function evenPieces(w: ScanWindow, n: number): ScanWindow[] {
  const from = w.from.getTime();
  const span = w.to.getTime() - from;
  const count = Math.max(1, Math.min(n, span));
  const edges = Array.from({ length: count + 1 }, (_, i) => (i === count ? w.to : new Date(from + Math.floor((span * i) / count))));
  return edges.slice(0, -1).map((start, i) => ({ from: start, to: edges[i + 1]! }));
}
export const describeWindow = (w: ScanWindow): string => `[${iso(w.from)}, ${iso(w.to)})`;

class AksSource implements LogSource {
  readonly cloud = 'aks' as const;
  readonly name: string;
  readonly cluster?: string;
  private lastNotices: CoverageNotice[] = [];
  private readonly settings: AksQuerySettings;

  constructor(
    private readonly client: LogsQueryClient,
    private readonly opts: AksSourceOptions,
  ) {
    if (opts.cluster !== undefined) this.cluster = opts.cluster;
    this.name = `aks:${opts.cluster ?? opts.workspaceId}`;
    this.settings = aksQuerySettings(opts);
  }

  notices(): CoverageNotice[] {
    return [...this.lastNotices];
  }

  async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
    this.lastNotices = [];
    const layouts: AksLayout[] = this.opts.layout === undefined || this.opts.layout === 'auto' ? ['resource-specific', 'azure-diagnostics'] : [this.opts.layout];
    const probe = buildProbeQuery(layouts, window, this.opts.cluster);
    const counted = await this.query(probe, window, options.signal, 'probe');
    if (counted.kind === 'partial') {
      throw new SourceError('aks-partial-result', `${this.name}: the table probe for ${describeWindow(window)} came back partial (${counted.message}); nothing was read, the next run retries the window`, { retryable: true });
    }
    const counts: ProbeCount[] = counted.rows.map((r) => ({ type: String(r['Type'] ?? ''), category: String(r['Category'] ?? ''), rows: Number(r['Rows'] ?? 0) }));
    const coverage = coverageOf(counts, this.name);
    this.lastNotices = coverage.notices;
    let page = 0;
    for (const source of coverage.sources) {
      const upperBound = counts
        .filter((c) => c.type === source.table && (source.layout === 'resource-specific' || c.category === source.category))
        .reduce((n, c) => n + c.rows, 0);
      for await (const rows of this.readTable(source, window, options, upperBound)) {
        page++;
        yield { page, outcomes: rows.map((row, index) => this.parseRow(source, row, { source: this.name, page, index })) };
      }
    }
  }

  private parseRow(source: AksTableSource, row: Record<string, unknown>, origin: Origin): ParseOutcome {
    const hints: ParseHints = {};
    if (this.opts.cluster !== undefined) hints.cluster = this.opts.cluster;
    const ingested = row['IngestedAt'];
    if (typeof ingested === 'string') hints.ingestedAt = ingested;
    if (source.layout === 'resource-specific') {
      if (typeof row['AuditId'] === 'string') origin.recordId = row['AuditId'];
      return parseAksAuditRow(row, origin, hints);
    }
    return parseAzureDiagnosticsRow(row, origin, hints);
  }

  /**
   * Sub-windows in ascending order; each yields its rows once it was read completely. The probe's
   * count (before the needs filter) bounds the rows: a window that could hold more than a page is
   * cut into even pieces up front, so a busy window is not downloaded once in vain to learn that.
   */
  private readTable(source: AksTableSource, window: ScanWindow, options: ReadOptions, upperBound: number): AsyncIterable<Array<Record<string, unknown>>> {
    const max = this.settings.maxRowsPerQuery;
    return readInPieces(window, Math.min(Math.ceil(upperBound / max), MAX_PIECES), {
      name: this.name,
      what: source.table,
      maxRows: max,
      maxSplitDepth: this.settings.maxSplitDepth,
      query: async (w, take) => {
        const query = buildDataQuery({ source, needs: options.needs, window: w, take, ...(this.opts.cluster === undefined ? {} : { cluster: this.opts.cluster }) });
        return query === undefined ? undefined : this.query(query, w, options.signal, source.table);
      },
    });
  }

  private query(query: string, w: ScanWindow, signal: AbortSignal | undefined, what: string): Promise<QueryOutcome> {
    return queryWindow(this.client, { name: this.name, workspaceId: this.opts.workspaceId, ...this.settings }, query, w, what, signal);
  }
}

/** What `queryWindow` needs to know about the source. */
export interface WindowQuerySettings {
  name: string;
  workspaceId: string;
  maxLatenessMs: number;
  serverTimeoutSeconds: number;
}

/** One query of a (sub-)window, its TimeGenerated range reaching back far enough for late rows. */
export async function queryWindow(client: LogsQueryClient, s: WindowQuerySettings, query: string, w: ScanWindow, what: string, signal: AbortSignal | undefined): Promise<QueryOutcome> {
  if (signal?.aborted === true) throw new SourceError('aks-aborted', `${s.name}: read of ${describeWindow(w)} aborted`, { retryable: true });
  // Rows are selected on ingestion time; TimeGenerated only bounds the scan (and must reach
  // back far enough for late rows).
  const timespan = { startTime: new Date(w.from.getTime() - s.maxLatenessMs), endTime: new Date(w.to.getTime() + CLOCK_SKEW_MS) };
  const timeout = (s.serverTimeoutSeconds + 30) * 1000;
  const requestOptions = signal === undefined ? { timeout } : { timeout, abortSignal: signal };
  const context = `${s.name}: workspace ${s.workspaceId} ${what} ${describeWindow(w)}`;
  return runQuery(client, s.workspaceId, query, timespan, context, requestOptions, s.serverTimeoutSeconds);
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

export function createAksSource(opts: AksSourceOptions): LogSource {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(opts.workspaceId)) {
    throw new ConfigError('aks-workspace', `AKS workspace ID "${opts.workspaceId}" is not a workspace GUID (see the workspace's Overview page)`);
  }
  if (opts.cluster !== undefined && !AKS_CLUSTER_NAME.test(opts.cluster)) {
    throw new ConfigError('aks-cluster', `AKS cluster name "${opts.cluster}" is not valid (letters, digits, - and _, at most 63)`);
  }
  const max = opts.maxRowsPerQuery;
  if (max !== undefined && (!Number.isInteger(max) || max < 1 || max >= 500_000)) {
    throw new ConfigError('aks-max-rows', `maxRowsPerQuery must be an integer from 1 to 499,999 (the service caps a result at 500,000 rows)`);
  }
  return new AksSource(createLogsClient(opts), opts);
}
