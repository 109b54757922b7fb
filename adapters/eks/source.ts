import type { FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { pushdownNotice } from '../../core/model/filter-plan.js';
import type { ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createClient, type EksClientOptions } from './client.js';
import { eksFilter, queriesOf, withCutLineQuery } from './filter.js';
import { sourceName } from './name.js';
import { parse } from './parse.js';
import { describeFailure, eventTimeRange, FilterPages, FLUSH_EVENTS, keep, nonNegativeMs, pullSettings, regionOf, type EksPullOptions, type ReadProgress } from './pull.js';

export interface EksSourceOptions extends EksClientOptions, EksPullOptions {
  /** The least the adaptive margin shrinks to; default 4 minutes. Equal to `lateArrivalMs`: a fixed margin. */
  minLateArrivalMs?: number;
}

/** The adaptive margin never shrinks below this: a few minutes of CloudWatch delivery delay. */
export const DEFAULT_MIN_LATE_ARRIVAL_MS = 4 * 60_000;
/** The margin is this multiple of the largest ingestion lag of the recent windows. */
export const LAG_SAFETY_FACTOR = 3;
/** Windows whose largest lag the margin remembers (an hour of 5-minute runs). */
const RECENT_WINDOWS = 12;
/** Every this many reads, one searches the whole cap, to see lags the margin would hide. */
export const PROBE_EVERY = 24;
/** A window whose largest lag exceeds this share of the margin warns and widens at once. */
const NEAR_SHARE = 0.5;

/**
 * The late-arrival margin of one EKS source, learned from the ingestion lag (`ingestionTime −
 * timestamp`) of the events each window keeps. A fresh source (a new process, a cold Lambda)
 * starts at the cap; after each complete window the margin becomes LAG_SAFETY_FACTOR times the
 * largest lag of the last RECENT_WINDOWS windows, within [min, cap]. A lag above half the margin
 * warns (metric IngestionLagNearMargin) and widens the margin to the cap for the next window,
 * since events later than the margin are not searched. Every PROBE_EVERY-th window searches the
 * whole cap, so a backlog the margin hides is seen within a couple of hours at most.
 */
export class LateArrivalMargin {
  private readonly lags: number[] = [];
  private reads = 0;
  private widen = false;

  constructor(
    readonly capMs: number,
    readonly minMs: number,
  ) {}

  /** The margin the next read uses. */
  current(): number {
    if (this.lags.length === 0 || this.widen || this.reads % PROBE_EVERY === PROBE_EVERY - 1) return this.capMs;
    return Math.min(this.capMs, Math.max(this.minMs, LAG_SAFETY_FACTOR * Math.max(...this.lags)));
  }

  /** After a complete read with margin `usedMs`: its largest lag; returns a warning when the lag neared the margin. */
  observe(maxLagMs: number, usedMs: number): string | undefined {
    this.reads++;
    this.lags.push(Math.max(0, maxLagMs));
    if (this.lags.length > RECENT_WINDOWS) this.lags.shift();
    this.widen = maxLagMs > usedMs * NEAR_SHARE;
    if (!this.widen) return undefined;
    return `EKS ingestion lag reached ${Math.round(maxLagMs / 1000)} s, more than half the ${Math.round(usedMs / 60_000)}-minute late-arrival margin: the next window searches the full ${Math.round(this.capMs / 60_000)} minutes${maxLagMs >= usedMs * 0.95 ? '; events later than the margin may have been missed in earlier windows: re-scan the last hour with `credwatch scan --eks … --since 1h`' : ''}`;
  }
}

// `kube-apiserver-` alone would also match the API server's klog streams.
export const AUDIT_STREAM_PREFIX = 'kube-apiserver-audit-';

/**
 * EKS audit logs from CloudWatch Logs: `FilterLogEvents` on `/aws/eks/<cluster>/cluster`, streams
 * `kube-apiserver-audit-*` only, with the server-side pattern compiled from the rules' needs
 * (adapters/eks/filter.ts; a long one is split into several queries, merged in event-time order
 * and de-duplicated by `eventId`).
 *
 * Window: `ScanWindow` is on the ingestion-time axis. FilterLogEvents selects by event time, so
 * the source asks for event times [from − lateArrivalMs, to + 60 s] and keeps exactly the events
 * whose `ingestionTime` is in [from, to). Consecutive windows therefore hand every event to
 * exactly one scan, however late it arrived, as long as it arrived less than `lateArrivalMs`
 * after its timestamp; one later than that is never seen.
 *
 * Contract with the scan layer: pages are yielded as they are read, so memory stays bounded,
 * but a window is complete only when the iteration ends normally. If reading fails part-way,
 * `read` throws a SourceError saying how far it got (requests, pages, last event time); the
 * caller must discard what it got from this window and not advance its checkpoint, so the
 * window is read again in full by the next run (the dedup store absorbs repeated findings).
 */
export function createEksSource(opts: EksSourceOptions): LogSource {
  const { client, region } = createClient(opts, '--eks');
  const { lateArrivalMs, pageLimit } = pullSettings(opts);
  const minLateArrivalMs = nonNegativeMs(Math.min(lateArrivalMs, opts.minLateArrivalMs ?? DEFAULT_MIN_LATE_ARRIVAL_MS), 'minLateArrivalMs');
  const margin = new LateArrivalMargin(lateArrivalMs, minLateArrivalMs);
  let report: { metrics: Record<string, number>; warnings: string[] } | undefined;
  let lastNotices: CoverageNotice[] = [];
  const logGroup = `/aws/eks/${opts.cluster}/cluster`;
  const name = sourceName(opts);

  return {
    name,
    cloud: 'eks',
    cluster: opts.cluster,
    readReport: () => report,
    notices: () => [...lastNotices],
    async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
      report = undefined;
      lastNotices = [];
      if (!(window.from.getTime() < window.to.getTime())) return;
      const marginMs = margin.current();
      let maxLag = 0;
      const pushdown = eksFilter(options.needs);
      const notice = pushdownNotice(name, [pushdown]);
      if (notice !== undefined) lastNotices = [notice];
      // One more query per window brings the lines CloudWatch cut, which no JSON pattern matches.
      const queries = withCutLineQuery(queriesOf(pushdown), options.needs);
      const progress: ReadProgress = { requests: 0, pages: 0, downloaded: 0, kept: 0 };
      const fail = async (err: unknown): Promise<never> => {
        throw describeFailure(err, { source: name, kind: 'audit', cluster: opts.cluster, region: await regionOf(client, region), logGroup, window, progress });
      };
      const range = eventTimeRange(window, marginMs);
      const cursors = queries.map((q) => new FilterPages(
        client,
        { logGroupName: logGroup, logStreamNamePrefix: AUDIT_STREAM_PREFIX, ...range, ...(q.pattern === undefined ? {} : { filterPattern: q.pattern }) },
        pageLimit,
        progress,
        options.signal,
      ));
      const hints = { cluster: opts.cluster, logGroup };
      let batch: FilteredLogEvent[] = [];
      const flush = (): SourcePage => {
        progress.pages++;
        const page = progress.pages;
        const outcomes: ParseOutcome[] = batch.map((e, index) => {
          const origin = { source: name, page, index, ...(e.eventId === undefined ? {} : { recordId: e.eventId }) };
          const ingestedAt = e.ingestionTime === undefined ? undefined : new Date(e.ingestionTime).toISOString();
          return parse(e, origin, ingestedAt === undefined ? hints : { ...hints, ingestedAt });
        });
        batch = [];
        return { outcomes, page };
      };
      const seenAtTime = new Set<string>();
      let seenTime = Number.NaN;
      for (;;) {
        // Refill before choosing, so every live query offers its earliest event.
        for (const c of cursors) {
          if (c.needsFetch()) {
            if (batch.length > 0) yield flush();
            try {
              await c.fetch();
            } catch (err) {
              await fail(err);
            }
          }
        }
        let best: FilterPages | undefined;
        for (const c of cursors) {
          const head = c.head();
          if (head !== undefined && (best === undefined || before(head, best.head() as FilteredLogEvent))) best = c;
        }
        if (best === undefined) break;
        const e = best.take();
        const ts = e.timestamp ?? 0;
        if (ts !== seenTime) {
          seenTime = ts;
          seenAtTime.clear();
        }
        // Queries are disjoint by construction; this only guards against a service returning one event twice.
        if (e.eventId !== undefined) {
          if (seenAtTime.has(e.eventId)) continue;
          seenAtTime.add(e.eventId);
        }
        if (!keep(e, window, progress)) continue;
        const lag = (e.ingestionTime ?? ts) - ts;
        if (lag > maxLag) maxLag = lag;
        batch.push(e);
        if (batch.length >= FLUSH_EVENTS) yield flush();
      }
      if (batch.length > 0) yield flush();
      // Only a complete read teaches the margin: a failed one is read again.
      const warning = margin.observe(maxLag, marginMs);
      report = {
        metrics: { LateArrivalMarginMs: marginMs, IngestionLagMaxMs: maxLag, ...(warning === undefined ? {} : { IngestionLagNearMargin: 1 }) },
        warnings: warning === undefined ? [] : [warning],
      };
    },
  };
}

/** FilterLogEvents' own order: event time, then ingestion time (then id, for a stable merge). */
function before(a: FilteredLogEvent, b: FilteredLogEvent): boolean {
  const byTime = (a.timestamp ?? 0) - (b.timestamp ?? 0) || (a.ingestionTime ?? 0) - (b.ingestionTime ?? 0);
  if (byTime !== 0) return byTime < 0;
  return (a.eventId ?? '') < (b.eventId ?? '');
}
