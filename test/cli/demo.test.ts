import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.js';
import { cli } from './cli-harness.js';

/** Attack families the demo data must show, as rule-id patterns (issue: demo data). */
const FAMILIES: ReadonlyArray<[string, RegExp]> = [
  ['CSR abuse (Stratus create-client-certificate)', /^csr-/],
  ['Secret dump', /^secret-/],
  ['kubelet certificate read through exec', /^pki-read-via-exec$/],
];

/** Minutes (from 08:00Z) in which the demo's attack stories happen; see scripts/demo/attacks.ts. */
const ATTACK_MINUTES = new Set([31, 38, 39, 42, 44]);

interface Alert {
  rule: string;
  severity: string;
  time: string;
}

describe('credwatch demo', () => {
  it('prints the attacks in a table (what `npm run demo` shows)', async () => {
    const r = await cli(['demo']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d+ findings in \d+ requests: /);
    // Rule lines are indented under their request's header line: `  <rule>  <severity>  <summary>`.
    const reported = new Set(lines.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s+/)[0]));
    const families = FAMILIES.filter(([, pattern]) => RULES.some((rule) => pattern.test(rule.id)));
    for (const [family, pattern] of families) {
      expect({ family, reported: [...reported].some((id) => id !== undefined && pattern.test(id)) }).toEqual({ family, reported: true });
    }
    // All three families once their rules exist (they all do in the finished rule set).
    if (families.length === FAMILIES.length) expect(families).toHaveLength(3);
    // Every record is accounted for: requests no rule can use are counted unparsed (the prefilter),
    // AKS klog lines and GKE container-API entries are skipped, none rejected.
    expect(r.stderr).toMatch(/^credwatch: 3,290 records → 1,222 events, 2,068 skipped, 0 rejected in /);
    expect(r.stderr).toMatch(/^ {2}skipped: not-needed 2,056, other-category 12$/m);
  });

  it('alerts (medium and above) only on the attack stories, never on the benign traffic', async () => {
    const r = await cli(['demo', '--format', 'jsonl']);
    const alerts = r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Alert);
    const paging = alerts.filter((a) => ['medium', 'high', 'critical'].includes(a.severity));
    const outside = paging.filter((a) => !ATTACK_MINUTES.has(new Date(a.time).getUTCMinutes())).map((a) => `${a.rule} ${a.time}`);
    expect(outside).toEqual([]);
    if (RULES.length > 0) expect(paging.length).toBeGreaterThanOrEqual(FAMILIES.filter(([, p]) => RULES.some((x) => p.test(x.id))).length);
  });
});
