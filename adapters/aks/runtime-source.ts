import type { Origin } from '../../core/model/event.js';
import { skipped, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createClient } from './client.js';
import { clusterClause, ingestionClause, kqlString } from './filter.js';
import { runtimeSourceName } from './name.js';
import { pullSettings, queryWindow, readInPieces, type AksPullOptions } from './pull.js';
import { detectSensorRecord } from '../sensors/detect.js';
import { isContainerLogV2Row, sensorRecordOfContainerLogRow } from './container-log.js';
import { lookbackOf, readExecs, type RuntimeOptions } from '../sensors/exec-lookback.js';
import { sensorContainers } from '../sensors/sensor-containers.js';

/**
 * Tracee or Falco output of AKS clusters from Log Analytics: Container Insights keeps each
 * container's stdout as a `ContainerLogV2` row (the line in `LogMessage`). Rows are selected on
 * `ingestion_time()` like the audit source's, and a window whose result overflows is split in two
 * until each piece fits (adapters/aks/pull.ts `readInPieces`). With `audit`, the cluster's
 * pods/exec requests come first, from `execLookbackMs` before the window.
 */

export type AksRuntimeSourceOptions = AksPullOptions & RuntimeOptions;

/** Only what the runtime parser reads from a row (adapters/sensors/detect.ts `fromContainerLogV2`). */
export const CONTAINER_LOG_COLUMNS: readonly string[] = Object.freeze([
  'TimeGenerated',
  'IngestedAt = ingestion_time()',
  'Computer',
  'ContainerName',
  'PodName',
  'PodNamespace',
  'LogMessage',
  '_ResourceId',
]);

export interface ContainerLogQueryInput {
  containers: readonly string[];
  window: ScanWindow;
  cluster?: string;
  take: number;
}

/** The KQL of one (sub-)window: the sensor containers' rows ingested in it. */
export function buildContainerLogQuery(input: ContainerLogQueryInput): string {
  const parts = [
    'ContainerLogV2',
    ingestionClause(input.window),
    `where ContainerName in (${[...input.containers].sort().map(kqlString).join(', ')})`,
  ];
  if (input.cluster !== undefined) parts.push(clusterClause(input.cluster));
  parts.push(`project ${CONTAINER_LOG_COLUMNS.join(', ')}`, `take ${input.take}`);
  return parts.join('\n| ');
}

function sensorRecordOfRow(row: Record<string, unknown>, origin: Origin, cluster: string | undefined): ParseOutcome {
  const hints: ParseHints = {};
  if (cluster !== undefined) hints.cluster = cluster;
  if (typeof row['IngestedAt'] === 'string') hints.ingestedAt = row['IngestedAt'];
  const found = (isContainerLogV2Row(row) ? sensorRecordOfContainerLogRow(row, origin, hints) : detectSensorRecord(row, origin, hints))?.[0];
  // A sensor's banner and status lines are not events and not errors.
  if (found === undefined || (found.kind === 'rejected' && found.rejection.reason === 'unknown-shape')) {
    return skipped(origin, 'other-category', `container ${String(row['ContainerName'] ?? '?').slice(0, 60)}: not a Tracee event or a Falco alert`);
  }
  return found;
}

export function createAksRuntimeSource(opts: AksRuntimeSourceOptions): LogSource {
  const settings = pullSettings(opts);
  const client = createClient(opts);
  const name = runtimeSourceName(opts);
  const containers = sensorContainers(opts.sensorContainers, 'sensorContainers');
  const cluster = opts.cluster === undefined ? {} : { cluster: opts.cluster };

  async function* read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
    if (!(window.from.getTime() < window.to.getTime())) return;
    let page = 0;
    for await (const p of readExecs(window, lookbackOf(opts), options.signal)) {
      page = p.page;
      yield p;
    }
    const s = { name, workspaceId: opts.workspaceId, ...settings };
    const pieces = readInPieces(window, 1, {
      name,
      what: 'ContainerLogV2',
      maxRows: settings.maxRowsPerQuery,
      maxSplitDepth: settings.maxSplitDepth,
      query: (w, take) => queryWindow(client, s, buildContainerLogQuery({ containers, window: w, take, ...cluster }), w, 'ContainerLogV2', options.signal),
    });
    for await (const rows of pieces) {
      page++;
      const p = page;
      yield { page: p, outcomes: rows.map((row, index) => sensorRecordOfRow(row, { source: name, page: p, index }, opts.cluster)) };
    }
  }

  return { name, cloud: 'aks', ...cluster, read };
}
