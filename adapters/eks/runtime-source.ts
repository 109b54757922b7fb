import type { FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createClient, type EksClientOptions } from './client.js';
import { runtimeSourceName } from './name.js';
import { describeFailure, eventTimeRange, FilterPages, FLUSH_EVENTS, keep, pullSettings, regionOf, type EksPullOptions, type ReadProgress } from './pull.js';
import { isLogEvent, sensorRecordOfLogEvent } from './container-log.js';
import { countExecs, execsIn, lookbackOf, readExecs, type RuntimeOptions } from '../sensors/exec-lookback.js';
import { sensorContainers } from '../sensors/sensor-containers.js';

export interface EksRuntimeSourceOptions extends EksClientOptions, EksPullOptions, RuntimeOptions {
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
}

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
  const { client, region } = createClient(opts, '--eks-runtime');
  const containers = sensorContainers(opts.sensorContainers, 'sensorContainers', { allowNone: true });
  const { lateArrivalMs, pageLimit } = pullSettings(opts);
  const lookback = lookbackOf(opts);
  const logGroup = opts.logGroup ?? `/aws/containerinsights/${opts.cluster}/application`;
  const pattern = sensorFilterPattern(containers);
  const name = runtimeSourceName(opts);
  let lastNotices: CoverageNotice[] = [];

  return {
    name,
    cloud: 'eks',
    cluster: opts.cluster,
    notices: () => [...lastNotices],
    async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
      lastNotices = [];
      if (!(window.from.getTime() < window.to.getTime())) return;
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
      const pages = new FilterPages(client, { logGroupName: logGroup, ...eventTimeRange(window, lateArrivalMs), ...(pattern === undefined ? {} : { filterPattern: pattern }) }, pageLimit, progress, options.signal);
      while (pages.needsFetch()) {
        try {
          await pages.fetch();
        } catch (err) {
          throw describeFailure(err, { source: name, kind: 'runtime', cluster: opts.cluster, region: await regionOf(client, region), logGroup, window, progress });
        }
        for (let e = pages.head(); e !== undefined; e = pages.head()) if (keep(pages.take(), window, progress)) batch.push(e);
        if (batch.length >= FLUSH_EVENTS) yield flush();
      }
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
