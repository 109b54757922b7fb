import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toAlert } from '../../core/model/finding.js';
import { RULE_DOC_FAMILIES, ruleDocsLink, type RuleDocFamily } from '../../core/model/rule-docs.js';
import { RULES } from '../../rules/index.js';
import { BEGIN, END, familyPath, renderFamily, undocumented, withGenerated } from '../../scripts/gen-rule-docs.js';
import { runExample } from '../helpers/run-example.js';
import { examplesOf } from '../helpers/rule-examples.js';

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (m === null) continue;
    const base = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('rule docs are generated from the rule files', () => {
  const families = Object.keys(RULE_DOC_FAMILIES) as RuleDocFamily[];

  it('every rule belongs to a documented family', () => {
    expect(undocumented(RULES)).toEqual([]);
  });

  for (const family of families) {
    it(`${RULE_DOC_FAMILIES[family].file} holds exactly what \`npm run gen-rule-docs\` writes`, () => {
      const page = readFileSync(familyPath(family), 'utf8');
      expect(page).toContain(BEGIN);
      expect(page).toContain(END);
      expect(withGenerated(page, renderFamily(family, RULES)), 'run `npm run gen-rule-docs`').toBe(page);
      // The hand-written rationale stays before the generated part.
      expect(page.indexOf(BEGIN)).toBeGreaterThan(200);
    });
  }

  it('each rule section carries all of its metadata', () => {
    for (const rule of RULES) {
      const family = ruleDocsLink(rule.id)!.split('#')[0]!;
      const page = readFileSync(familyPath(families.find((f) => RULE_DOC_FAMILIES[f].file === family)!), 'utf8');
      const section = page.slice(page.indexOf(`### Reference: \`${rule.id}\``));
      const own = section.slice(0, section.indexOf('\n### ', 4) > 0 ? section.indexOf('\n### ', 4) : undefined);
      for (const step of rule.runbook) expect(own.replace(/&lt;/g, '<').replace(/&gt;/g, '>'), rule.id).toContain(step);
      for (const ref of rule.references) expect(own, rule.id).toContain(ref);
      for (const fp of rule.falsePositives) expect(own.replace(/&lt;/g, '<').replace(/&gt;/g, '>'), rule.id).toContain(fp);
    }
  });

  it('the docs link of every alert resolves to that rule\'s heading', () => {
    for (const rule of RULES) {
      const link = ruleDocsLink(rule.id)!;
      const [file, anchor] = link.split('#');
      const family = families.find((f) => RULE_DOC_FAMILIES[f].file === file)!;
      expect(anchors(readFileSync(familyPath(family), 'utf8')), link).toContain(anchor);
    }
    const example = examplesOf(RULES[0]!).find((e) => e.expect !== null)!;
    const finding = runExample(RULES[0]!, example).findings[0]!;
    expect(toAlert(finding).docs).toBe(ruleDocsLink(RULES[0]!.id));
  });

  it('a page without the markers gets the section appended; a changed rule changes the page', () => {
    expect(withGenerated('# Title\n\nrationale\n', 'GEN')).toBe('# Title\n\nrationale\n\nGEN\n');
    const page = readFileSync(familyPath('secrets'), 'utf8');
    const changed = RULES.map((r) => (r.id === 'secret-sweep' ? { ...r, runbook: ['a new first step'] } : r));
    expect(withGenerated(page, renderFamily('secrets', changed))).not.toBe(page);
  });
});
