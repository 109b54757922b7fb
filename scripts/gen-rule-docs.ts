import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOUDS } from '../core/model/event.js';
import type { AnyRule } from '../core/model/rule.js';
import { RULE_DOC_FAMILIES, RULE_FAMILY, ruleHeading, type RuleDocFamily } from '../core/model/rule-docs.js';
import { RULES } from '../rules/index.js';

/**
 * Writes the "Rule reference" section of each docs/rules-<family>.md from the rule files'
 * metadata (description, why it matters, false positives, runbook, coverage, options, references),
 * between markers, leaving the hand-written rationale around it as it is. `npm run gen-rule-docs`
 * runs it; test/docs/rule-docs.test.ts fails when a page differs from what this would write.
 */

export const BEGIN = '<!-- BEGIN GENERATED rule reference: edit the rule files and run `npm run gen-rule-docs` -->';
export const END = '<!-- END GENERATED rule reference -->';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The build runs this from dist/scripts/; the docs are at the repository root either way. */
function repoRoot(): string {
  return ROOT.endsWith(join('dist')) ? dirname(ROOT) : ROOT;
}

/** Rule text as Markdown: `<name>` outside code spans would be taken for an HTML tag and vanish. */
export function md(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '&lt;').replace(/>/g, '&gt;') : part))
    .join('`');
}

const cell = (text: string): string => md(text).replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** `T1552.007` → its page on attack.mitre.org. */
export function mitreLink(id: string): string {
  const [technique, sub] = id.split('.');
  return `[${id}](https://attack.mitre.org/techniques/${technique}/${sub === undefined ? '' : `${sub}/`})`;
}

function defaultsOf(rule: AnyRule): string | undefined {
  if (rule.options === undefined) return undefined;
  const parsed = rule.options.safeParse({});
  return parsed.success ? JSON.stringify(parsed.data, null, 2) : undefined;
}

export function renderRule(rule: AnyRule): string {
  const out: string[] = [];
  out.push(`### ${ruleHeading(rule.id)}`, '');
  out.push(`**${md(rule.title)}** — severity \`${rule.severity}\`; MITRE ATT&CK ${rule.mitre.map(mitreLink).join(', ')}. Source: [\`rules/${rule.id}.ts\`](../rules/${rule.id}.ts).`, '');
  out.push(md(rule.description), '');
  out.push(`**Why it matters.** ${md(rule.whyItMatters)}`, '');
  out.push('**False positives**', '');
  out.push(...(rule.falsePositives.length > 0 ? rule.falsePositives.map((f) => `- ${md(f)}`) : ['- none known']), '');
  out.push('**Runbook**', '');
  out.push(...rule.runbook.map((step, i) => `${i + 1}. ${md(step)}`), '');
  out.push('**Coverage**', '', '| cloud | what the rule can see |', '|---|---|');
  for (const c of CLOUDS) out.push(`| ${c} | ${cell(rule.clouds[c] ?? 'none: not declared')} |`);
  out.push('');
  const defaults = defaultsOf(rule);
  if (defaults !== undefined) out.push(`**Options and defaults** (\`rules.${rule.id}\` in the config file)`, '', '```json', defaults, '```', '');
  out.push('**References**', '');
  out.push(...(rule.references.length > 0 ? rule.references.map((r) => `- ${r}`) : ['- none']), '');
  return out.join('\n');
}

export function renderFamily(family: RuleDocFamily, rules: readonly AnyRule[]): string {
  const own = rules.filter((r) => RULE_FAMILY[r.id] === family);
  return [BEGIN, '', '## Rule reference', '', ...own.map(renderRule), END].join('\n');
}

/** The page with its generated section replaced, or appended when the page has none yet. */
export function withGenerated(page: string, generated: string): string {
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start >= 0 && end > start) return page.slice(0, start) + generated + page.slice(end + END.length);
  return `${page.replace(/\n*$/, '')}\n\n${generated}\n`;
}

export function familyPath(family: RuleDocFamily): string {
  return join(repoRoot(), RULE_DOC_FAMILIES[family].file);
}

/** Rules that have no family: each must be added to core/model/rule-docs.ts. */
export function undocumented(rules: readonly AnyRule[]): string[] {
  return rules.filter((r) => RULE_FAMILY[r.id] === undefined).map((r) => r.id);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const missing = undocumented(RULES);
  if (missing.length > 0) {
    process.stderr.write(`gen-rule-docs: no docs family for ${missing.join(', ')}; add them to RULE_FAMILY in core/model/rule-docs.ts\n`);
    process.exit(2);
  }
  for (const family of Object.keys(RULE_DOC_FAMILIES) as RuleDocFamily[]) {
    const path = familyPath(family);
    const before = readFileSync(path, 'utf8');
    const after = withGenerated(before, renderFamily(family, RULES));
    if (after !== before) writeFileSync(path, after);
    process.stderr.write(`gen-rule-docs: ${RULE_DOC_FAMILIES[family].file} ${after === before ? 'up to date' : 'written'}\n`);
  }
}
