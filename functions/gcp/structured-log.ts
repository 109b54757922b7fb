import type { RunSummary, SourceRunSummary } from '../../core/scan/scan.js';

/**
 * One line of structured logging. Cloud Run functions send each JSON line written to stdout to
 * Cloud Logging, which lifts `severity`, `message`, `logging.googleapis.com/trace` and
 * `logging.googleapis.com/labels` into the LogEntry and keeps the rest as `jsonPayload`.
 */
export type LogEntry = { severity: 'INFO' | 'WARNING' | 'ERROR'; message: string } & Record<string, unknown>;
export type LogWriter = (entry: LogEntry) => void;

export const stdoutLog: LogWriter = (entry) => {
  process.stdout.write(`${JSON.stringify(entry)}\n`);
};

const TRACE_KEY = 'logging.googleapis.com/trace';
const LABELS_KEY = 'logging.googleapis.com/labels';

/** The request's trace, from Cloud Run's `X-Cloud-Trace-Context` or the W3C `traceparent`. */
export function traceOf(headers: Record<string, string | string[] | undefined>, project: string | undefined): string | undefined {
  if (project === undefined) return undefined;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const cloud = /^([0-9a-f]{32})\//i.exec(one(headers['x-cloud-trace-context']) ?? '');
  const w3c = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/i.exec(one(headers['traceparent']) ?? '');
  const id = cloud?.[1] ?? w3c?.[1];
  return id === undefined ? undefined : `projects/${project}/traces/${id}`;
}

function severityOf(s: SourceRunSummary): LogEntry['severity'] {
  if (s.status === 'failed' || s.status === 'undelivered') return 'ERROR';
  return s.warnings.length > 0 || s.notices.length > 0 ? 'WARNING' : 'INFO';
}

/** One line per source (its whole summary, so a log-based metric or alert can use any field), then one for the run. */
export function logRun(summary: RunSummary, log: LogWriter, context: { trace?: string; scheduler?: Record<string, string> }): void {
  const common = {
    runId: summary.runId,
    ...(context.scheduler === undefined ? {} : { scheduler: context.scheduler }),
    ...(context.trace === undefined ? {} : { [TRACE_KEY]: context.trace }),
  };
  for (const s of summary.sources) {
    const message = s.status === 'failed' ? 'source scan failed' : s.status === 'undelivered' ? 'alerts not delivered' : 'source scanned';
    log({ severity: severityOf(s), message, ...s, ...common, [LABELS_KEY]: { credwatch_source: s.source, credwatch_status: s.status } });
  }
  const sum = (f: (s: SourceRunSummary) => number) => summary.sources.reduce((a, s) => a + f(s), 0);
  log({
    severity: summary.ok ? 'INFO' : 'ERROR',
    message: 'scan run finished',
    ...common,
    ok: summary.ok,
    startedAt: summary.startedAt,
    finishedAt: summary.finishedAt,
    sourcesFailed: sum((s) => (s.status === 'failed' || s.status === 'undelivered' ? 1 : 0)),
    eventsScanned: sum((s) => s.events),
    findings: sum((s) => s.findings),
    alertsSent: sum((s) => s.alertsSent),
    alertsFailed: sum((s) => s.alertsFailed),
    duplicatesSuppressed: sum((s) => s.duplicatesSuppressed),
    [LABELS_KEY]: { credwatch_status: summary.ok ? 'ok' : 'failed' },
  });
}
