import { loadCsrCodec, needsCsrCodec } from '../detection/csr.js';
import type { Engine, RuleError } from './engine.js';
import type { AuditEvent, Origin } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { recordsOf, type ParseOutcome, type RejectionReason, type SkipReason } from '../model/parse-result.js';
import { atLeast, SEVERITIES, type Severity } from '../model/severity.js';
import type { SourcePage } from '../model/source.js';

/**
 * Runs parsed records through the engine and keeps an honest tally of everything seen: each raw
 * record ends up as an event, a skip or a rejection, and each is counted. Used by the CLI and by
 * scheduled scans; it knows nothing about terminals, files or clouds.
 */

/**
 * Loads what evaluating `events` needs beyond the engine's own modules (the X.509 codec for CSR
 * events), for a caller about to hand them to an Engine outside `processBatch`: carried memory.
 */
export async function prepareFor(events: Iterable<AuditEvent>): Promise<void> {
  for (const e of events) if (needsCsrCodec(e)) return loadCsrCodec();
}

/** Rejection examples kept per reason: enough to find the bad records, bounded for huge inputs. */
export const REJECTION_EXAMPLES_PER_REASON = 3;
/** Rule errors kept verbatim; the rest are only counted. */
export const RULE_ERROR_EXAMPLES = 10;

export interface RejectionExample {
  origin: Origin;
  /** `file:line` (or `file#index`, `source page N`) for messages. */
  where: string;
  detail: string;
}

export interface ReasonTally {
  count: number;
  examples: RejectionExample[];
}

export interface PipelineTally {
  /** Raw records seen: events + skipped + rejected. */
  records: number;
  events: number;
  skipped: { total: number; byReason: Partial<Record<SkipReason, number>> };
  rejected: { total: number; byReason: Partial<Record<RejectionReason, ReasonTally>> };
  ruleErrors: { total: number; examples: RuleError[] };
  findings: {
    /** Findings delivered to the sink (at or above `minSeverity`). */
    total: number;
    byRule: Record<string, number>;
    bySeverity: Record<Severity, number>;
    /** Findings the engine produced below `minSeverity`: counted, not delivered. */
    belowMinSeverity: number;
  };
  elapsedMs: number;
  eventsPerSecond: number;
}

/** Receives each finding as soon as the engine produces it; may return a promise (backpressure). */
export type FindingSink = (finding: Finding) => void | Promise<void>;

export interface PipelineOptions {
  engine: Engine;
  onFinding?: FindingSink;
  /** Findings below this severity are counted but not delivered. */
  minSeverity?: Severity;
  /** Milliseconds clock for elapsed time; injectable so tests need no timing. */
  now?: () => number;
}

/** Formats an origin as `file:line`, `file#index`, `source page N` or the bare source. */
export function describeOrigin(origin: Origin): string {
  let where = origin.source;
  if (origin.page !== undefined) where += ` page ${origin.page}`;
  if (origin.line !== undefined) where += `:${origin.line}`;
  if (origin.index !== undefined) where += `#${origin.index}`;
  return where;
}

function emptySeverityCounts(): Record<Severity, number> {
  const counts = {} as Record<Severity, number>;
  for (const s of SEVERITIES) counts[s] = 0;
  return counts;
}

/**
 * One pipeline per run. `consume` may be called once per input or source; the tally accumulates
 * and one engine sees all of them, so a request found in two inputs alerts once.
 */
export class Pipeline {
  private readonly engine: Engine;
  private readonly onFinding: FindingSink | undefined;
  private readonly minSeverity: Severity;
  private readonly now: () => number;
  private readonly startedAt: number;
  private records = 0;
  private events = 0;
  private skippedTotal = 0;
  private readonly skippedByReason: Partial<Record<SkipReason, number>> = {};
  private rejectedTotal = 0;
  private readonly rejectedByReason: Partial<Record<RejectionReason, ReasonTally>> = {};
  private ruleErrorTotal = 0;
  private readonly ruleErrorExamples: RuleError[] = [];
  private findingTotal = 0;
  private belowMin = 0;
  private readonly byRule: Record<string, number> = {};
  private readonly bySeverity = emptySeverityCounts();

  constructor(options: PipelineOptions) {
    this.engine = options.engine;
    this.onFinding = options.onFinding;
    this.minSeverity = options.minSeverity ?? 'info';
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
  }

  /** Reads every batch to the end. A source that throws propagates; what it gave so far stays counted. */
  async consume(batches: AsyncIterable<readonly ParseOutcome[]>): Promise<void> {
    for await (const batch of batches) await this.processBatch(batch);
    await this.flush();
  }

