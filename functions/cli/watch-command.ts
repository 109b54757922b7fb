import { resolve } from 'node:path';
import { CredwatchError, describeError } from '../../core/model/errors.js';
import type { Alert } from '../../core/model/finding.js';
import { runScheduledScan, type RunSummary, type SourceRunSummary } from '../../core/scan/scan.js';
import type { Severity } from '../../core/model/severity.js';
import type { AlertSink } from '../../core/scan/sinks/sink.js';
import { JsonLinesSink } from '../../core/scan/sinks/stream-sink.js';
import { GroupPrinter } from './findings-table.js';
import { FIRST_PAGE_TIMEOUT_MS, guardedSource } from './live-read.js';
import { describeSourceFailure, type Cloud } from './source-failure.js';
import { terminalStyle } from './terminal.js';
import type { LogSource } from '../../core/model/source.js';
import { FileStateStore } from '../../core/scan/state/file-store.js';
import { MemoryStateStore } from '../../core/scan/state/memory-store.js';
import type { StateStore } from '../../core/scan/state/store.js';
import type { ScanWindow } from '../../core/model/source.js';
import { defaultConfig, loadConfigFile } from './config-file.js';
import { planLiveSources, type LiveFlags, type PlannedSource } from './live-sources.js';
import type { OutputFormat, ScanCommandDeps } from './scan-command.js';
import { EXIT_OK, EXIT_USAGE } from './scan-command.js';
import { parseDuration, resolveWindow, selectRules } from './scan-options.js';
import type { CliIo } from './types.js';

export interface WatchRequest {
  live: LiveFlags;
  every: string;
  lookback: string;
  state: string;
  format: OutputFormat;
  minSeverity: Severity;
  rules?: string;
  config?: string;
  /** Stop after this many runs (default: until interrupted). */
  runs?: number;
  noColor?: boolean;
  /** How long a live source may take to return its first page. */
  timeoutMs?: number;
  /**
   * Replay: run the scheduled scans over this past period, one every `every`, on a simulated
   * clock (no sleeping). Both or neither.
   */
  from?: string;
  to?: string;
  /** Replay only: the state file was named on the command line (else replay keeps state in memory). */
  stateGiven?: boolean;
}

