import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { compilePrefilter } from '../../adapters/file/prefilter.js';
import { Engine } from '../../core/engine/engine.js';
import { CredwatchError, describeError } from '../../core/model/errors.js';
import { toAlert, type Alert, type Finding } from '../../core/model/finding.js';
import { unionNeeds } from '../../core/model/needs.js';
import { recordsOf, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { outcomesOf, Pipeline } from '../../core/engine/pipeline.js';
import type { AnyRule } from '../../core/model/rule.js';
import { atLeast, type Severity } from '../../core/model/severity.js';
import type { CoverageNotice } from '../../core/model/source.js';
import { defaultConfig, loadConfigFile } from './config-file.js';
import { FIRST_PAGE_TIMEOUT_MS, guardedSource } from './live-read.js';
import { planLiveSources, type LiveFlags, type SourceFactories } from './live-sources.js';
// The progress bars and the findings table (and the text-width libraries they load) are imported
// only when a terminal shows them: a scan writing JSON lines starts without them (docs/cli.md).
import type { ByteProgress } from './progress.js';
import { formatSummary, inputVerdicts, type InputTally } from './summary.js';
import { resolveWindow, selectRules, type WindowFlags } from './scan-options.js';
import { describeSourceFailure, type Cloud } from './source-failure.js';
import { terminalStyle } from './terminal.js';
import type { CliIo, InputProgressLike, InputReader } from './types.js';

export type OutputFormat = 'table' | 'jsonl';

export interface ScanRequest {
  inputs: string[];
  format: OutputFormat;
  minSeverity: Severity;
  rules?: string;
  cluster?: string;
  failOn?: Severity;
  config?: string;
  /** Parse every line of file input (no prefilter), so every malformed one is reported. */
  validate?: boolean;
  live: LiveFlags;
  window: WindowFlags;
  /** `--no-color`. */
  noColor?: boolean;
  /** `--timeout`: how long a live source may take to give its first page. */
  timeoutMs?: number;
}

export interface ScanCommandDeps {
  rules: readonly AnyRule[];
  now: () => Date;
  sources: SourceFactories;
  readInputs: InputReader;
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

function write(stream: Writable, text: string): Promise<void> | undefined {
  if (stream.write(text)) return undefined;
  return once(stream, 'drain').then(() => undefined);
}

/** Everything up front that can be wrong with the request, so a scan never starts half-configured. */
async function prepare(req: ScanRequest, io: CliIo, deps: ScanCommandDeps) {
  const rules = selectRules(deps.rules, req.rules);
  // One engine sees every source, so runtime sources read only the exec margin before the window.
  const planned = planLiveSources(req.live, io.env, { sharedEngine: true });
  const hasWindow = req.window.since !== undefined || req.window.from !== undefined || req.window.to !== undefined;
  if (planned.length === 0 && hasWindow) {
    throw new CredwatchError('invalid-window', '--since/--from/--to select a window of a live source (--eks, --aks, --gke); files are read whole.');
  }
  if (planned.length === 0 && req.inputs.length === 0) {
    throw new CredwatchError('no-input', 'Nothing to scan: give files or folders (or - for stdin), or a live source (--eks, --aks, --gke).');
  }
  const window = planned.length > 0 ? resolveWindow(req.window, deps.now()) : undefined;
  const config = req.config === undefined ? defaultConfig() : await loadConfigFile(req.config, rules);
  const engine = new Engine({ rules, ruleOptions: config.ruleOptions, identities: config.identities });
  return { rules, planned, window, engine };
}

/** Runs `credwatch scan` and returns the exit code: 0 clean, 1 findings at --fail-on, 2 usage or input failure. */
export async function runScanCommand(req: ScanRequest, io: CliIo, deps: ScanCommandDeps): Promise<number> {
  let prepared;
  try {
    prepared = await prepare(req, io, deps);
  } catch (err) {
    if (err instanceof CredwatchError) {
      io.stderr.write(`credwatch: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const { rules, planned, window, engine } = prepared;
  const collected: Alert[] = [];
  const onFinding =
    req.format === 'jsonl'
      ? (f: Finding) => write(io.stdout, JSON.stringify(toAlert(f)) + '\n')
      : (f: Finding) => void collected.push(toAlert(f));
  const pipeline = new Pipeline({ engine, onFinding, minSeverity: req.minSeverity });
  const failures: { source: string; message: string }[] = [];
  const notices: { source: string; notice: CoverageNotice }[] = [];
  const inputs: InputTally = new Map();
  let liveRead = 0;

  if (req.inputs.length > 0) {
    const hints: ParseHints = req.cluster === undefined ? {} : { cluster: req.cluster };
    let progress: ByteProgress | undefined;
    if (io.isTTY === true) {
      const { PROGRESS_MIN_BYTES, startProgress, startStreamProgress, totalInputBytes } = await import('./progress.js');
      const total = await totalInputBytes(req.inputs);
      if (total >= PROGRESS_MIN_BYTES) progress = startProgress(io.stderr, total);
      else if (req.inputs.includes('-')) progress = startStreamProgress(io.stderr);
    }
    try {
      const bar = progress;
      const options = {
        hints,
        stdin: io.stdin,
        ...(req.validate === true ? {} : { prefilter: compilePrefilter(rules) }),
        ...(bar === undefined ? {} : { onProgress: (p: InputProgressLike) => bar.update(p.file, p.bytesRead) }),
      };
      // An unreadable path fails before anything is read (readInputs checks all paths first).
      await pipeline.consume(countPerInput(deps.readInputs(req.inputs, options), inputs));
    } catch (err) {
      failures.push({ source: req.inputs.join(', '), message: describeError(err) });
    } finally {
      progress?.stop();
    }
  }

  if (planned.length > 0 && window !== undefined) {
    const needs = unionNeeds(rules);
    const live = io.isTTY === true ? (await import('./progress.js')).startLiveProgress(io.stderr) : undefined;
    for (const plan of planned) {
      let source;
      const cloud = plan.label.split(/[-:]/)[0] as Cloud;
      live?.start(plan.label);
      try {
        const created = await plan.create(deps.sources);
        source = guardedSource(created, {
          cloud,
          label: plan.label,
          firstPageTimeoutMs: req.timeoutMs ?? FIRST_PAGE_TIMEOUT_MS,
          ...(live === undefined ? {} : { onPage: (pages: number, events: number, records: number) => live.page(created.name, pages, events, records) }),
        });
        await pipeline.consume(outcomesOf(source.read(window, { needs })));
        liveRead++;
      } catch (err) {
        failures.push({ source: source?.name ?? plan.label, message: err instanceof CredwatchError ? err.message : describeSourceFailure(err, cloud, plan.label) });
      }
      for (const notice of source?.notices?.() ?? []) notices.push({ source: source?.name ?? plan.label, notice });
    }
    live?.stop();
  }

  const tally = pipeline.tally();
  // Nothing read is not a clean bill of health: a PNG, an empty file or folder is exit 2 with the
  // reason, like an unreadable one. A live window read to the end counts as scanned, even empty.
  const verdicts = req.inputs.length > 0 ? inputVerdicts(req.inputs, inputs) : [];
  // Audit requests the prefilter read and found no rule needs were scanned as much as any event.
  const examined = tally.events + (tally.skipped.byReason['not-needed'] ?? 0);
  const nothingScanned = failures.length === 0 && examined === 0 && liveRead === 0;
  if (req.format === 'table') {
    const style = terminalStyle(io.stdout as { isTTY?: boolean; columns?: number }, io.env, req.noColor === true);
    if (collected.length > 0) io.stdout.write((await import('./findings-table.js')).renderFindings(collected, style));
    else if (!nothingScanned) io.stdout.write(`No findings at or above ${req.minSeverity}.\n`);
  }
  io.stderr.write(formatSummary({ tally, notices, failures, minSeverity: req.minSeverity, ...(nothingScanned ? { nothingScanned: verdicts } : {}) }));
  if (failures.length > 0 || nothingScanned) return EXIT_USAGE;
  const failOn = req.failOn;
  if (failOn !== undefined) {
    const hit = Object.entries(tally.findings.bySeverity).some(([s, count]) => count > 0 && atLeast(s as Severity, failOn));
    if (hit) return EXIT_FINDINGS;
  }
  return EXIT_OK;
}

/** Counts records and events per origin (file) as the batches go by, for the "nothing scanned" reasons. */
async function* countPerInput(batches: AsyncIterable<ParseOutcome[]>, into: InputTally): AsyncGenerator<ParseOutcome[]> {
  for await (const batch of batches) {
    let last: string | undefined;
    let t: { records: number; events: number } | undefined;
    for (const o of batch) {
      const source = o.kind === 'event' || o.kind === 'runtime' ? o.event.origin.source : o.kind === 'rejected' ? o.rejection.origin.source : o.skip.origin.source;
      if (source !== last || t === undefined) {
        last = source;
        t = into.get(source);
        if (t === undefined) {
          t = { records: 0, events: 0 };
          into.set(source, t);
        }
      }
      t.records += recordsOf(o);
      if (o.kind === 'event' || o.kind === 'runtime') t.events++;
    }
    yield batch;
  }
}
