import type { Origin } from '../../core/model/event.js';
import { skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createClient } from './client.js';
import { DEFAULT_MAX_LATENESS_MS } from './filter.js';
import { runtimeSourceName } from './name.js';
import { decodeEntry, pullProject, pullSettings, type GkePullOptions } from './pull.js';
import { detectSensorRecord } from '../sensors/detect.js';
import { isContainerLogEntry, sensorRecordOfLogEntry } from './container-log.js';
import { lookbackOf, readExecs, type RuntimeOptions } from '../sensors/exec-lookback.js';
import { sensorContainers } from '../sensors/sensor-containers.js';

/**
 * Tracee or Falco output of GKE clusters from Cloud Logging: GKE's logging agent keeps every
 * container's stdout as a `k8s_container` LogEntry (a JSON line parsed into `jsonPayload`, other
 * lines in `textPayload`). The source lists the sensor containers' entries whose
 * `receiveTimestamp` is in the window, exactly as the audit source windows its entries, with the
 * same client, paging, quota backoff and error mapping (adapters/gke/pull.ts). With `audit`, the
 * cluster's pods/exec requests come first, from `execLookbackMs` before the window.
 */

export type GkeRuntimeSourceOptions = GkePullOptions & RuntimeOptions;

export interface GkeRuntimeFilterInput {
  project: string;
  cluster?: string;
  containers: readonly string[];
  window: ScanWindow;
  maxLatenessMs?: number;
}

/** The entries.list filter: the sensor containers' log entries received in the window. */
export function buildGkeRuntimeFilter(input: GkeRuntimeFilterInput): string {
  const lateness = input.maxLatenessMs ?? DEFAULT_MAX_LATENESS_MS;
  const names = input.containers.map((c) => `resource.labels.container_name="${c}"`);
  const clauses = [
    // Container logs are the `stdout` and `stderr` logs of the project; audit logs never match.
    `(logName="projects/${input.project}/logs/stdout" OR logName="projects/${input.project}/logs/stderr")`,
    'resource.type="k8s_container"',
    names.length === 1 ? names[0]! : `(${names.join(' OR ')})`,
  ];
  if (input.cluster !== undefined) clauses.push(`resource.labels.cluster_name="${input.cluster}"`);
  clauses.push(
    `receiveTimestamp>="${input.window.from.toISOString()}"`,
    `receiveTimestamp<"${input.window.to.toISOString()}"`,
    // Bounds the search, and stops the Node client from adding its own 24-hour `timestamp` bound.
    `timestamp>="${new Date(input.window.from.getTime() - lateness).toISOString()}"`,
  );
  return clauses.join('\nAND ');
}

function sensorRecordOfEntry(raw: unknown, origin: Origin, cluster: string | undefined): ParseOutcome {
  const entry = decodeEntry(raw, origin);
  if (!('json' in entry)) return entry;
  const { json, at } = entry;
  const hints = cluster === undefined ? {} : { cluster };
  const found = isContainerLogEntry(json) ? sensorRecordOfLogEntry(json, at, hints) : detectSensorRecord(json, at, hints);
  if (found?.[0] !== undefined) return found[0];
  // A sensor prints banners and status lines too; they are not events and not errors.
  const container = (json['resource'] as { labels?: Record<string, string> } | undefined)?.labels?.['container_name'] ?? '?';
  return skipped(at, 'other-category', `container ${container}: not a Tracee event or a Falco alert`);
}

export function createGkeRuntimeSource(opts: GkeRuntimeSourceOptions): LogSource {
  const { pageSize } = pullSettings(opts, 'the GKE runtime source');
  const containers = sensorContainers(opts.sensorContainers, 'sensorContainers');
  const logging = createClient(opts);
  const lookback = lookbackOf(opts);
  const name = runtimeSourceName(opts);

  async function* read(window: ScanWindow, options: ReadOptions): AsyncGenerator<SourcePage> {
    if (!(window.from.getTime() < window.to.getTime())) return;
    let page = 0;
    for await (const p of readExecs(window, lookback, options.signal)) {
      page = p.page;
      yield p;
    }
    for (const project of opts.projects) {
      const filter = buildGkeRuntimeFilter({
        project,
        containers,
        window,
        ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
        ...(opts.maxLatenessMs === undefined ? {} : { maxLatenessMs: opts.maxLatenessMs }),
      });
      const pull = { source: name, kind: 'runtime' as const, project, filter, window, pageSize, pageBefore: page, ...(options.signal === undefined ? {} : { signal: options.signal }) };
      ({ page } = yield* pullProject(logging, opts, pull, (e, origin) => sensorRecordOfEntry(e, origin, opts.cluster)));
    }
  }

  return { name, cloud: 'gke', ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }), read };
}
