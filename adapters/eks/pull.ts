import { FilterLogEventsCommand, type CloudWatchLogsClient, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { ScanWindow } from '../../core/model/source.js';

/**
 * Reading CloudWatch Logs for every EKS source, audit and runtime: FilterLogEvents paging, the
 * ingestion window (event times searched, ingestion times kept), the page limit, the validation
 * of these options, and what a failure says.
 */

export interface EksPullOptions {
  /**
   * The most, by event time, a window looks back before its start for late arrivals (the audit
   * source's adaptive margin never goes beyond it; see `LateArrivalMargin`).
   */
  lateArrivalMs?: number;
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
/** API-server clocks may run ahead of CloudWatch's: also read a little past the window's end. */
export const CLOCK_SKEW_MS = 60_000;
/** 5,000 pages of up to 10,000 events is far above what a scan window holds. */
export const DEFAULT_PAGE_LIMIT = 5_000;
/** Events per SourcePage: memory stays bounded whatever a window holds. */
export const FLUSH_EVENTS = 10_000;

export function nonNegativeMs(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) throw new ConfigError('eks-late-arrival', `${what} must be a non-negative integer of milliseconds, got ${value}`);
  return value;
}

/** The pull options with defaults filled in, checked. */
export function pullSettings(opts: EksPullOptions): Required<EksPullOptions> {
  const lateArrivalMs = nonNegativeMs(opts.lateArrivalMs ?? DEFAULT_LATE_ARRIVAL_MS, 'lateArrivalMs');
  const pageLimit = opts.pageLimit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(pageLimit) || pageLimit < 1) throw new ConfigError('eks-page-limit', `pageLimit must be a positive integer, got ${pageLimit}`);
  return { lateArrivalMs, pageLimit };
}

/**
 * FilterLogEvents selects by event time while the window is on ingestion time: search event
 * times [from − margin, to + skew] and keep (`keep`) the events ingested in [from, to).
 */
export function eventTimeRange(window: ScanWindow, marginMs: number): { startTime: number; endTime: number } {
  return { startTime: Math.max(0, window.from.getTime() - marginMs), endTime: window.to.getTime() + CLOCK_SKEW_MS };
}

/** Counts a downloaded event and says whether it reached CloudWatch inside the window. */
export function keep(e: FilteredLogEvent, window: ScanWindow, progress: ReadProgress): boolean {
  const ts = e.timestamp ?? 0;
  progress.lastEventTime = Math.max(progress.lastEventTime ?? ts, ts);
  const ingested = e.ingestionTime ?? ts;
  if (ingested < window.from.getTime() || ingested >= window.to.getTime()) return false;
  progress.kept++;
  return true;
}

export interface FilterQuery {
  logGroupName: string;
  logStreamNamePrefix?: string;
  filterPattern?: string;
  startTime: number;
  endTime: number;
}

/** One query's pages: a buffer of the current page and the token of the next. */
export class FilterPages {
  private buffer: FilteredLogEvent[] = [];
  private index = 0;
  private nextToken: string | undefined;
  private started = false;
  private requests = 0;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly query: FilterQuery,
    private readonly pageLimit: number,
    private readonly progress: ReadProgress,
    private readonly signal?: AbortSignal,
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
      if (this.requests >= this.pageLimit) {
        throw new SourceError('eks-page-limit', `FilterLogEvents still returned a nextToken after ${this.requests} requests (pageLimit)`);
      }
      this.requests++;
      this.progress.requests++;
      const out = await this.client.send(
        new FilterLogEventsCommand({ ...this.query, ...(this.nextToken === undefined ? {} : { nextToken: this.nextToken }) }),
        this.signal === undefined ? {} : { abortSignal: this.signal },
      );
      this.started = true;
      this.buffer = out.events ?? [];
      this.index = 0;
      this.progress.downloaded += this.buffer.length;
      this.nextToken = out.nextToken === undefined || out.nextToken === '' ? undefined : out.nextToken;
    } while (this.buffer.length === 0 && this.nextToken !== undefined);
  }
}

/** The Region in messages: the configured one, else the client's, else `unknown-region` (a message still names one). */
export async function regionOf(client: CloudWatchLogsClient, region: string | undefined): Promise<string> {
  return region ?? (await client.config.region().catch(() => undefined)) ?? 'unknown-region';
}

