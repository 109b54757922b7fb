import { CLOUDS } from '../../core/model/event.js';
import type { AnyRule } from '../../core/model/rule.js';
import { ruleDocsLink } from '../../core/model/rule-docs.js';
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';
import { paintBold, paintSeverity, type TerminalStyle } from './terminal.js';

/** Renderings for the terminal: the rules table and `explain` (the scan summary: summary.ts). */

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
