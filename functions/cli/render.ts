import { CLOUDS } from '../../core/model/event.js';
import { describeOrigin, topRejections, type PipelineTally } from '../../core/engine/pipeline.js';
import type { AnyRule } from '../../core/model/rule.js';
import { ruleDocsLink } from '../../core/model/rule-docs.js';
import { SEVERITIES } from '../../core/model/severity.js';
import type { CoverageNotice } from '../../core/model/source.js';
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';
import { paintBold, paintSeverity, type TerminalStyle } from './terminal.js';

/** Renderings for the terminal: the rules table, `explain`, the scan summary (stderr, never coloured). */

/**
 * Left-aligned columns; the last column is not padded so long text adds no trailing spaces. With
 * a width, the last column is wrapped within itself (its lines start under its header).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], width?: number): string {
  const widths = header.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const lastStart = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
  const wrapAt = width !== undefined && width - lastStart >= 20 ? width - lastStart : undefined;
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => {
        if (i < cells.length - 1) return c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - stringWidth(c)));
        if (wrapAt === undefined) return c;
        return wrapAnsi(c, wrapAt, { hard: true, trim: true }).split('\n').join('\n' + ' '.repeat(lastStart));
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/**
 * `full`, `partial` or `none` per cloud, from the rule's CloudCoverage sentence: `full` alone or
 * with a note on how (`full (Admin Activity log)`, `full: …`, `full when …`), `none: …`, and any
 * other sentence, including `full for writes; …`, says what is missing: partial.
 */
export function coverageLabel(value: string | undefined): 'full' | 'partial' | 'none' {
  if (value === undefined || /^none\b/.test(value)) return 'none';
  return /^full(?:$|[\s(:;,])/.test(value) && !/^full for\b/.test(value) ? 'full' : 'partial';
}

const COVERAGE_CLOUDS = CLOUDS;

export function rulesTable(rules: readonly AnyRule[], style: TerminalStyle = { color: false }): string {
  const header = ['ID', 'SEVERITY', ...COVERAGE_CLOUDS.map((c) => c.toUpperCase()), 'MITRE', 'TITLE'];
  const rows = rules.map((r) => [r.id, r.severity, ...COVERAGE_CLOUDS.map((c) => coverageLabel(r.clouds[c])), r.mitre.join(','), r.title]);
  // The legend is for a person at a terminal; piped, the output stays a plain table.
  const legend = style.width === undefined ? '' : wrapText('Coverage per cloud: full, partial (what is missing: `credwatch explain RULE`), none. k8s = self-managed clusters.', 0, style.width) + '\n';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const beforeTitle = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
  if (style.width === undefined || style.width - beforeTitle >= 20) return formatTable(header, rows, style.width) + legend;
  // Too narrow for columns: id and severity, then the title, then coverage and MITRE ids.
  const idWidth = Math.max(...rules.map((r) => r.id.length));
  const blocks = rules.map((r) => {
    const coverage = COVERAGE_CLOUDS.map((c) => `${c}:${coverageLabel(r.clouds[c])}`).join(' ');
    const head = `${r.id.padEnd(idWidth)}  ${paintSeverity(style, r.severity, r.severity)}`;
    return `${head}\n${wrapText(r.title, 4, style.width)}\n${wrapText(`${coverage}  ${r.mitre.join(',')}`, 4, style.width)}\n`;
  });
  return blocks.join('') + legend;
}

/** One JSON object per rule for `credwatch rules --format jsonl`: every field `explain` prints. */
export function ruleJson(r: AnyRule): Record<string, unknown> {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    mitre: [...r.mitre],
    clouds: { ...r.clouds },
    coverage: Object.fromEntries(COVERAGE_CLOUDS.map((c) => [c, coverageLabel(r.clouds[c])])),
    needs: r.needs,
    description: r.description,
    whyItMatters: r.whyItMatters,
    falsePositives: [...r.falsePositives],
    runbook: [...r.runbook],
    references: [...r.references],
    docs: ruleDocsLink(r.id),
  };
}

/** `credwatch explain RULE`: the rule's metadata as a page to read, wrapped to the terminal. */
export function explainRule(r: AnyRule, style: TerminalStyle): string {
  const width = style.width === undefined ? undefined : Math.min(style.width, 100);
  const para = (text: string, indent = 2): string => wrapText(text, indent, width);
  const item = (text: string, bullet: string): string => {
    const lead = `  ${bullet} `;
    return lead + wrapText(text, lead.length, width).trimStart();
  };
  const out: string[] = [];
  out.push(`${paintBold(style, r.id)}  ${paintSeverity(style, r.severity, r.severity)}  ${r.title}`);
  out.push(`  MITRE ATT&CK: ${r.mitre.join(', ')}`);
  out.push('');
  out.push(paintBold(style, 'What it detects'), para(r.description), '');
  out.push(paintBold(style, 'Why it matters'), para(r.whyItMatters), '');
  out.push(paintBold(style, 'False positives'), ...(r.falsePositives.length > 0 ? r.falsePositives.map((f) => item(f, '-')) : ['  none known']), '');
  out.push(paintBold(style, 'Runbook'), ...r.runbook.map((step, i) => item(step, `${i + 1}.`)), '');
  out.push(paintBold(style, 'Coverage'));
  for (const c of COVERAGE_CLOUDS) {
    const v = r.clouds[c];
    out.push(item(`${c}: ${coverageLabel(v)}${v === undefined || v === 'full' ? '' : ` — ${v.replace(/^none:\s*/, '')}`}`, '-'));
  }
  out.push('');
  out.push(paintBold(style, 'References'), ...(r.references.length > 0 ? r.references.map((ref) => item(ref, '-')) : ['  none']), '');
  out.push(`Documentation: ${ruleDocsLink(r.id) ?? 'docs/'}`);
  return out.join('\n') + '\n';
}

/** Wrapped at word boundaries; a word longer than the line (a URL) is left whole so it stays usable. */
function wrapText(text: string, indent: number, width: number | undefined): string {
  const pad = ' '.repeat(indent);
  if (width === undefined || width - indent < 20) return pad + text;
  return wrapAnsi(text, width - indent, { hard: false, trim: true })
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

const n = (x: number): string => x.toLocaleString('en-US');
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
    const parts = Object.entries(t.skipped.byReason).map(([reason, count]) => `${reason} ${n(count ?? 0)}`);
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
