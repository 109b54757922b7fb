import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { SourceError } from '../../core/model/errors.js';
import { pushdownNotice } from '../../core/model/filter-plan.js';
import type { Origin } from '../../core/model/event.js';
import type { ParseHints, ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createClient } from './client.js';
import { buildDataQuery, buildProbeQuery, kqlNeeds, type AksLayout, type AksTableSource } from './filter.js';
import { sourceName } from './name.js';
import { describeWindow, MAX_PIECES, pullSettings, queryWindow, readInPieces, type AksPullOptions, type AksQuerySettings, type QueryOutcome } from './pull.js';
import { parseAksAuditRow, parseAzureDiagnosticsRow } from './parse.js';
import { coverageOf, type ProbeCount } from './coverage.js';

/**
 * AKS kube-audit from Azure Monitor Logs (Log Analytics), one window at a time on the
 * ingestion-time axis, each table's window split until every piece fits (adapters/aks/pull.ts).
 */

export interface AksSourceOptions extends AksPullOptions {
  /** `auto` (default) asks the workspace which tables hold AKS audit rows in each window. */
  layout?: 'auto' | AksLayout;
}

class AksSource implements LogSource {
  readonly cloud = 'aks' as const;
  readonly name: string;
  readonly cluster?: string;
  private lastNotices: CoverageNotice[] = [];

  constructor(
    private readonly client: LogsQueryClient,
    private readonly opts: AksSourceOptions,
    private readonly settings: AksQuerySettings,
  ) {
    if (opts.cluster !== undefined) this.cluster = opts.cluster;
    this.name = sourceName(opts);
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
    const pushdown = pushdownNotice(this.name, coverage.sources.map((s) => kqlNeeds(options.needs, s.layout)));
    this.lastNotices = pushdown === undefined ? coverage.notices : [...coverage.notices, pushdown];
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

export function createAksSource(opts: AksSourceOptions): LogSource {
  const settings = pullSettings(opts);
  return new AksSource(createClient(opts), opts, settings);
}
