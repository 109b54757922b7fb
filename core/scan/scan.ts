import { randomUUID } from 'node:crypto';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { describeError } from '../model/errors.js';
import { toAlert, type Alert, type Finding } from '../model/finding.js';
import { unionNeeds } from '../model/needs.js';
import { outcomesOf, Pipeline, prepareFor, topRejections } from '../engine/pipeline.js';
import type { RejectionReason, SkipReason } from '../model/parse-result.js';
import { DEFAULT_WINDOW_SETTINGS, planWindow, type WindowSettings } from './window.js';
import { atLeast, type Severity } from '../model/severity.js';
import type { AlertSink } from './sinks/sink.js';
import type { CoverageNotice, LogSource, ScanWindow } from '../model/source.js';
import { StateError } from '../model/errors.js';
import {
  alertText,
  decodeCorrelation,
  DEFAULT_CORRELATION_BUDGET_BYTES,
  emptyCorrelation,
  encodeCorrelation,
  type CarriedEvent,
  type CorrelationState,
  type PendingAlert,
} from '../engine/carried-events.js';
import type { Checkpoint, StateStore } from './state/store.js';

export interface ScanSettings extends WindowSettings {
  /** Findings below this are counted but not sent: medium and above page a person. */
  alertMinSeverity: Severity;
  /**
   * The run's own time limit: its lease (and its alert claims) expire with it, so a killed run
   * blocks its source no longer than it could have run. The Lambda passes its remaining time;
   * `watch` its interval. A run still going past it does not commit (another may have taken over).
   */
  leaseTtlMs: number;
  /** A claim whose run died is taken over after this; shorter than the schedule would risk double sends. */
  claimTtlMs: number;
  /** Sent-alert records outlive every window that can re-read their event (catch-up cap + overlap). */
  alertRetentionMs: number;
  /** Bytes (compressed) of correlation state kept per source between runs. */
  correlationBudgetBytes: number;
  /** An alert the sink refused is retried by this many runs in all, then given up (and reported). */
  maxDeliveryAttempts: number;
}

