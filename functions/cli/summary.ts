import { describeOrigin, topRejections, type PipelineTally } from '../../core/engine/pipeline.js';
import { SEVERITIES } from '../../core/model/severity.js';
import type { CoverageNotice } from '../../core/model/source.js';

/**
 * The scan summary on stderr (never coloured). It needs no text-width library, so a scan whose
 * output is JSON lines loads none (start-up: docs/cli.md).
 */

/**
 * 1234567 → `1,234,567`. Not toLocaleString: its first call loads the ICU locale data, a tenth of
 * a one-line scan's start-up.
 */
export function grouped(x: number): string {
  const [whole = '', fraction] = String(Math.round(x * 1000) / 1000).split('.');
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}
const n = grouped;
const plural = (x: number, word: string): string => `${n(x)} ${word}${x === 1 ? '' : 's'}`;

export interface SummaryInput {
  tally: PipelineTally;
  notices: readonly { source: string; notice: CoverageNotice }[];
  failures: readonly { source: string; message: string }[];
  minSeverity: string;
  /** Set when no input yielded an event: why, per input. */
  nothingScanned?: readonly string[];
}

/** Records and events seen per origin source (a file path, `-`). */
export type InputTally = Map<string, { records: number; events: number }>;

/**
 * Why each input gave no event, for the exit-2 message: no records at all (an empty file or a
 * folder without files), or records that were all skipped or rejected (the lines above say why).
 */
export function inputVerdicts(inputs: readonly string[], tally: InputTally): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    const own = [...tally.entries()].filter(([source]) => source === input || source.startsWith(input.endsWith('/') ? input : `${input}/`));
    const records = own.reduce((n, [, t]) => n + t.records, 0);
    const events = own.reduce((n, [, t]) => n + t.events, 0);
    if (events > 0) continue;
    if (own.length === 0) out.push(`${input}: no records (an empty file, or a folder with no files in it)`);
    else out.push(`${input}: ${plural(records, 'record')}, none of them an audit or runtime event (skipped and rejected above)`);
  }
  return out;
}

/** Control characters of binary input (a PNG, random bytes) would garble the terminal. */
export function printable(text: string): string {
   
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/g, '?').replace(/\n/g, ' ');
}

/** Rejection reasons shown one per line; the rest are summed on one more, so the lines add up. */
export const REJECTION_LINES = 5;

export function formatSummary({ tally: t, notices, failures, minSeverity, nothingScanned }: SummaryInput): string {
  const lines: string[] = [];
  const secs = (t.elapsedMs / 1000).toFixed(2);
  lines.push(
    `credwatch: ${plural(t.records, 'record')} → ${plural(t.events, 'event')}, ${n(t.skipped.total)} skipped, ` +
      `${n(t.rejected.total)} rejected in ${secs} s (${n(Math.round(t.eventsPerSecond))} events/s)`,
  );
  if (t.skipped.total > 0) {
    // Most first, as the rules below: the order reasons were first met depends on how the input was read.
    const parts = Object.entries(t.skipped.byReason)
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0) || a[0].localeCompare(b[0]))
      .map(([reason, count]) => `${reason} ${n(count ?? 0)}`);
    lines.push(`  skipped: ${parts.join(', ')}`);
  }
  const reasons = topRejections(t, Number.POSITIVE_INFINITY);
  // Five lines and "and N more" would hide one reason behind a line of its own size: show all six.
  const shown = reasons.length <= REJECTION_LINES + 1 ? reasons : reasons.slice(0, REJECTION_LINES);
  for (const [reason, r] of shown) {
    const first = r.examples[0];
    const example = first === undefined ? '' : ` (first: ${first.where}: ${printable(first.detail)})`;
    lines.push(`  rejected ${reason}: ${n(r.count)}${example}`);
  }
  const rest = reasons.slice(shown.length);
  if (rest.length > 0) {
    const count = rest.reduce((sum, [, r]) => sum + r.count, 0);
    lines.push(`  rejected, and ${rest.length} more reasons: ${n(count)} (${rest.map(([reason, r]) => `${reason} ${n(r.count)}`).join(', ')})`);
  }
  const bySeverity = [...SEVERITIES]
    .reverse()
    .filter((s) => t.findings.bySeverity[s] > 0)
    .map((s) => `${s} ${n(t.findings.bySeverity[s])}`);
  const below = t.findings.belowMinSeverity > 0 ? ` (${n(t.findings.belowMinSeverity)} more below ${minSeverity})` : '';
  lines.push(`  findings: ${n(t.findings.total)}${bySeverity.length > 0 ? ` — ${bySeverity.join(', ')}` : ''}${below}`);
  const rules = Object.entries(t.findings.byRule).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [rule, count] of rules) lines.push(`    ${rule}: ${n(count)}`);
  if (t.ruleErrors.total > 0) {
    lines.push(`  rule errors: ${n(t.ruleErrors.total)}`);
    for (const e of t.ruleErrors.examples.slice(0, 3)) {
      lines.push(`    ${e.rule} on event ${e.eventId} (${describeOrigin(e.origin)}): ${e.cause}`);
    }
  }
  for (const { source, notice } of notices) lines.push(`  notice (${source}, ${notice.code}): ${notice.message}`);
  for (const f of failures) lines.push(`  FAILED ${f.source}: ${f.message}`);
  if (nothingScanned !== undefined) {
    lines.push('credwatch: nothing was scanned: no input yielded an audit or runtime event.');
    for (const v of nothingScanned) lines.push(`  ${v}`);
  }
  return lines.join('\n') + '\n';
}
