import type { Origin } from '../../core/model/event.js';
import { pushdownNotice, type Pushdown } from '../../core/model/filter-plan.js';
import type { ParseOutcome } from '../../core/model/parse-result.js';
import type { CoverageNotice, LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { createClient } from './client.js';
import { dataAccessProbeFilter, gkeFilter, scopeFilter, type GkeFilterInput } from './filter.js';
import { sourceName } from './name.js';
import { parseGkeRecord } from './parse.js';
import { decodeEntry, describeFailure, listPage, pullProject, pullSettings, type GkePullOptions } from './pull.js';

/**
 * Live GKE source: Kubernetes audit entries (Admin Activity + Data Access, `k8s.io`) from Cloud
 * Logging, read by adapters/gke/pull.ts, with the rules' needs pushed down (adapters/gke/filter.ts).
 */

export interface GkeSourceOptions extends GkePullOptions {
  /** Data Access probe: at most this many (possibly empty) pages are followed. */
  probePages?: number;
}

const DATA_ACCESS = /%2Fdata_access$/;

export function createGkeSource(opts: GkeSourceOptions): LogSource {
  const { pageSize } = pullSettings(opts, '--gke');
  const logging = createClient(opts);
  const name = sourceName(opts);
  let lastNotices: CoverageNotice[] = [];

  /** True when the window holds at least one k8s.io Data Access entry of the project. */
  async function dataAccessSeen(input: GkeFilterInput, signal?: AbortSignal): Promise<boolean> {
    const filter = dataAccessProbeFilter(input);
    let token: string | undefined;
    // An empty page with a token only means the search ran out of time: follow a few of them.
    for (let i = 0; i < (opts.probePages ?? 5); i++) {
      const page = await listPage(logging, opts, input.project, filter, 1, token, signal);
      if ((page.entries ?? []).length > 0) return true;
      if (!page.nextPageToken) return false;
      token = page.nextPageToken;
    }
    return false;
  }

  async function* read(window: ScanWindow, options: ReadOptions): AsyncGenerator<SourcePage> {
    lastNotices = [];
    const span = `window [${window.from.toISOString()}, ${window.to.toISOString()})`;
    const pushdowns: Array<Pushdown<string>> = [];
    let page = 0;
    try {
      for (const project of opts.projects) {
        const input: GkeFilterInput = { project, window, ...(opts.cluster && { cluster: opts.cluster }), ...(opts.maxLatenessMs !== undefined && { maxLatenessMs: opts.maxLatenessMs }) };
        const pushdown = gkeFilter(input, options.needs);
        pushdowns.push(pushdown);
        if (pushdown.kind === 'nothing') continue;
        const filter = pushdown.kind === 'filter' ? pushdown.filter : scopeFilter(input);
        let sawDataAccess = false;
        const outcomeOf = (raw: unknown, origin: Origin): ParseOutcome => {
          const entry = decodeEntry(raw, origin);
          if (!('json' in entry)) return entry;
          if (typeof entry.json['logName'] === 'string' && DATA_ACCESS.test(entry.json['logName'])) sawDataAccess = true;
          return parseGkeRecord(entry.json, entry.at, opts.cluster === undefined ? {} : { cluster: opts.cluster });
        };
        const pulled = yield* pullProject(logging, opts, { source: name, kind: 'audit', project, filter, window, pageSize, pageBefore: page, ...(options.signal === undefined ? {} : { signal: options.signal }) }, outcomeOf);
        page = pulled.page;
        if (sawDataAccess) continue;
        let seen: boolean;
        try {
          seen = await dataAccessSeen(input, options.signal);
        } catch (err) {
          throw describeFailure(err, { source: name, kind: 'audit', project, window, progress: `Data Access probe after the window's ${pulled.entries} entries` });
        }
        if (!seen) lastNotices.push(dataAccessNotice(project, opts.cluster, span));
      }
    } finally {
      const notice = pushdownNotice(name, pushdowns);
      if (notice !== undefined) lastNotices.push(notice);
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