export interface WatchDeps extends ScanCommandDeps {
  /** Waits between runs; resolves early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
}

/** The table layout of `scan`, one request group at a time (printed when the next starts or the run ends). */
class AlertTableSink implements AlertSink {
  readonly name = 'terminal';
  constructor(private readonly printer: GroupPrinter) {}
  async send(a: Alert): Promise<void> {
    this.printer.add(a);
  }
}

function sourceLine(s: SourceRunSummary): string {
  const window = s.window === undefined ? '' : ` ${s.window.from} → ${s.window.to}`;
  const base = `credwatch watch: ${s.source} ${s.status}${window}: ${s.events} events, ${s.findings} findings, ${s.alertsSent} alerts sent, ${s.duplicatesSuppressed} duplicates suppressed`;
  const extra = [s.error, ...s.warnings, ...s.notices.map((n) => `coverage: ${n.message}`)].filter((x) => x !== undefined);
  return [base, ...extra.map((x) => `  ${x}`)].join('\n') + '\n';
}

/**
 * `credwatch watch`: the scheduled scan of the Lambda / Cloud Function, run locally on a timer
 * with the file state store. Each run reads what was ingested since the last one; alerts are
 * printed once, across runs and restarts, because the state file remembers them.
 */
export async function runWatch(req: WatchRequest, io: CliIo, deps: WatchDeps): Promise<number> {
  let setup;
  let pending: PlannedSource[] = [];
  try {
    const rules = selectRules(deps.rules, req.rules);
    const planned = planLiveSources(req.live, io.env);
    if (planned.length === 0) throw new CredwatchError('no-source', 'watch needs a live source: --eks, --aks or --gke (for files, use `credwatch scan`).');
    const everyMs = parseDuration('--every', req.every);
    if (everyMs < 10_000) throw new CredwatchError('invalid-duration', '--every must be at least 10s: the log services count every read against a quota.');
    const lookbackMs = parseDuration('--lookback', req.lookback);
    const replay = replayWindow(req, deps.now());
    const config = req.config === undefined ? defaultConfig() : await loadConfigFile(req.config, rules);
    setup = { rules, everyMs, lookbackMs, config, replay };
    pending = planned;
  } catch (err) {
    if (err instanceof CredwatchError) {
      io.stderr.write(`credwatch: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const { replay } = setup;
  // A replay must not move the live watch's checkpoints: its state stays in memory unless a file is named.
  const store: StateStore = replay !== undefined && req.stateGiven !== true ? new MemoryStateStore() : new FileStateStore(resolve(req.state));
  // Replay: the scheduled runs' times, from one interval after --from to --to; the clock is simulated.
  let simulated = replay === undefined ? undefined : Math.min(replay.from.getTime() + setup.everyMs, replay.to.getTime());
  const clock = simulated === undefined ? deps.now : () => new Date(simulated!);
  let allOk = true;
  let runsDone = 0;
  let alerts = 0;
  const style = terminalStyle(io.stdout as { isTTY?: boolean; columns?: number }, io.env, req.noColor === true);
  const printer = new GroupPrinter((t) => void io.stdout.write(t), { style, ruleWidth: Math.max(4, ...setup.rules.map((r) => r.id.length)), clusterWidth: 0 });
  const sink: AlertSink = req.format === 'jsonl' ? new JsonLinesSink('stdout', io.stdout) : new AlertTableSink(printer);
  const sources: LogSource[] = [];
  let last: RunSummary | undefined;
  for (let run = 1; req.runs === undefined || run <= req.runs; run++) {
    // A source that cannot start (no credentials, an unreachable endpoint) is reported and tried
    // again next run; the others run meanwhile. With none started on the first run, watch stops.
    const failedToStart: PlannedSource[] = [];
    for (const plan of pending) {
      const cloud = plan.label.split(/[-:]/)[0] as Cloud;
      try {
        const source = await plan.create(deps.sources);
        sources.push(guardedSource(source, { cloud, label: plan.label, firstPageTimeoutMs: req.timeoutMs ?? FIRST_PAGE_TIMEOUT_MS }));
      } catch (err) {
        failedToStart.push(plan);
        const message = err instanceof CredwatchError ? err.message : describeSourceFailure(err, cloud, plan.label);
        io.stderr.write(`credwatch watch: ${plan.label} FAILED to start: ${message}${run === 1 && req.runs !== 1 ? ' (retried next run)' : ''}\n`);
      }
    }
    pending = failedToStart;
    if (sources.length === 0) {
      if (run === 1) return EXIT_USAGE;
    }
    try {
      last = await runScheduledScan({
        sources,
        engine: { rules: setup.rules, ruleOptions: setup.config.ruleOptions, identities: setup.config.identities },
        store,
        sink,
        // A run's lease expires with the interval: a killed watch blocks its sources one interval at most.
        settings: { firstRunLookbackMs: setup.lookbackMs, alertMinSeverity: req.minSeverity, leaseTtlMs: setup.everyMs, claimTtlMs: setup.everyMs },
        clock,
      });
      printer.flush();
      runsDone++;
      allOk &&= last.ok;
      alerts += last.sources.reduce((n, s) => n + s.alertsSent, 0);
      for (const s of last.sources) io.stderr.write(sourceLine(s));
      if (pending.length > 0) last = { ...last, ok: false };
    } catch (err) {
      // The state file itself failed: nothing can be remembered, so stop rather than re-alert.
      io.stderr.write(`credwatch watch: ${describeError(err)}\n`);
      return EXIT_USAGE;
    }
    if (deps.signal.aborted || (req.runs !== undefined && run >= req.runs)) break;
    if (simulated !== undefined && replay !== undefined) {
      if (simulated >= replay.to.getTime()) break;
      simulated = Math.min(simulated + setup.everyMs, replay.to.getTime());
      continue;
    }
    await deps.sleep(setup.everyMs, deps.signal);
    if (deps.signal.aborted) break;
  }
  if (replay !== undefined) {
    io.stderr.write(`credwatch watch: replayed ${runsDone} runs every ${req.every} from ${replay.from.toISOString()} to ${replay.to.toISOString()}: ${alerts} alerts\n`);
    return allOk && pending.length === 0 ? EXIT_OK : EXIT_USAGE;
  }
  return last === undefined || last.ok ? EXIT_OK : EXIT_USAGE;
}

/** The replayed period, or undefined for a live watch; a period that is not in the past is refused. */
function replayWindow(req: WatchRequest, now: Date): ScanWindow | undefined {
  if (req.from === undefined && req.to === undefined) return undefined;
  if (req.from === undefined || req.to === undefined) {
    throw new CredwatchError('invalid-window', 'watch --from and --to go together: they name the past period to replay.');
  }
  const window = resolveWindow({ from: req.from, to: req.to }, now);
  if (window.to.getTime() > now.getTime()) {
    throw new CredwatchError('invalid-window', `watch --to ${window.to.toISOString()} is in the future: a replay covers a past period (drop --from/--to to watch live).`);
  }
  return window;
}
