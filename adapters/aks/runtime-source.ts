import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { ConfigError } from '../../core/model/errors.js';
import type { Origin } from '../../core/model/event.js';
import { skipped, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createLogsClient, type AksClientOptions } from './client.js';
import { AKS_CLUSTER_NAME, clusterClause, ingestionClause, kqlString } from './filter.js';
import { queryWindow, readInPieces, aksQuerySettings, type AksQuerySettings } from './source.js';
import { detectSensorRecord } from '../sensors/detect.js';
import { isContainerLogV2Row, sensorRecordOfContainerLogRow } from './container-log.js';
import { lookbackOf, readExecs } from '../sensors/exec-lookback.js';
import { sensorContainers } from '../sensors/sensor-containers.js';

/**
 * Tracee or Falco output of AKS clusters from Log Analytics: Container Insights keeps each
 * container's stdout as a `ContainerLogV2` row (the line in `LogMessage`). Rows are selected on
 * `ingestion_time()` like the audit source's, and a window whose result overflows is split in two
 * until each piece fits (adapters/aks/source.ts `readInPieces`). With `audit`, the cluster's
 * pods/exec requests come first, from `execLookbackMs` before the window.
 */

export interface AksRuntimeSourceOptions extends Omit<AksClientOptions, 'env'> {
  workspaceId: string;
  cluster?: string;
  /** Container names of the sensor pods (default tracee and falco). */
  sensorContainers?: readonly string[];
  /** Rows per query (default 50,000; the service caps a result at 500,000). */
  maxRowsPerQuery?: number;
  /** How late a row may reach the workspace and still be read (default 2 h, as the audit source). */
  maxLatenessMs?: number;
  serverTimeoutSeconds?: number;
  maxSplitDepth?: number;
  audit?: LogSource;
  execLookbackMs?: number;
  /** Read only the exec margin before the window: the caller scans the audit window in the same engine. */
  execMarginOnly?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
}

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

class AksRuntimeSource implements LogSource {
  readonly cloud = 'aks' as const;
  readonly name: string;
  readonly cluster?: string;
  private readonly containers: string[];
  private readonly settings: AksQuerySettings;

  constructor(
    private readonly client: LogsQueryClient,
    private readonly opts: AksRuntimeSourceOptions,
  ) {
    if (opts.cluster !== undefined) this.cluster = opts.cluster;
    this.name = `aks-runtime:${opts.cluster ?? opts.workspaceId}`;
    this.containers = sensorContainers(opts.sensorContainers, 'sensorContainers');
    this.settings = aksQuerySettings(opts);
  }

  async *read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage> {
    if (!(window.from.getTime() < window.to.getTime())) return;
    let page = 0;
    for await (const p of readExecs(window, lookbackOf(this.opts), options.signal)) {
      page = p.page;
      yield p;
    }
    const s = { name: this.name, workspaceId: this.opts.workspaceId, ...this.settings };
    const pieces = readInPieces(window, 1, {
      name: this.name,
      what: 'ContainerLogV2',
      maxRows: this.settings.maxRowsPerQuery,
      maxSplitDepth: this.settings.maxSplitDepth,
      query: (w, take) => {
        const query = buildContainerLogQuery({ containers: this.containers, window: w, take, ...(this.opts.cluster === undefined ? {} : { cluster: this.opts.cluster }) });
        return queryWindow(this.client, s, query, w, 'ContainerLogV2', options.signal);
      },
    });
    for await (const rows of pieces) {
      page++;
      const p = page;
      yield { page: p, outcomes: rows.map((row, index) => sensorRecordOfRow(row, { source: this.name, page: p, index }, this.opts.cluster)) };
    }
  }
}

export function createAksRuntimeSource(opts: AksRuntimeSourceOptions): LogSource {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(opts.workspaceId)) {
    throw new ConfigError('aks-workspace', `AKS workspace ID "${opts.workspaceId}" is not a workspace GUID (see the workspace's Overview page)`);
  }
  if (opts.cluster !== undefined && !AKS_CLUSTER_NAME.test(opts.cluster)) {
    throw new ConfigError('aks-cluster', `AKS cluster name "${opts.cluster}" is not valid (letters, digits, - and _, at most 63)`);
  }
  const max = opts.maxRowsPerQuery;
  if (max !== undefined && (!Number.isInteger(max) || max < 1 || max >= 500_000)) {
    throw new ConfigError('aks-max-rows', 'maxRowsPerQuery must be an integer from 1 to 499,999 (the service caps a result at 500,000 rows)');
  }
  return new AksRuntimeSource(createLogsClient(opts), opts);
}
