import { randomUUID } from 'node:crypto';
import { Engine, type EngineOptions } from './engine.js';
import { describeError } from './errors.js';
import { toAlert, type Finding } from './finding.js';
import { unionNeeds } from './needs.js';
import { outcomesOf, Pipeline, topRejections } from './pipeline.js';
import type { RejectionReason, SkipReason } from './parse-result.js';
import { DEFAULT_WINDOW_SETTINGS, planWindow, type WindowSettings } from './scan-window.js';
import { atLeast, type Severity } from './severity.js';
import type { AlertSink } from './sinks/sink.js';
import type { CoverageNotice, LogSource, ScanWindow } from './source.js';
import type { StateStore } from './state/store.js';

export interface ScanSettings extends WindowSettings {
  /** Findings below this are counted but not sent: medium and above page a person. */
  alertMinSeverity: Severity;
  /** A lease outlives the longest run (Lambda max 15 min) so a live run is never taken over. */
  leaseTtlMs: number;
  /** A claim whose run died is taken over after this; shorter than the schedule would risk double sends. */
  claimTtlMs: number;
  /** Sent-alert records outlive every window that can re-read their event (catch-up cap + overlap). */
  alertRetentionMs: number;
}

export const DEFAULT_SCAN_SETTINGS: ScanSettings = Object.freeze({
  ...DEFAULT_WINDOW_SETTINGS,
  alertMinSeverity: 'medium' as Severity,
  leaseTtlMs: 16 * 60_000,
  claimTtlMs: 16 * 60_000,
  alertRetentionMs: 48 * 60 * 60_000,
});

export type SourceStatus = 'ok' | 'failed' | 'locked' | 'up-to-date' | 'undelivered';

export interface SourceRunSummary {
  source: string;
  cloud: string;
  cluster?: string;
  status: SourceStatus;
  window?: { from: string; to: string };
  skippedWindow?: { from: string; to: string };
  records: number;
  events: number;
  skipped: Partial<Record<SkipReason, number>>;
  rejected: Partial<Record<RejectionReason, number>>;
  ruleErrors: number;
  findings: number;
  alertsSent: number;
  duplicatesSuppressed: number;
  alertsFailed: number;
  /** Alerts another live run is sending; the checkpoint waits for them. */
  alertsInFlight: number;
  belowAlertSeverity: number;
  checkpointAdvanced: boolean;
  notices: CoverageNotice[];
  warnings: string[];
  error?: string;
}

export interface RunSummary {
  runId: string;
  startedAt: string;
  finishedAt: string;
  sources: SourceRunSummary[];
  /** True when every source was read and every alert delivered (locked/up-to-date count as fine). */
  ok: boolean;
}

export interface ScanDeps {
  sources: readonly LogSource[];
  engine: Omit<EngineOptions, 'seenKeys'>;
  store: StateStore;
  sink: AlertSink;
  settings?: Partial<ScanSettings>;
  clock?: () => Date;
  runId?: string;
  /** Called for each finding as it is decided (logging, the CLI's table). */
  onFinding?: (finding: Finding, delivery: 'sent' | 'duplicate' | 'failed' | 'in-flight' | 'below-threshold') => void;
}

/**
 * One scheduled scan over every source (docs/architecture.md "Scheduled scans"). Each source is independent: its own
 * lease, window, engine and checkpoint; one that fails is reported and the others still run.
 * The checkpoint advances only when the whole window was read and every alert was delivered.
 */
export async function runScan(deps: ScanDeps): Promise<RunSummary> {
  const clock = deps.clock ?? (() => new Date());
  const settings: ScanSettings = { ...DEFAULT_SCAN_SETTINGS, ...deps.settings };
  const runId = deps.runId ?? randomUUID();
  const startedAt = clock().toISOString();
  const summaries: SourceRunSummary[] = [];
  // One source at a time: the cloud read quotas are per account/project, and memory stays flat.
  for (const source of deps.sources) {
    summaries.push(await scanSource(source, deps, settings, runId, clock));
  }
  return {
    runId,
    startedAt,
    finishedAt: clock().toISOString(),
    sources: summaries,
    ok: summaries.every((s) => s.status === 'ok' || s.status === 'locked' || s.status === 'up-to-date'),
  };
}

function emptySummary(source: LogSource): SourceRunSummary {
  return {
    source: source.name,
    cloud: source.cloud,
    ...(source.cluster === undefined ? {} : { cluster: source.cluster }),
    status: 'ok',
    records: 0,
    events: 0,
    skipped: {},
    rejected: {},
    ruleErrors: 0,
    findings: 0,
    alertsSent: 0,
    duplicatesSuppressed: 0,
    alertsFailed: 0,
    alertsInFlight: 0,
    belowAlertSeverity: 0,
    checkpointAdvanced: false,
    notices: [],
    warnings: [],
  };
}

const iso = (w: ScanWindow) => ({ from: w.from.toISOString(), to: w.to.toISOString() });

