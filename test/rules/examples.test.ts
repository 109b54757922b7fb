import { describe, expect, it } from 'vitest';
import type { Finding } from '../../core/model/finding.js';
import { severityRank, type Severity } from '../../core/model/severity.js';
import { runExample } from '../helpers/run-example.js';
import { RULES } from '../../rules/index.js';
import { examplesOf } from '../helpers/rule-examples.js';

function highest(findings: readonly Finding[]): Severity | null {
  let best: Severity | null = null;
  for (const f of findings) if (best === null || severityRank(f.severity) > severityRank(best)) best = f.severity;
  return best;
}

describe('rule examples', () => {
  const cases = RULES.flatMap((rule) => examplesOf(rule).map((example) => [rule, example] as const));
  it('there are examples to run', () => {
    expect(RULES.length === 0 || cases.length > 0).toBe(true);
  });
  for (const [rule, example] of cases) {
    it(`${rule.id}: ${example.name}`, () => {
      const { events, findings, problems } = runExample(rule, example);
      expect(problems).toEqual([]);
      expect(events.length).toBeGreaterThan(0);
      expect(highest(findings)).toBe(example.expect);
      if (example.expect !== null && example.facts !== undefined) {
        const top = findings.find((f) => f.severity === example.expect)!;
        expect(top.facts).toMatchObject(example.facts);
      }
    });
  }
});
