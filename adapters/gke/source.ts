import { Logging } from '@google-cloud/logging';
import { credentials } from '@grpc/grpc-js';
import { ConfigError, SourceError } from '../../core/model/errors.js';
import type { Origin } from '../../core/model/event.js';
import { rejected, type ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { buildGkeFilter, dataAccessProbeFilter, validateCluster, validateProject, type GkeFilterInput } from './filter.js';
import { EntryDecodeError, logEntryToJson } from './log-entry.js';
import { parseGkeRecord } from './parse.js';
import { withQuotaBackoff, type QuotaBackoff } from './quota-backoff.js';

/**
 * Live GKE source: Kubernetes audit entries (Admin Activity + Data Access, `k8s.io`) from Cloud
 * Logging entries.list through `@google-cloud/logging` over gRPC, one project after the other,
 * page by page (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list).
 */

export interface GkeSourceOptions {
  projects: string[];
  cluster?: string;
  /** `host:port` of a loopback fake; connects without TLS or credentials (tests, CLI `CREDWATCH_GKE_ENDPOINT`). */
  endpoint?: string;
  /** Injected client (tests); otherwise one is built with Application Default Credentials. */
  logging?: Logging;
  /** Entries per request; the API allows at most 1,000, and large pages spare the read quota. */
  pageSize?: number;
  maxLatenessMs?: number;
  quota?: Partial<QuotaBackoff>;
  /** gax call options, e.g. `{ maxRetries: 0 }` in tests. */
  gaxOptions?: Record<string, unknown>;
  /** Data Access probe: at most this many (possibly empty) pages are followed. */
  probePages?: number;
}

const MAX_PAGE_SIZE = 1000;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/;
const DATA_ACCESS = /%2Fdata_access$/;

/** gRPC status codes the source tells apart. */
export const CODE = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16 } as const;

export function clientFor(opts: Pick<GkeSourceOptions, 'projects' | 'endpoint' | 'logging'>): Logging {
  if (opts.logging !== undefined) return opts.logging;
  const projectId = opts.projects[0]!;
  if (opts.endpoint === undefined) return new Logging({ projectId });
  const m = LOOPBACK.exec(opts.endpoint);
  // Plain-text gRPC without credentials is only acceptable to a local fake or emulator.
  if (m === null) throw new ConfigError('gke-endpoint', `GKE endpoint "${opts.endpoint}" must be a loopback host:port (127.0.0.1:PORT); it is reached without TLS or credentials`);
  const host = m[1] === '[::1]' ? '::1' : m[1]!;
  // `port` is a gax client option the LoggingOptions type does not list. Without an explicit
  // universe domain, gax asks the credentials for theirs, which probes the GCE metadata server:
  // a loopback endpoint must never cause traffic anywhere else.
  const options = { projectId, apiEndpoint: host, port: Number(m[2]), sslCreds: credentials.createInsecure(), universeDomain: 'googleapis.com' };
  return new Logging(options);
}

export interface RawPage {
  entries?: unknown[] | null;
  nextPageToken?: string | null;
}

export const codeOf = (err: unknown): number | undefined => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
};