async function scanSource(
  source: LogSource,
  deps: ScanDeps,
  settings: ScanSettings,
  runId: string,
  clock: () => Date,
): Promise<SourceRunSummary> {
  const summary = emptySummary(source);
  const { store } = deps;
  try {
    if (!(await store.acquireLease(source.name, runId, clock(), settings.leaseTtlMs))) {
      summary.status = 'locked';
      summary.warnings.push(`another run holds the lease on ${source.name}; it scans this source now`);
      return summary;
    }
  } catch (err) {
    return failed(summary, `state store: ${describeError(err)}`);
  }
  try {
    const checkpoint = await store.readCheckpoint(source.name);
    const plan = planWindow(checkpoint, clock(), settings);
    if (plan === undefined) {
      summary.status = 'up-to-date';
      return summary;
    }
    summary.window = iso(plan.window);
    if (plan.skipped !== undefined) {
      summary.skippedWindow = iso(plan.skipped);
      summary.warnings.push(
        `catch-up capped at ${settings.maxCatchUpMs / 3_600_000} h: records ingested from ${summary.skippedWindow.from} to ${summary.skippedWindow.to} were NOT scanned; scan them with \`credwatch scan\` and an explicit --from/--to`,
      );
    }
    if (plan.firstRun) {
      // Anchor the timeline before reading: if this first run fails, the next one starts from
      // here instead of looking back its own 6 minutes and leaving this window unread.
      await store.writeCheckpoint(source.name, { to: plan.window.from.toISOString(), updatedAt: clock().toISOString(), runId });
    }
    const findings = await readWindow(source, plan.window, deps, summary);
    if (findings === undefined) return summary;
    await deliver(findings, deps, settings, runId, clock, summary);
    if (summary.alertsFailed > 0 || summary.alertsInFlight > 0) {
      summary.status = summary.alertsFailed > 0 ? 'undelivered' : 'ok';
      summary.warnings.push('checkpoint kept: the next run re-reads this window and delivers what is still pending');
      return summary;
    }
    await store.writeCheckpoint(source.name, { to: plan.window.to.toISOString(), updatedAt: clock().toISOString(), runId });
    summary.checkpointAdvanced = true;
    return summary;
  } catch (err) {
    return failed(summary, describeError(err));
  } finally {
    await store.releaseLease(source.name, runId).catch((err: unknown) => {
      summary.warnings.push(`could not release the lease (it expires by itself): ${describeError(err)}`);
    });
  }
}

function failed(summary: SourceRunSummary, error: string): SourceRunSummary {
  summary.status = 'failed';
  summary.error = error;
  return summary;
}

/** Reads the whole window; on a source error the partial read is discarded (never half-counted). */
async function readWindow(
  source: LogSource,
  window: ScanWindow,
  deps: ScanDeps,
  summary: SourceRunSummary,
): Promise<Finding[] | undefined> {
  const findings: Finding[] = [];
  const pipeline = new Pipeline({ engine: new Engine(deps.engine), onFinding: (f) => void findings.push(f) });
  try {
    // The pipeline also emits, at the end, runtime findings still waiting for a pods/exec.
    await pipeline.consume(outcomesOf(source.read(window, { needs: unionNeeds(deps.engine.rules) })));
  } catch (err) {
    failed(summary, `${source.name}: reading ${window.from.toISOString()} to ${window.to.toISOString()} failed, the window is retried by the next run: ${describeError(err)}`);
    summary.notices.push(...(source.notices?.() ?? []));
    return undefined;
  }
  const t = pipeline.tally();
  summary.records = t.records;
  summary.events = t.events;
  summary.skipped = t.skipped.byReason;
  for (const [reason, r] of topRejections(t, Number.POSITIVE_INFINITY)) {
    summary.rejected[reason] = r.count;
    for (const ex of r.examples) summary.warnings.push(`rejected ${reason} at ${ex.where}: ${ex.detail}`);
  }
  summary.ruleErrors = t.ruleErrors.total;
  for (const e of t.ruleErrors.examples) summary.warnings.push(`rule ${e.rule} failed on event ${e.eventId}: ${e.cause}`);
  summary.findings = findings.length;
  summary.notices.push(...(source.notices?.() ?? []));
  return findings;
}

async function deliver(
  findings: readonly Finding[],
  deps: ScanDeps,
  settings: ScanSettings,
  runId: string,
  clock: () => Date,
  summary: SourceRunSummary,
): Promise<void> {
  for (const finding of findings) {
    if (!atLeast(finding.severity, settings.alertMinSeverity)) {
      summary.belowAlertSeverity++;
      deps.onFinding?.(finding, 'below-threshold');
      continue;
    }
    const claim = await deps.store.claimAlert(finding.key, runId, clock(), settings.claimTtlMs);
    if (claim === 'sent') {
      summary.duplicatesSuppressed++;
      deps.onFinding?.(finding, 'duplicate');
      continue;
    }
    if (claim === 'busy') {
      summary.alertsInFlight++;
      deps.onFinding?.(finding, 'in-flight');
      continue;
    }
    try {
      await deps.sink.send(toAlert(finding));
    } catch (err) {
      summary.alertsFailed++;
      summary.warnings.push(`alert ${finding.key} (${finding.rule}) not delivered to ${deps.sink.name}: ${describeError(err)}`);
      deps.onFinding?.(finding, 'failed');
      await deps.store.abandonAlert(finding.key, runId).catch(() => undefined);
      continue;
    }
    // If we die before this write, the claim expires and the next run re-sends the same alert id.
    await deps.store.completeAlert(finding.key, runId, clock(), settings.alertRetentionMs);
    summary.alertsSent++;
    deps.onFinding?.(finding, 'sent');
  }
}