export const DEFAULT_SCAN_SETTINGS: ScanSettings = Object.freeze({
  ...DEFAULT_WINDOW_SETTINGS,
  alertMinSeverity: 'medium',
  // Lambda's timeout in the stack is 4 minutes; the schedule is 5.
  leaseTtlMs: 5 * 60_000,
  claimTtlMs: 5 * 60_000,
  alertRetentionMs: 48 * 60 * 60_000,
  correlationBudgetBytes: DEFAULT_CORRELATION_BUDGET_BYTES,
  maxDeliveryAttempts: 12,
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
  /** Alerts another live run is sending; kept as pending, so the next run sees they were sent. */
  alertsInFlight: number;
  /** Alerts not delivered in this run, kept in state for the next runs (the checkpoint still advances). */
  alertsSetAside: number;
  /** Alerts given up on after `maxDeliveryAttempts` runs (each named in `warnings`). */
  alertsAbandoned: number;
  belowAlertSeverity: number;
  checkpointAdvanced: boolean;
  /** What this run carried in from earlier runs and hands to the next one. */
  correlation: { carriedIn: number; carriedOut: number; bytes: number; dropped: number; skippedAsJudged: number };
  /** Named counts for monitoring (the Lambda publishes them as metrics). */
  metrics: Record<string, number>;
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

export interface ScheduledScanDeps {
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
export async function runScheduledScan(deps: ScheduledScanDeps): Promise<RunSummary> {
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
    alertsSetAside: 0,
    alertsAbandoned: 0,
    belowAlertSeverity: 0,
    checkpointAdvanced: false,
    correlation: { carriedIn: 0, carriedOut: 0, bytes: 0, dropped: 0, skippedAsJudged: 0 },
    metrics: {},
    notices: [],
    warnings: [],
  };
}

const windowIso = (w: ScanWindow) => ({ from: w.from.toISOString(), to: w.to.toISOString() });

async function scanSource(
  source: LogSource,
  deps: ScheduledScanDeps,
  settings: ScanSettings,
  runId: string,
  clock: () => Date,
): Promise<SourceRunSummary> {
  const summary = emptySummary(source);
  const { store } = deps;
  const leaseStart = clock().getTime();
  const onInvalidLease = (why: string) => {
    summary.warnings.push(why);
    count(summary, 'LeaseTakenOver');
  };
  try {
    if (!(await store.acquireLease(source.name, runId, clock(), settings.leaseTtlMs, onInvalidLease))) {
      summary.status = 'locked';
      summary.warnings.push(`another run holds the lease on ${source.name}; it scans this source now`);
      return summary;
    }
  } catch (err) {
    return failed(summary, `state store: ${describeError(err)}`);
  }
  try {
    const loaded = await loadState(source, store, clock(), summary);
    const plan = planWindow(loaded.checkpoint, clock(), settings);
    if (plan === undefined) {
      summary.status = 'up-to-date';
      return summary;
    }
    summary.window = windowIso(plan.window);
    if (plan.skipped !== undefined) {
      summary.skippedWindow = windowIso(plan.skipped);
      summary.warnings.push(
        `catch-up capped at ${settings.maxCatchUpMs / 3_600_000} h: records ingested from ${summary.skippedWindow.from} to ${summary.skippedWindow.to} were NOT scanned; scan them with \`credwatch scan\` and an explicit --from/--to`,
      );
    }
    let seq = loaded.seq;
    if (plan.firstRun || loaded.clamped) {
      // Anchor the timeline before reading: if this first run fails, the next one starts from
      // here instead of looking back its own 6 minutes and leaving this window unread. A clamped
      // future checkpoint is replaced now, so no later run is blinded by it either.
      const anchor: Checkpoint = { to: plan.window.from.toISOString(), updatedAt: clock().toISOString(), runId, seq: (seq ?? 0) + 1 };
      if (loaded.correlation !== undefined) anchor.correlation = loaded.correlation;
      if (!(await store.writeCheckpoint(source.name, anchor, loaded.unconditional ? undefined : { seq }))) return lostRace(summary, source);
      seq = anchor.seq;
    }
    const state = loaded.state;
    summary.correlation.carriedIn = state.events.length;
    const read = await readWindow(source, plan.window, deps, summary, state.events, runId);
    if (read === undefined) return summary;
    const report = source.readReport?.();
    if (report !== undefined) {
      Object.assign(summary.metrics, report.metrics);
      summary.warnings.push(...report.warnings);
    }
    const delivery: DeliveryRun = { deps, settings, runId, clock, summary };
    const pending = await retryPending(state.pending, delivery);
    const pendingKeys = new Set(pending.map((p) => p.key));
    pending.push(...(await deliver(read.findings.filter((f) => !pendingKeys.has(f.key)), delivery)));
    // Past its lease another run may have taken the source over: commit only if the lease is still ours to renew.
    if (clock().getTime() - leaseStart > settings.leaseTtlMs && !(await store.acquireLease(source.name, runId, clock(), settings.leaseTtlMs, onInvalidLease))) {
      summary.status = 'failed';
      summary.error = `the run outlived its lease (${settings.leaseTtlMs / 1000}s) on ${source.name} and another run took the source over; nothing committed, the next run re-reads this window (alerts already sent are not sent again)`;
      return summary;
    }
    const next: CorrelationState = { ...emptyCorrelation(), savedAt: clock().toISOString(), events: read.carry, pending };
    const encoded = encodeCorrelation(next, settings.correlationBudgetBytes);
    summary.correlation.carriedOut = read.carry.length - encoded.droppedEvents;
    summary.correlation.bytes = encoded.bytes.length;
    summary.correlation.dropped = encoded.droppedEvents;
    summary.metrics['CorrelationStateBytes'] = encoded.bytes.length;
    summary.metrics['HistoryBytes'] = read.historyBytes;
    if (encoded.droppedEvents > 0) {
      count(summary, 'CorrelationEventsDropped', encoded.droppedEvents);
      summary.warnings.push(
        `correlation state of ${source.name} over its ${settings.correlationBudgetBytes} byte budget: the ${encoded.droppedEvents} oldest kept events were dropped (slow attacks spanning them may be missed); raise correlationBudgetBytes only where the store allows it`,
      );
    }
    if (encoded.droppedPending > 0) {
      count(summary, 'AlertsAbandoned', encoded.droppedPending);
      summary.alertsAbandoned += encoded.droppedPending;
      summary.warnings.push(`${encoded.droppedPending} undelivered alerts did not fit in the state budget and were given up`);
    }
    const cp: Checkpoint = { to: plan.window.to.toISOString(), updatedAt: clock().toISOString(), runId, seq: (seq ?? 0) + 1, correlation: encoded.bytes };
    if (!(await store.writeCheckpoint(source.name, cp, { seq }))) return lostRace(summary, source);
    summary.checkpointAdvanced = true;
    if (summary.alertsSetAside > 0 || summary.alertsAbandoned > 0) summary.status = 'undelivered';
    return summary;
  } catch (err) {
    return failed(summary, describeError(err));
  } finally {
    await store.releaseLease(source.name, runId).catch((err: unknown) => {
      summary.warnings.push(`could not release the lease (it expires by itself): ${describeError(err)}`);
    });
  }
}

function count(summary: SourceRunSummary, metric: string, n = 1): void {
  summary.metrics[metric] = (summary.metrics[metric] ?? 0) + n;
}

function lostRace(summary: SourceRunSummary, source: LogSource): SourceRunSummary {
  count(summary, 'CheckpointConflicts');
  return failed(
    summary,
    `another run committed ${source.name}'s checkpoint while this one ran (its lease had expired): this run's checkpoint and correlation state were not written, so neither is forked; the next run continues from the other's`,
  );
}

interface LoadedState {
  checkpoint: Checkpoint | undefined;
  seq: number | undefined;
  state: CorrelationState;
  /** The stored blob, re-saved as is by an anchor write. */
  correlation?: Uint8Array;
  /** A future checkpoint was clamped to now. */
  clamped: boolean;
  /** The stored checkpoint was garbage: replaced without a sequence condition. */
  unconditional: boolean;
}

/**
 * The checkpoint and correlation state, validated: a checkpoint in the future is clamped to now
 * (a bad clock or a hand edit would otherwise make every later run "up-to-date"), a garbage one
 * is reported with its file or item named and the source starts over as on a first run, and an
 * unreadable correlation blob is reported and ignored.
 */
async function loadState(source: LogSource, store: StateStore, now: Date, summary: SourceRunSummary): Promise<LoadedState> {
  let checkpoint: Checkpoint | undefined;
  try {
    checkpoint = await store.readCheckpoint(source.name);
  } catch (err) {
    if (!(err instanceof StateError) || err.code !== 'checkpoint-invalid') throw err;
    count(summary, 'CheckpointInvalid');
    summary.warnings.push(`${err.message} This run starts ${source.name} over as a first run.`);
    return { checkpoint: undefined, seq: undefined, state: emptyCorrelation(), clamped: false, unconditional: true };
  }
  if (checkpoint === undefined) return { checkpoint, seq: undefined, state: emptyCorrelation(), clamped: false, unconditional: false };
  let state = emptyCorrelation();
  if (checkpoint.correlation !== undefined) {
    try {
      state = decodeCorrelation(checkpoint.correlation, `${store.kind} state of ${source.name}`);
    } catch (err) {
      count(summary, 'CorrelationStateInvalid');
      summary.warnings.push(describeError(err));
    }
  }
  let clamped = false;
  const to = Date.parse(checkpoint.to);
  if (to > now.getTime()) {
    clamped = true;
    count(summary, 'CheckpointClamped');
    summary.warnings.push(
      `the checkpoint of ${source.name} (${checkpoint.to}) is in the future (a clock that ran ahead, or a hand edit): clamped to now, ${now.toISOString()}; records ingested between then and the bad value are read now`,
    );
    checkpoint = { ...checkpoint, to: now.toISOString() };
  }
  return { checkpoint, seq: checkpoint.seq, state, ...(checkpoint.correlation === undefined ? {} : { correlation: checkpoint.correlation }), clamped, unconditional: false };
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
  deps: ScheduledScanDeps,
  summary: SourceRunSummary,
  carried: readonly CarriedEvent[],
  runId: string,
): Promise<{ findings: Finding[]; carry: CarriedEvent[]; historyBytes: number } | undefined> {
  const findings: Finding[] = [];
  await prepareFor(carried.map((c) => c.event));
  const engine = new Engine({ ...deps.engine, carried });
  const pipeline = new Pipeline({ engine, onFinding: (f) => void findings.push(f) });
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
  summary.correlation.skippedAsJudged = engine.carriedSkipped;
  summary.notices.push(...(source.notices?.() ?? []));
  return { findings, carry: engine.carry(window.to.getTime(), runId), historyBytes: engine.historyBytes };
}

/** What delivering this run's alerts reads and counts into. */
interface DeliveryRun {
  deps: ScheduledScanDeps;
  settings: ScanSettings;
  runId: string;
  clock: () => Date;
  summary: SourceRunSummary;
}

/**
 * Sends each finding at or above the alert severity, once across runs (the store's claims). One
 * the sink refuses, or another live run is sending, is returned as pending: it is kept in the
 * source's state and retried by the next runs, and the checkpoint still advances, so one alert
 * that cannot be delivered never holds the whole timeline back.
 */
async function deliver(findings: readonly Finding[], run: DeliveryRun): Promise<PendingAlert[]> {
  const { deps, settings, runId, clock, summary } = run;
  const pending: PendingAlert[] = [];
  for (const finding of findings) {
    if (!atLeast(finding.severity, settings.alertMinSeverity)) {
      summary.belowAlertSeverity++;
      deps.onFinding?.(finding, 'below-threshold');
      continue;
    }
    let alert: Alert | undefined;
    const setAside = (why: string, attempts: number): void => {
      alert ??= toAlert(finding);
      const { text, reduced } = alertText(alert);
      if (reduced !== undefined) summary.warnings.push(`alert ${finding.key} (${finding.rule}) does not serialise (${reduced}): kept in reduced form, without its facts`);
      pending.push({ alert: text, key: finding.key, rule: finding.rule, attempts, firstFailedAt: clock().toISOString(), lastError: why });
    };
    const claim = await deps.store.claimAlert(finding.key, runId, clock(), settings.claimTtlMs);
    if (claim === 'sent') {
      summary.duplicatesSuppressed++;
      deps.onFinding?.(finding, 'duplicate');
      continue;
    }
    if (claim === 'busy') {
      summary.alertsInFlight++;
      deps.onFinding?.(finding, 'in-flight');
      // The next run checks that the other run finished it; an attempt is not spent.
      setAside('another run was sending it', 0);
      continue;
    }
    try {
      alert = toAlert(finding);
      await deps.sink.send(alert);
    } catch (err) {
      summary.alertsFailed++;
      summary.alertsSetAside++;
      count(summary, 'AlertsSetAside');
      summary.warnings.push(`alert ${finding.key} (${finding.rule}) not delivered to ${deps.sink.name}: ${describeError(err)}; set aside, the next runs retry it (at most ${settings.maxDeliveryAttempts} attempts)`);
      deps.onFinding?.(finding, 'failed');
      await deps.store.abandonAlert(finding.key, runId).catch(() => undefined);
      setAside(describeError(err), 1);
      continue;
    }
    // If we die before this write, the claim expires and the next run re-sends the same alert id.
    await deps.store.completeAlert(finding.key, runId, clock(), settings.alertRetentionMs);
    summary.alertsSent++;
    deps.onFinding?.(finding, 'sent');
  }
  return pending;
}

/** Alerts earlier runs set aside: sent now if nobody else did, kept for later, or given up after the last attempt. */
async function retryPending(pending: readonly PendingAlert[], run: DeliveryRun): Promise<PendingAlert[]> {
  const { deps, settings, runId, clock, summary } = run;
  const still: PendingAlert[] = [];
  for (const p of pending) {
    const claim = await deps.store.claimAlert(p.key, runId, clock(), settings.claimTtlMs);
    if (claim === 'sent') continue; // another run delivered it
    if (claim === 'busy') {
      still.push(p);
      continue;
    }
    try {
      await deps.sink.send(JSON.parse(p.alert) as Alert);
    } catch (err) {
      await deps.store.abandonAlert(p.key, runId).catch(() => undefined);
      const attempts = p.attempts + 1;
      summary.alertsFailed++;
      if (attempts >= settings.maxDeliveryAttempts) {
        summary.alertsAbandoned++;
        count(summary, 'AlertsAbandoned');
        summary.warnings.push(
          `alert ${p.key} (${p.rule}) given up after ${attempts} attempts since ${p.firstFailedAt}: ${describeError(err)}; the alert was: ${p.alert.length > 2_000 ? `${p.alert.slice(0, 2_000)}…` : p.alert}`,
        );
        continue;
      }
      summary.alertsSetAside++;
      count(summary, 'AlertsSetAside');
      summary.warnings.push(`alert ${p.key} (${p.rule}) still not delivered (attempt ${attempts} of ${settings.maxDeliveryAttempts}): ${describeError(err)}`);
      still.push({ ...p, attempts, lastError: describeError(err) });
      continue;
    }
    await deps.store.completeAlert(p.key, runId, clock(), settings.alertRetentionMs);
    summary.alertsSent++;
    count(summary, 'AlertsRetriedSent');
  }
  return still;
}