export function describeFailure(err: unknown, project: string, where: string): SourceError {
  const code = codeOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case CODE.PERMISSION_DENIED:
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

export function createGkeSource(opts: GkeSourceOptions): LogSource {
  if (opts.projects.length === 0) throw new ConfigError('gke-project', '--gke needs at least one project ID');
  opts.projects.forEach(validateProject);
  if (opts.cluster !== undefined) validateCluster(opts.cluster);
  const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new ConfigError('gke-page-size', `GKE page size must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  const logging = clientFor(opts);
  const scope = opts.cluster ?? opts.projects.join(',');
  const name = `gke:${scope}`;
  let lastNotices: CoverageNotice[] = [];

  /** One entries.list call, retried with backoff while the read quota is exhausted. */
  async function listPage(project: string, filter: string, size: number, pageToken: string | undefined, signal?: AbortSignal): Promise<RawPage> {
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
    return (resp[2] ?? {});
  }

  function auditRecordOfEntry(raw: unknown, origin: Origin): { outcome: ParseOutcome; dataAccess: boolean } {
    let json: Record<string, unknown>;
    try {
      json = logEntryToJson(raw);
    } catch (err) {
      const detail = err instanceof EntryDecodeError ? err.message : `unexpected: ${String(err)}`;
      return { outcome: rejected(origin, 'decode-failed', detail), dataAccess: false };
    }
    const insertId = typeof json['insertId'] === 'string' ? json['insertId'] : undefined;
    const at = insertId === undefined ? origin : { ...origin, recordId: insertId };
    const dataAccess = typeof json['logName'] === 'string' && DATA_ACCESS.test(json['logName']);
    return { outcome: parseGkeRecord(json, at, opts.cluster === undefined ? {} : { cluster: opts.cluster }), dataAccess };
  }

  /** True when the window holds at least one k8s.io Data Access entry of the project. */
  async function dataAccessSeen(input: GkeFilterInput, signal?: AbortSignal): Promise<boolean> {
    const filter = dataAccessProbeFilter(input);
    let token: string | undefined;
    // An empty page with a token only means the search ran out of time: follow a few of them.
    for (let i = 0; i < (opts.probePages ?? 5); i++) {
      const page = await listPage(input.project, filter, 1, token, signal);
      if ((page.entries ?? []).length > 0) return true;
      if (!page.nextPageToken) return false;
      token = page.nextPageToken;
    }
    return false;
  }

  async function* read(window: ScanWindow, options: ReadOptions): AsyncGenerator<SourcePage> {
    lastNotices = [];
    const span = `window [${window.from.toISOString()}, ${window.to.toISOString()})`;
    let page = 0;
    for (const project of opts.projects) {
      const input: GkeFilterInput = { project, window, ...(opts.cluster && { cluster: opts.cluster }), ...(opts.maxLatenessMs !== undefined && { maxLatenessMs: opts.maxLatenessMs }) };
      const filter = buildGkeFilter(input, options.needs);
      if (filter === undefined) continue;
      let token: string | undefined;
      let projectPages = 0;
      let entries = 0;
      let sawDataAccess = false;
      do {
        options.signal?.throwIfAborted();
        let raw: RawPage;
        try {
          raw = await listPage(project, filter, pageSize, token, options.signal);
        } catch (err) {
          throw describeFailure(err, project, `${span}, after ${projectPages} page(s) and ${entries} entries of this project; nothing of the window counts as read`);
        }
        page += 1;
        projectPages += 1;
        const outcomes: ParseOutcome[] = [];
        for (const [index, rawEntry] of (raw.entries ?? []).entries()) {
          const r = auditRecordOfEntry(rawEntry, { source: name, page, index });
          if (r.dataAccess) sawDataAccess = true;
          outcomes.push(r.outcome);
        }
        entries += outcomes.length;
        yield { outcomes, page };
        token = raw.nextPageToken ? raw.nextPageToken : undefined;
      } while (token !== undefined);
      if (sawDataAccess) continue;
      let seen: boolean;
      try {
        seen = await dataAccessSeen(input, options.signal);
      } catch (err) {
        throw describeFailure(err, project, `${span}, Data Access probe after the window's ${entries} entries`);
      }
      if (!seen) lastNotices.push(dataAccessNotice(project, opts.cluster, span));
    }
  }

  return {
    name,
    cloud: 'gke',
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
    read,
    notices: () => [...lastNotices],
  };
}

/** What the scan prints instead of a clean bill of health when Data Access logs are missing. */
export function dataAccessNotice(project: string, cluster: string | undefined, span: string): CoverageNotice {
  const where = cluster === undefined ? `project ${project}` : `cluster ${cluster} (project ${project})`;
  return {
    code: 'gke-data-access-off',
    message:
      `No Kubernetes Data Access audit entries for ${where} in ${span}: Secret and token reads ` +
      `(get/list/watch) are invisible, so secret-read rules cannot fire. Enable Data Access audit logs ` +
      `for the Kubernetes Engine API (container.googleapis.com) with ADMIN_READ, DATA_READ and DATA_WRITE: ` +
      `\`gcloud projects get-iam-policy ${project} --format=json > policy.json\`, add ` +
      `{"service":"container.googleapis.com","auditLogConfigs":[{"logType":"ADMIN_READ"},{"logType":"DATA_READ"},{"logType":"DATA_WRITE"}]} ` +
      `to "auditConfigs", then \`gcloud projects set-iam-policy ${project} policy.json\`; or in the console: ` +
      `IAM & Admin > Audit Logs > Kubernetes Engine API > Admin Read, Data Read, Data Write. Data Access logs are billed.`,
  };
}