  /**
   * Delivers the runtime findings the engine held for a pods/exec that never came. `consume` does
   * it at the end of each input; a caller feeding `processBatch` itself calls it once at the end.
   */
  async flush(): Promise<void> {
    for (const finding of this.engine.flush().findings) await this.deliver(finding);
  }

  async processBatch(batch: readonly ParseOutcome[]): Promise<void> {
    for (const outcome of batch) {
      this.records += recordsOf(outcome);
      if (outcome.kind === 'event' || outcome.kind === 'runtime') {
        if (needsCsrCodec(outcome.event)) await loadCsrCodec();
        let result;
        try {
          result = this.engine.process(outcome.event);
        } catch (err) {
          // A record the engine cannot hold (a value so deep a recursive walk overflows the stack)
          // is that record's failure, not the scan's: it is counted as a rejection and the batch goes on.
          const why = err instanceof Error ? err.message : String(err);
          const reason = err instanceof RangeError ? 'too-deep' : 'invalid-value';
          this.addRejection(reason, outcome.event.origin, `event could not be evaluated: ${why}`);
          continue;
        }
        this.events++;
        if (result.errors.length > 0) this.addRuleErrors(result.errors);
        for (const finding of result.findings) await this.deliver(finding);
      } else if (outcome.kind === 'skipped') {
        const n = outcome.count ?? 1;
        this.skippedTotal += n;
        const r = outcome.skip.reason;
        this.skippedByReason[r] = (this.skippedByReason[r] ?? 0) + n;
      } else {
        this.addRejection(outcome.rejection.reason, outcome.rejection.origin, outcome.rejection.detail);
      }
    }
  }

  tally(): PipelineTally {
    const elapsedMs = Math.max(0, this.now() - this.startedAt);
    const rejected: Partial<Record<RejectionReason, ReasonTally>> = {};
    for (const [reason, t] of Object.entries(this.rejectedByReason) as Array<[RejectionReason, ReasonTally]>) {
      rejected[reason] = { count: t.count, examples: [...t.examples] };
    }
    return {
      records: this.records,
      events: this.events,
      skipped: { total: this.skippedTotal, byReason: { ...this.skippedByReason } },
      rejected: { total: this.rejectedTotal, byReason: rejected },
      ruleErrors: { total: this.ruleErrorTotal, examples: [...this.ruleErrorExamples] },
      findings: {
        total: this.findingTotal,
        byRule: { ...this.byRule },
        bySeverity: { ...this.bySeverity },
        belowMinSeverity: this.belowMin,
      },
      elapsedMs,
      eventsPerSecond: elapsedMs > 0 ? (this.events * 1000) / elapsedMs : 0,
    };
  }

  private async deliver(finding: Finding): Promise<void> {
    if (!atLeast(finding.severity, this.minSeverity)) {
      this.belowMin++;
      return;
    }
    this.findingTotal++;
    this.byRule[finding.rule] = (this.byRule[finding.rule] ?? 0) + 1;
    this.bySeverity[finding.severity]++;
    if (this.onFinding === undefined) return;
    const pending = this.onFinding(finding);
    if (pending !== undefined) await pending;
  }

  private addRejection(reason: RejectionReason, origin: Origin, detail: string): void {
    this.rejectedTotal++;
    let t = this.rejectedByReason[reason];
    if (t === undefined) {
      t = { count: 0, examples: [] };
      this.rejectedByReason[reason] = t;
    }
    t.count++;
    if (t.examples.length < REJECTION_EXAMPLES_PER_REASON) {
      t.examples.push({ origin, where: describeOrigin(origin), detail });
    }
  }

  private addRuleErrors(errors: readonly RuleError[]): void {
    for (const e of errors) {
      this.ruleErrorTotal++;
      if (this.ruleErrorExamples.length < RULE_ERROR_EXAMPLES) this.ruleErrorExamples.push(e);
    }
  }
}

/** A live source's pages as the batches `Pipeline.consume` takes. */
export async function* outcomesOf(pages: AsyncIterable<SourcePage>): AsyncGenerator<ParseOutcome[]> {
  for await (const page of pages) yield page.outcomes;
}

/** Rejection reasons, most frequent first (ties by name, so output is stable). */
export function topRejections(tally: PipelineTally, limit = 5): Array<[RejectionReason, ReasonTally]> {
  return (Object.entries(tally.rejected.byReason) as Array<[RejectionReason, ReasonTally]>)
    .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
    .slice(0, limit);
}
