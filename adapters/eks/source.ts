import { CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { ParseOutcome } from '../../core/model/parse-result.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { cloudWatchLogsFor } from './client.js';
import { compileEksFilter, withCutLineQuery, type EksQuery } from './filter.js';
import { parse } from './parse.js';
import { describeFailure, type ReadProgress } from './source-errors.js';

export interface EksSourceOptions {
  cluster: string;
  /** Falls back to AWS_REGION / AWS_DEFAULT_REGION; required one way or the other. */
  region?: string;
  /** A profile of the shared AWS config files; otherwise the standard credential chain. */
  profile?: string;
  /** CloudWatch Logs endpoint override (tests, VPC endpoints). */
  endpoint?: string;
  /** A ready client (tests inject one with a fast retry strategy). */
  client?: CloudWatchLogsClient;
  /** A role in the cluster's account to assume for its logs (adapters/eks/client.ts). */
  roleArn?: string;
  /**
   * The most, by event time, a window looks back before its start for late arrivals (the cap of
   * the adaptive margin; see `LateArrivalMargin`).
   */
  lateArrivalMs?: number;
  /** The least the adaptive margin shrinks to; default 4 minutes. Equal to `lateArrivalMs`: a fixed margin. */
  minLateArrivalMs?: number;
  /** Most FilterLogEvents requests per query and window; bounds a service that never ends paging. */
  pageLimit?: number;
}

/**
 * EKS delivers audit lines "within a few minutes", best effort (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html); 30 minutes is the widest margin
 * (the cap): a fresh source starts there and the adaptive margin (LateArrivalMargin) never goes
 * beyond it. Events whose ingestion lags their timestamp by more than the margin in use are not
 * seen by any window. The cost is a longer event-time range to search: with a 6-minute window
 * and the full cap, (6 + 30) / 6 = 6 times the window's matching events are downloaded and all
 * but the window's own are dropped here.
 */
export const DEFAULT_LATE_ARRIVAL_MS = 30 * 60_000;
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

/** API-server clocks may run ahead of CloudWatch's: also read a little past the window's end. */
export const CLOCK_SKEW_MS = 60_000;
/** 5,000 pages of up to 10,000 events is far above what a scan window holds. */
export const DEFAULT_PAGE_LIMIT = 5_000;
// `kube-apiserver-` alone would also match the API server's klog streams.
export const AUDIT_STREAM_PREFIX = 'kube-apiserver-audit-';
const FLUSH_EVENTS = 10_000;

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
  const { client, region } = cloudWatchLogsFor(opts, '--eks');
  const lateArrivalMs = opts.lateArrivalMs ?? DEFAULT_LATE_ARRIVAL_MS;
  if (!Number.isInteger(lateArrivalMs) || lateArrivalMs < 0) {
    throw new ConfigError('eks-late-arrival', `lateArrivalMs must be a non-negative integer of milliseconds, got ${lateArrivalMs}`);
  }
  const minLateArrivalMs = Math.min(lateArrivalMs, opts.minLateArrivalMs ?? DEFAULT_MIN_LATE_ARRIVAL_MS);
  if (!Number.isInteger(minLateArrivalMs) || minLateArrivalMs < 0) {
    throw new ConfigError('eks-late-arrival', `minLateArrivalMs must be a non-negative integer of milliseconds, got ${minLateArrivalMs}`);
  }
  const margin = new LateArrivalMargin(lateArrivalMs, minLateArrivalMs);
  let report: { metrics: Record<string, number>; warnings: string[] } | undefined;
  const pageLimit = opts.pageLimit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(pageLimit) || pageLimit < 1) throw new ConfigError('eks-page-limit', `pageLimit must be a positive integer, got ${pageLimit}`);
  const logGroup = `/aws/eks/${opts.cluster}/cluster`;
  const name = `eks:${opts.cluster}`;

  return {
    name,
    cloud: 'eks',
    cluster: opts.cluster,
    readReport: () => report,
    async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
      const from = window.from.getTime();
      const to = window.to.getTime();
      report = undefined;
      if (!(from < to)) return;
      const marginMs = margin.current();
      let maxLag = 0;
      // One more query per window brings the lines CloudWatch cut, which no JSON pattern matches.
      const queries = withCutLineQuery(compileEksFilter(options.needs), options.needs);
      const progress: ReadProgress = { requests: 0, pages: 0, downloaded: 0, kept: 0 };
      const fail = async (err: unknown): Promise<never> => {
        const r = region ?? (await client.config.region().catch(() => undefined)) ?? 'unknown-region';
        throw describeFailure(err, { source: name, cluster: opts.cluster, region: r, logGroup, window, progress });
      };
      const cursors = queries.map((q) => new QueryCursor(client, q, {
        logGroupName: logGroup,
        startTime: Math.max(0, from - marginMs),
        endTime: to + CLOCK_SKEW_MS,
        pageLimit,
        progress,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }));
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
        let best: QueryCursor | undefined;
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
        progress.lastEventTime = Math.max(progress.lastEventTime ?? ts, ts);
        const ingested = e.ingestionTime ?? ts;
        if (ingested < from || ingested >= to) continue;
        if (ingested - ts > maxLag) maxLag = ingested - ts;
        progress.kept++;
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

interface CursorParams {
  logGroupName: string;
  startTime: number;
  endTime: number;
  pageLimit: number;
  progress: ReadProgress;
  signal?: AbortSignal;
}

/** One query's pages: a buffer of the current page and the token of the next. */
class QueryCursor {
  private buffer: FilteredLogEvent[] = [];
  private index = 0;
  private nextToken: string | undefined;
  private started = false;
  private requests = 0;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly query: EksQuery,
    private readonly params: CursorParams,
  ) {}

  needsFetch(): boolean {
    return this.index >= this.buffer.length && (!this.started || this.nextToken !== undefined);
  }

  head(): FilteredLogEvent | undefined {
    return this.buffer[this.index];
  }

  take(): FilteredLogEvent {
    const e = this.buffer[this.index] as FilteredLogEvent;
    this.index++;
    return e;
  }

  /** Reads until a page has events or paging ends: a page may be empty and still carry a token. */
  async fetch(): Promise<void> {
    do {
      if (this.requests >= this.params.pageLimit) {
        throw new SourceError('eks-page-limit', `FilterLogEvents still returned a nextToken after ${this.requests} requests (pageLimit)`);
      }
      this.requests++;
      this.params.progress.requests++;
      const out = await this.client.send(
        new FilterLogEventsCommand({
          logGroupName: this.params.logGroupName,
          logStreamNamePrefix: AUDIT_STREAM_PREFIX,
          startTime: this.params.startTime,
          endTime: this.params.endTime,
          ...(this.query.pattern === undefined ? {} : { filterPattern: this.query.pattern }),
          ...(this.nextToken === undefined ? {} : { nextToken: this.nextToken }),
        }),
        this.params.signal === undefined ? {} : { abortSignal: this.params.signal },
      );
      this.started = true;
      this.buffer = out.events ?? [];
      this.index = 0;
      this.params.progress.downloaded += this.buffer.length;
      this.nextToken = out.nextToken === undefined || out.nextToken === '' ? undefined : out.nextToken;
    } while (this.buffer.length === 0 && this.nextToken !== undefined);
  }
}
