import type { Logging } from '@google-cloud/logging';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { Origin } from '../../core/model/event.js';
import { rejected, type ParseOutcome } from '../../core/model/parse-result.js';
import type { ScanWindow, SourcePage } from '../../core/model/source.js';
import type { GkeClientOptions } from './client.js';
import { validateCluster, validateProject } from './filter.js';
import { EntryDecodeError, logEntryToJson } from './log-entry.js';
import { withQuotaBackoff, type QuotaBackoff } from './quota-backoff.js';

/**
 * Reading Cloud Logging for every GKE source, audit and runtime: entries.list through
 * `@google-cloud/logging` over gRPC, one project after the other, page by page, oldest first
 * (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list); the options and
 * their checks, the decoding of each entry, and what a failure says. Each source's filter
 * selects its entries on `receiveTimestamp`, the ingestion-time axis of the window.
 */

export interface GkePullOptions extends GkeClientOptions {
  cluster?: string;
  /** Entries per request; the API allows at most 1,000, and large pages spare the read quota. */
  pageSize?: number;
  maxLatenessMs?: number;
  quota?: Partial<QuotaBackoff>;
  /** gax call options, e.g. `{ maxRetries: 0 }` in tests. */
  gaxOptions?: Record<string, unknown>;
}

const MAX_PAGE_SIZE = 1000;

/** The page size of a source after checking its projects, cluster and page size; `what` names the source in messages. */
export function pullSettings(opts: GkePullOptions, what: string): { pageSize: number } {
  if (opts.projects.length === 0) throw new ConfigError('gke-project', `${what} needs at least one project ID`);
  opts.projects.forEach(validateProject);
  if (opts.cluster !== undefined) validateCluster(opts.cluster);
  const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new ConfigError('gke-page-size', `GKE page size must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  return { pageSize };
}

/** gRPC status codes the sources tell apart. */
export const CODE = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16 } as const;

export const codeOf = (err: unknown): number | undefined => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
};

export interface RawPage {
  entries?: unknown[] | null;
  nextPageToken?: string | null;
}

/** One entries.list call, retried with backoff while the read quota is exhausted. */
export async function listPage(logging: Logging, opts: GkePullOptions, project: string, filter: string, size: number, pageToken: string | undefined, signal?: AbortSignal): Promise<RawPage> {
  const request = {
    resourceNames: [`projects/${project}`],
    filter,
    // The client's default is newest first; the scan reads oldest first.
    orderBy: 'timestamp asc',
    pageSize: size,
    autoPaginate: false,
    ...(pageToken === undefined ? {} : { pageToken }),
    ...(opts.gaxOptions === undefined ? {} : { gaxOptions: opts.gaxOptions }),
  };
  const resp = await withQuotaBackoff(() => logging.getEntries(request), (e) => codeOf(e) === CODE.RESOURCE_EXHAUSTED, opts.quota, signal);
  // The raw response keeps full-precision timestamps and never gains an invented insertId.
  return resp[2] ?? {};
}

/** An entry as JSON and its origin with the `insertId`, or the rejection of one that does not decode. */
export function decodeEntry(raw: unknown, origin: Origin): { json: Record<string, unknown>; at: Origin } | ParseOutcome {
  let json: Record<string, unknown>;
  try {
    json = logEntryToJson(raw);
  } catch (err) {
    return rejected(origin, 'decode-failed', err instanceof EntryDecodeError ? err.message : `unexpected: ${String(err)}`);
  }
  const insertId = typeof json['insertId'] === 'string' ? json['insertId'] : undefined;
  return { json, at: insertId === undefined ? origin : { ...origin, recordId: insertId } };
}

/** Where a failed call was, for its message. */
export interface FailureContext {
  source: string;
  /** The runtime source reads container logs, which need a narrower role than audit logs. */
  kind: 'audit' | 'runtime';
  project: string;
  window: ScanWindow;
  /** How far the read got, e.g. `after 2 page(s) and 2000 entries of this project`. */
  progress: string;
}

/**
 * An entries.list failure as a SourceError that says what is wrong and what to do. Only
 * transient failures are `retryable`; all leave the window unread.
 */
export function describeFailure(err: unknown, ctx: FailureContext): SourceError {
  const { project } = ctx;
  const where = `${ctx.source} window [${ctx.window.from.toISOString()}, ${ctx.window.to.toISOString()}), ${ctx.progress}`;
  const detail = err instanceof Error ? err.message : String(err);
  switch (codeOf(err)) {
    case CODE.PERMISSION_DENIED:
      if (ctx.kind === 'runtime') {
        return new SourceError(
          'gke-permission-denied',
          `Cloud Logging refused to list the runtime sensor's container logs of project ${project} (${where}): grant the scanning identity roles/logging.viewer (Logs Viewer). ${detail}`,
          { cause: err, retryable: false },
        );
      }
      return new SourceError(
        'gke-permission-denied',
        `Cloud Logging refused to list entries of project ${project} (${where}): grant the scanning identity roles/logging.privateLogViewer (Private Logs Viewer, needed for Data Access audit logs; it includes roles/logging.viewer, which is enough for Admin Activity only). ${detail}`,
        { cause: err, retryable: false },
      );
    case CODE.UNAUTHENTICATED:
      return new SourceError('gke-unauthenticated', `No valid Google credentials for project ${project} (${where}): run \`gcloud auth application-default login\` or set GOOGLE_APPLICATION_CREDENTIALS. ${detail}`, { cause: err, retryable: false });
    case CODE.INVALID_ARGUMENT:
      return new SourceError('gke-invalid-request', `Cloud Logging rejected the query for project ${project} (${where}): ${detail}`, { cause: err, retryable: false });
    case CODE.RESOURCE_EXHAUSTED:
      return new SourceError('gke-quota', `Cloud Logging read quota of project ${project} still exhausted after retries (${where}); the window will be retried by the next run. ${detail}`, { cause: err, retryable: true });
    default:
      return new SourceError('gke-read-failed', `Reading Cloud Logging entries of project ${project} failed (${where}); the window will be retried by the next run. ${detail}`, { cause: err, retryable: true });
  }
}

export interface ProjectPull {
  source: string;
  kind: FailureContext['kind'];
  project: string;
  filter: string;
  window: ScanWindow;
  pageSize: number;
  /** The number of the page before the first one this yields (pages are numbered across projects). */
  pageBefore: number;
  signal?: AbortSignal;
}

/** Every page of one project's entries matching the filter; returns the last page number and the entries read. */
export async function* pullProject(
  logging: Logging,
  opts: GkePullOptions,
  p: ProjectPull,
  outcomeOf: (raw: unknown, origin: Origin) => ParseOutcome,
): AsyncGenerator<SourcePage, { page: number; entries: number }> {
  let token: string | undefined;
  let page = p.pageBefore;
  let projectPages = 0;
  let entries = 0;
  do {
    p.signal?.throwIfAborted();
    let raw: RawPage;
    try {
      raw = await listPage(logging, opts, p.project, p.filter, p.pageSize, token, p.signal);
    } catch (err) {
      const progress = `after ${projectPages} page(s) and ${entries} entries of this project; nothing of the window counts as read`;
      throw describeFailure(err, { source: p.source, kind: p.kind, project: p.project, window: p.window, progress });
    }
    page++;
    projectPages++;
    const at = page;
    const outcomes = (raw.entries ?? []).map((e, index) => outcomeOf(e, { source: p.source, page: at, index }));
    entries += outcomes.length;
    yield { outcomes, page: at };
    token = raw.nextPageToken ? raw.nextPageToken : undefined;
  } while (token !== undefined);
  return { page, entries };
}