/** How far a window's read got, for the message of a failure part-way. */
export interface ReadProgress {
  requests: number;
  pages: number;
  downloaded: number;
  kept: number;
  /** Latest event timestamp (ms) downloaded so far. */
  lastEventTime?: number;
}

export interface FailureContext {
  source: string;
  /** The runtime source reads a Container Insights group, whose absence means no sensor output. */
  kind: 'audit' | 'runtime';
  cluster: string;
  region: string;
  logGroup: string;
  window: ScanWindow;
  progress: ReadProgress;
}

/** The AWS partition of a Region, for ARNs in messages. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

/** The command that turns on the audit log type (EKS user guide, control-plane logs). */
export function enableAuditCommand(cluster: string, region: string): string {
  return `aws eks update-cluster-config --name ${cluster} --region ${region} --logging '{"clusterLogging":[{"types":["audit"],"enabled":true}]}'`;
}

/** The IAM resource FilterLogEvents is authorized on; the account comes from AWS's message when it names one. */
export function logGroupArn(region: string, logGroup: string, awsMessage = ''): string {
  const account = /arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(awsMessage)?.[1] ?? /:logs:[^:]*:(\d{12}):/.exec(awsMessage)?.[1] ?? '<account-id>';
  return `arn:${partitionOf(region)}:logs:${region}:${account}:log-group:${logGroup}:*`;
}

function progressText(ctx: FailureContext): string {
  const p = ctx.progress;
  const last = p.lastEventTime === undefined ? 'no event read yet' : `last event time ${new Date(p.lastEventTime).toISOString()}`;
  return `after ${p.requests} request(s), ${p.pages} page(s), ${p.downloaded} event(s) downloaded (${last})`;
}

const windowText = (w: ScanWindow): string => `[${w.from.toISOString()}, ${w.to.toISOString()})`;

/**
 * A FilterLogEvents failure as a SourceError that says what is wrong, what to do, and how far the
 * window got. Only transient failures are `retryable`; all leave the window unread.
 */
export function describeFailure(err: unknown, ctx: FailureContext): SourceError {
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const where = `${ctx.source}: ingestion window ${windowText(ctx.window)} not read ${progressText(ctx)}; the window is left for the next scan`;
  switch (name) {
    case 'ResourceNotFoundException':
      if (ctx.kind === 'runtime') {
        return new SourceError(
          'runtime-no-log-group',
          `${ctx.source}: log group ${ctx.logGroup} does not exist: no runtime sensor output reaches CloudWatch Logs for cluster ${ctx.cluster}. Ship Tracee or Falco output with Fluent Bit (docs/runtime-sensors.md) or set logGroup.`,
          { cause: err },
        );
      }
      return new SourceError(
        'eks-no-audit-log-group',
        `${ctx.source}: log group ${ctx.logGroup} does not exist in ${ctx.region}: cluster ${ctx.cluster} sends no control-plane logs to CloudWatch (or the cluster name or Region is wrong). ` +
          `Enable audit logs with: ${enableAuditCommand(ctx.cluster, ctx.region)}`,
        { cause: err },
      );
    case 'AccessDeniedException':
    case 'UnauthorizedOperation':
    case 'AccessDenied':
      return new SourceError(
        'eks-access-denied',
        `${ctx.source}: access denied: the credentials need logs:FilterLogEvents on ${logGroupArn(ctx.region, ctx.logGroup, message)} (${message})`,
        { cause: err },
      );
    case 'ThrottlingException':
      return new SourceError(
        'eks-throttled',
        `${where}: FilterLogEvents is still throttled after the SDK's retries (5 requests/s per account and Region, shared by every caller); stagger scans of clusters in the same Region`,
        { cause: err, retryable: true },
      );
    case 'InvalidParameterException':
      return new SourceError('eks-invalid-request', `${where}: CloudWatch Logs rejected the request: ${message}`, { cause: err });
    default:
      if (err instanceof SourceError) return new SourceError(err.code, `${where}: ${message}`, { cause: err, retryable: false });
      return new SourceError('eks-read-failed', `${where}: ${name}: ${message}`, { cause: err, retryable: true });
  }
}
