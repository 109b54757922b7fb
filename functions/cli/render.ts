import { CLOUDS } from '../../core/event.js';
import type { Finding } from '../../core/finding.js';
import { describeOrigin, topRejections, type PipelineTally } from '../../core/pipeline.js';
import type { AnyRule } from '../../core/rule.js';
import { SEVERITIES, severityRank } from '../../core/severity.js';
import type { CoverageNotice } from '../../core/source.js';

/** Plain-text renderings for the terminal: tables, the scan summary. No colours, so pipes stay clean. */

/** Left-aligned columns; the last column is not padded so long summaries do not add trailing spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Seconds precision is what a person reads; the full time stays in the JSON alert. */
function shortTime(iso: string): string {
  return iso.replace(/\.\d+(Z|[+-]\d{2}:\d{2})$/, '$1');
}

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      Date.parse(a.time) - Date.parse(b.time) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      a.rule.localeCompare(b.rule) ||
      a.key.localeCompare(b.key),
  );
}

export function findingsTable(findings: readonly Finding[]): string {
  const rows = sortFindings(findings).map((f) => [
    f.severity.toUpperCase(),
    f.rule,
    f.cluster ?? '-',
    shortTime(f.time),
    f.summary,
  ]);
  return formatTable(['SEVERITY', 'RULE', 'CLUSTER', 'TIME', 'SUMMARY'], rows);
}

/** `full`, `partial` or `none` per cloud (CloudCoverage: a sentence means partial, `none:` none). */
export function coverageLabel(value: string | undefined): 'full' | 'partial' | 'none' {
  if (value === undefined || value.startsWith('none')) return 'none';
  return value === 'full' ? 'full' : 'partial';
}

export function rulesTable(rules: readonly AnyRule[]): string {
  const clouds = CLOUDS.filter((c) => c !== 'k8s');
  const rows = rules.map((r) => [
    r.id,
    r.severity,
    r.title,
    r.mitre.join(','),
    clouds.map((c) => `${c}:${coverageLabel(r.clouds[c])}`).join(' '),
  ]);
  return formatTable(['ID', 'SEVERITY', 'TITLE', 'MITRE', 'CLOUDS'], rows);
}

/** One JSON object per rule for `credwatch rules --format jsonl`. */
export function ruleJson(r: AnyRule): Record<string, unknown> {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    mitre: [...r.mitre],
    clouds: { ...r.clouds },
    needs: r.needs,
    description: r.description,
  };
}

const n = (x: number): string => x.toLocaleString('en-US');
const plural = (x: number, word: string): string => `${n(x)} ${word}${x === 1 ? '' : 's'}`;

export interface SummaryInput {
  tally: PipelineTally;
  notices: readonly { source: string; notice: CoverageNotice }[];
  failures: readonly { source: string; message: string }[];
  minSeverity: string;
}

export function formatSummary({ tally: t, notices, failures, minSeverity }: SummaryInput): string {
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
  for (const [reason, r] of topRejections(t)) {
    const first = r.examples[0];
    const example = first === undefined ? '' : ` (first: ${first.where}: ${first.detail})`;
    lines.push(`  rejected ${reason}: ${n(r.count)}${example}`);
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
  return lines.join('\n') + '\n';
}
