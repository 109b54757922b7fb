import type { Logging } from '@google-cloud/logging';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { Origin } from '../../core/model/event.js';
import { rejected, skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { DEFAULT_MAX_LATENESS_MS, validateCluster, validateProject } from './filter.js';
import { EntryDecodeError, logEntryToJson } from './log-entry.js';
import { withQuotaBackoff, type QuotaBackoff } from './quota-backoff.js';
import { clientFor, CODE, codeOf, describeFailure, type RawPage } from './source.js';
import { detectSensorRecord } from '../sensors/detect.js';
import { isContainerLogEntry, sensorRecordOfLogEntry } from './container-log.js';
import { lookbackOf, readExecs } from '../sensors/exec-lookback.js';
import { sensorContainers } from '../sensors/sensor-containers.js';

/**
 * Tracee or Falco output of GKE clusters from Cloud Logging: GKE's logging agent keeps every
 * container's stdout as a `k8s_container` LogEntry (a JSON line parsed into `jsonPayload`, other
 * lines in `textPayload`). The source lists the sensor containers' entries whose
 * `receiveTimestamp` is in the window, exactly as the audit source windows its entries, with the
 * same client, paging, quota backoff and error mapping (adapters/gke/source.ts). With `audit`, the
 * cluster's pods/exec requests come first, from `execLookbackMs` before the window.
 */

export interface GkeRuntimeSourceOptions {
  projects: string[];
  cluster?: string;
  /** Container names of the sensor pods (default tracee and falco). */
  sensorContainers?: readonly string[];
  /** `host:port` of a loopback fake (tests, CLI `CREDWATCH_GKE_ENDPOINT`). */
  endpoint?: string;
  logging?: Logging;
  pageSize?: number;
  maxLatenessMs?: number;
  quota?: Partial<QuotaBackoff>;
  gaxOptions?: Record<string, unknown>;
  /** The cluster's audit source, for the pods/exec behind each read. */
  audit?: LogSource;
  execLookbackMs?: number;
  /** Read only the exec margin before the window: the caller scans the audit window in the same engine. */
  execMarginOnly?: boolean;
}

const MAX_PAGE_SIZE = 1000;

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

/** Container log entries are readable with roles/logging.viewer; the audit source's hint names a wider role. */
function runtimeFailure(err: unknown, project: string, where: string): SourceError {
  if (codeOf(err) !== CODE.PERMISSION_DENIED) return describeFailure(err, project, where);
  const detail = err instanceof Error ? err.message : String(err);
  return new SourceError(
    'gke-permission-denied',
    `Cloud Logging refused to list the runtime sensor's container logs of project ${project} (${where}): grant the scanning identity roles/logging.viewer (Logs Viewer). ${detail}`,
    { cause: err, retryable: false },
  );
}

function sensorRecordOfEntry(raw: unknown, origin: Origin, cluster: string | undefined): ParseOutcome {
  let json: Record<string, unknown>;
  try {
    json = logEntryToJson(raw);
  } catch (err) {
    return rejected(origin, 'decode-failed', err instanceof EntryDecodeError ? err.message : `unexpected: ${String(err)}`);
  }
  const insertId = typeof json['insertId'] === 'string' ? json['insertId'] : undefined;
  const at = insertId === undefined ? origin : { ...origin, recordId: insertId };
  const hints = cluster === undefined ? {} : { cluster };
  const found = isContainerLogEntry(json) ? sensorRecordOfLogEntry(json, at, hints) : detectSensorRecord(json, at, hints);
  if (found?.[0] !== undefined) return found[0];
  // A sensor prints banners and status lines too; they are not events and not errors.
  const container = (json['resource'] as { labels?: Record<string, string> } | undefined)?.labels?.['container_name'] ?? '?';
  return skipped(at, 'other-category', `container ${container}: not a Tracee event or a Falco alert`);
}

export function createGkeRuntimeSource(opts: GkeRuntimeSourceOptions): LogSource {
  if (opts.projects.length === 0) throw new ConfigError('gke-project', 'the GKE runtime source needs at least one project ID');
  opts.projects.forEach(validateProject);
  if (opts.cluster !== undefined) validateCluster(opts.cluster);
  const containers = sensorContainers(opts.sensorContainers, 'sensorContainers');
  const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new ConfigError('gke-page-size', `GKE page size must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  const logging = clientFor(opts);
  const lookback = lookbackOf(opts);
  const name = `gke-runtime:${opts.cluster ?? opts.projects.join(',')}`;

  async function listPage(project: string, filter: string, pageToken: string | undefined, signal?: AbortSignal): Promise<RawPage> {
    const request = {
      resourceNames: [`projects/${project}`],
      filter,
      orderBy: 'timestamp asc',
      pageSize,
      autoPaginate: false,
      ...(pageToken === undefined ? {} : { pageToken }),
      ...(opts.gaxOptions === undefined ? {} : { gaxOptions: opts.gaxOptions }),
    };
    const resp = await withQuotaBackoff(() => logging.getEntries(request), (e) => codeOf(e) === CODE.RESOURCE_EXHAUSTED, opts.quota, signal);
    return (resp[2] ?? {});
  }

  async function* read(window: ScanWindow, options: ReadOptions): AsyncGenerator<SourcePage> {
    if (!(window.from.getTime() < window.to.getTime())) return;
    let page = 0;
    for await (const p of readExecs(window, lookback, options.signal)) {
      page = p.page;
      yield p;
    }
    const span = `window [${window.from.toISOString()}, ${window.to.toISOString()})`;
    for (const project of opts.projects) {
      const filter = buildGkeRuntimeFilter({
        project,
        containers,
        window,
        ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
        ...(opts.maxLatenessMs === undefined ? {} : { maxLatenessMs: opts.maxLatenessMs }),
      });
      let token: string | undefined;
      let projectPages = 0;
      let entries = 0;
      do {
        options.signal?.throwIfAborted();
        let raw: RawPage;
        try {
          raw = await listPage(project, filter, token, options.signal);
        } catch (err) {
          throw runtimeFailure(err, project, `${name} ${span}, after ${projectPages} page(s) and ${entries} entries of this project; nothing of the window counts as read`);
        }
        page++;
        projectPages++;
        const p = page;
        const outcomes = (raw.entries ?? []).map((e, index) => sensorRecordOfEntry(e, { source: name, page: p, index }, opts.cluster));
        entries += outcomes.length;
        yield { outcomes, page: p };
        token = raw.nextPageToken ? raw.nextPageToken : undefined;
      } while (token !== undefined);
    }
  }

  return { name, cloud: 'gke', ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }), read };
}
