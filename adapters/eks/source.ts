import { CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigError, SourceError } from '../../core/errors.js';
import type { ParseOutcome } from '../../core/parse-result.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/source.js';
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
  /** How far before the window's start events are looked for, by event time. */
  lateArrivalMs?: number;
  /** Most FilterLogEvents requests per query and window; bounds a service that never ends paging. */
  pageLimit?: number;
}

/**
 * EKS delivers audit lines "within a few minutes", best effort (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html); 30
 * minutes leaves a wide margin for a delivery backlog. Events whose ingestion lags their
 * timestamp by more than this are not seen by any window. The cost is a longer event-time range
 * to search: with a 6-minute window, (6 + 30) / 6 = 6 times the window's matching events are
 * downloaded and all but the window's own are dropped here.
 */
export const DEFAULT_LATE_ARRIVAL_MS = 30 * 60_000;
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
  const pageLimit = opts.pageLimit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(pageLimit) || pageLimit < 1) throw new ConfigError('eks-page-limit', `pageLimit must be a positive integer, got ${pageLimit}`);
  const logGroup = `/aws/eks/${opts.cluster}/cluster`;
  const name = `eks:${opts.cluster}`;

  return {
    name,
    cloud: 'eks',
    cluster: opts.cluster,
    async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
      const from = window.from.getTime();
      const to = window.to.getTime();
      if (!(from < to)) return;
      // One more query per window brings the lines CloudWatch cut, which no JSON pattern matches.
      const queries = withCutLineQuery(compileEksFilter(options.needs), options.needs);
      const progress: ReadProgress = { requests: 0, pages: 0, downloaded: 0, kept: 0 };
      const fail = async (err: unknown): Promise<never> => {
        const r = region ?? (await client.config.region().catch(() => undefined)) ?? 'unknown-region';
        throw describeFailure(err, { source: name, cluster: opts.cluster, region: r, logGroup, window, progress });
      };
      const cursors = queries.map((q) => new QueryCursor(client, q, {
        logGroupName: logGroup,
        startTime: Math.max(0, from - lateArrivalMs),
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
        progress.kept++;
        batch.push(e);
        if (batch.length >= FLUSH_EVENTS) yield flush();
      }
      if (batch.length > 0) yield flush();
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
