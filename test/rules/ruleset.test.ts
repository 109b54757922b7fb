import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOUDS } from '../../core/model/event.js';
import { coversCloud } from '../../core/model/rule.js';
import { isSeverity } from '../../core/model/severity.js';
import { RULES } from '../../rules/index.js';
import { runExample } from '../helpers/run-example.js';
import { examplesOf } from '../helpers/rule-examples.js';

// Whole-set checks: each lists every offender at once, so one run shows everything to fix.
describe('rule set', () => {
  const rulesDir = new URL('../../rules/', import.meta.url);

  it('has unique kebab-case ids matching their file names', () => {
    const offenders: string[] = [];
    const seen = new Set<string>();
    for (const r of RULES) {
      if (seen.has(r.id)) offenders.push(`${r.id}: duplicate id`);
      seen.add(r.id);
      if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(r.id)) offenders.push(`${r.id}: not kebab-case`);
      if (!existsSync(new URL(`${r.id}.ts`, rulesDir))) offenders.push(`${r.id}: no rules/${r.id}.ts`);
    }
    expect(offenders).toEqual([]);
  });

  it('carries complete metadata', () => {
    const offenders: string[] = [];
    for (const r of RULES) {
      if (!isSeverity(r.severity)) offenders.push(`${r.id}: severity ${String(r.severity)}`);
      if (r.mitre.length === 0) offenders.push(`${r.id}: no MITRE technique`);
      for (const m of r.mitre) if (!/^T\d{4}(\.\d{3})?$/.test(m)) offenders.push(`${r.id}: MITRE id ${m}`);
      if (r.runbook.length === 0) offenders.push(`${r.id}: no runbook`);
      if (r.title.trim() === '' || r.description.trim() === '' || r.whyItMatters.trim() === '') {
        offenders.push(`${r.id}: empty title, description or whyItMatters`);
      }
      if (r.references.length === 0) offenders.push(`${r.id}: no references`);
      if (r.needs.resources.length === 0) offenders.push(`${r.id}: needs no resource`);
      if (!CLOUDS.some((c) => coversCloud(r.clouds, c))) offenders.push(`${r.id}: covers no cloud`);
    }
    expect(offenders).toEqual([]);
  });

  it('has a positive and a negative example on every cloud it claims', () => {
    const offenders: string[] = [];
    for (const r of RULES) {
      const seen = new Map<string, { pos: boolean; neg: boolean }>();
      for (const ex of examplesOf(r)) {
        const { events } = runExample(r, ex);
        for (const cloud of new Set(events.map((e) => e.cloud))) {
          const s = seen.get(cloud) ?? { pos: false, neg: false };
          if (ex.expect === null) s.neg = true;
          else s.pos = true;
          seen.set(cloud, s);
        }
      }
      for (const cloud of ['eks', 'aks', 'gke'] as const) {
        if (!coversCloud(r.clouds, cloud)) continue;
        const s = seen.get(cloud);
        if (!s?.pos) offenders.push(`${r.id}: no positive ${cloud} example`);
        if (!s?.neg) offenders.push(`${r.id}: no negative ${cloud} example`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
