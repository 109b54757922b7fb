import { CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { SourceError } from '../../core/model/errors.js';
import { skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { cloudWatchLogsFor } from './client.js';
import { describeFailure, type ReadProgress } from './source-errors.js';
import { CLOCK_SKEW_MS, DEFAULT_LATE_ARRIVAL_MS, DEFAULT_PAGE_LIMIT } from './source.js';
import { isLogEvent, sensorRecordOfLogEvent } from './container-log.js';
import { countExecs, execsIn, lookbackOf, readExecs } from '../sensors/exec-lookback.js';
import { sensorContainers } from '../sensors/sensor-containers.js';

export interface EksRuntimeSourceOptions {
  cluster: string;
  region?: string;
  profile?: string;
  endpoint?: string;
  client?: CloudWatchLogsClient;
  /** A role in the cluster's account to assume for its logs (adapters/eks/client.ts). */
  roleArn?: string;
  /**
   * Where Fluent Bit writes the sensor's stdout. Default: Container Insights' application group
   * `/aws/containerinsights/<cluster>/application`.
   */
  logGroup?: string;
  /**
   * Container names of the sensor pods, pushed down as a JSON filter on Fluent Bit's
   * `kubernetes.container_name`. Default tracee and falco; `[]` (no filter) for a group that holds
   * only the sensor's lines, bare ones included: a bare Tracee or Falco line has no
   * `kubernetes.container_name`, so the default filter matches none of them.
   */
  sensorContainers?: readonly string[];
  /**
   * The cluster's audit source: its pods/exec requests are read first (from `execLookbackMs`
   * before the window) so every read can be tied to the exec behind it in the same engine.
   */
  audit?: LogSource;
  execLookbackMs?: number;
  /** Read only the exec margin before the window: the caller scans the audit window in the same engine. */
  execMarginOnly?: boolean;
  lateArrivalMs?: number;
  pageLimit?: number;
}

const FLUSH_EVENTS = 10_000;

/** The filter pattern keeping Fluent Bit records of the sensor containers, or none. */
export function sensorFilterPattern(containers: readonly string[]): string | undefined {
  if (containers.length === 0) return undefined;
  return `{ ${containers.map((c) => `$.kubernetes.container_name = "${c}"`).join(' || ')} }`;
}

/**
 * Tracee or Falco output of an EKS cluster from CloudWatch Logs, windowed like the audit source:
 * FilterLogEvents over event times [from − lateArrivalMs, to + 60 s], keeping the lines whose
 * `ingestionTime` is in [from, to). Lines of other containers in the group are skipped
 * (`other-category`). With `audit`, the cluster's pods/exec requests come first, and a window in
 * which the group returned no line at all while the audit log shows `pods/exec` requests is reported
 * as a notice (`runtime-no-sensor-lines`): the sensor is missing, ships elsewhere, or its lines do
 * not match the container filter.
 */
export function createEksRuntimeSource(opts: EksRuntimeSourceOptions): LogSource {
  const { client, region } = cloudWatchLogsFor(opts, '--eks-runtime');
  const containers = sensorContainers(opts.sensorContainers, 'sensorContainers', { allowNone: true });
  const lateArrivalMs = opts.lateArrivalMs ?? DEFAULT_LATE_ARRIVAL_MS;
  const lookback = lookbackOf(opts);
  const pageLimit = opts.pageLimit ?? DEFAULT_PAGE_LIMIT;
  const logGroup = opts.logGroup ?? `/aws/containerinsights/${opts.cluster}/application`;
  const pattern = sensorFilterPattern(containers);
  const name = `eks-runtime:${opts.cluster}`;
  let lastNotices: CoverageNotice[] = [];

  return {
    name,
    cloud: 'eks',
    cluster: opts.cluster,
    notices: () => [...lastNotices],
    async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
      lastNotices = [];
      const from = window.from.getTime();
      const to = window.to.getTime();
      if (!(from < to)) return;
      let page = 0;
      let execs = 0;
      for await (const p of readExecs(window, lookback, options.signal)) {
        page = p.page;
        execs += execsIn(p.outcomes, window);
        yield p;
      }
      const progress: ReadProgress = { requests: 0, pages: 0, downloaded: 0, kept: 0 };
      const hints = { cluster: opts.cluster, logGroup };
      let batch: FilteredLogEvent[] = [];
      const flush = (): SourcePage => {
        progress.pages++;
        page++;
        const p = page;
        const outcomes: ParseOutcome[] = batch.map((e, index) => {
          const origin = { source: name, page: p, index, ...(e.eventId === undefined ? {} : { recordId: e.eventId }) };
          const record = { ...e, message: e.message ?? '' } as Record<string, unknown>;
          return (isLogEvent(record) ? sensorRecordOfLogEvent(record, origin, hints)?.[0] : undefined) ?? skipped(origin, 'other-category', `log stream ${e.logStreamName ?? '?'}: not a Tracee or Falco line`);
        });
        batch = [];
        return { outcomes, page: p };
      };
      let nextToken: string | undefined;
      do {
        if (progress.requests >= pageLimit) {
          throw new SourceError('eks-page-limit', `${name}: FilterLogEvents still returned a nextToken after ${progress.requests} requests (pageLimit)`);
        }
        progress.requests++;
        let out;
        try {
          out = await client.send(
            new FilterLogEventsCommand({
              logGroupName: logGroup,
              startTime: Math.max(0, from - lateArrivalMs),
              endTime: to + CLOCK_SKEW_MS,
              ...(pattern === undefined ? {} : { filterPattern: pattern }),
              ...(nextToken === undefined ? {} : { nextToken }),
            }),
            options.signal === undefined ? {} : { abortSignal: options.signal },
          );
        } catch (err) {
          if (err instanceof Error && err.name === 'ResourceNotFoundException') {
            throw new SourceError(
              'runtime-no-log-group',
              `${name}: log group ${logGroup} does not exist: no runtime sensor output reaches CloudWatch Logs for cluster ${opts.cluster}. Ship Tracee or Falco output with Fluent Bit (docs/runtime-sensors.md) or set logGroup.`,
              { cause: err },
            );
          }
          const r = region ?? (await client.config.region().catch(() => undefined)) ?? 'unknown-region';
          throw describeFailure(err, { source: name, cluster: opts.cluster, region: r, logGroup, window, progress });
        }
        const events = out.events ?? [];
        progress.downloaded += events.length;
        for (const e of events) {
          const ts = e.timestamp ?? 0;
          progress.lastEventTime = Math.max(progress.lastEventTime ?? ts, ts);
          const ingested = e.ingestionTime ?? ts;
          if (ingested < from || ingested >= to) continue;
          progress.kept++;
          batch.push(e);
        }
        if (batch.length >= FLUSH_EVENTS) yield flush();
        nextToken = out.nextToken === undefined || out.nextToken === '' ? undefined : out.nextToken;
      } while (nextToken !== undefined);
      if (batch.length > 0) yield flush();
      if (progress.downloaded === 0 && lookback !== undefined) {
        // In `scan` the window's execs went to the audit source, not through here: count them now.
        if (lookback.marginOnly === true) execs = await countExecs(window, lookback.audit, options.signal);
        if (execs > 0) lastNotices = [{ code: 'runtime-no-sensor-lines', message: noLinesMessage(logGroup, pattern, execs, window) }];
      }
    },
  };
}

function noLinesMessage(logGroup: string, pattern: string | undefined, execs: number, window: ScanWindow): string {
  const span = `${window.from.toISOString()} to ${window.to.toISOString()}`;
  const why =
    pattern === undefined
      ? 'check that the sensor runs on the nodes and ships its output to this group'
      : `the filter ${pattern} matches only Fluent Bit records; if the group holds bare Tracee or Falco lines, read it without a container filter (sensorContainers: [], CLI --runtime-containers '')`;
  return `log group ${logGroup} returned no line for ${span} while the audit log shows ${execs} pods/exec request${execs === 1 ? '' : 's'} in it: file reads in those sessions went unseen; ${why}`;
}
