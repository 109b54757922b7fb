/**
 * Behaviour pinned across refactors: every finding (rule, severity, key, summary, evidence) and every
 * count the pipeline reports, on the demo data, every real record in the repository and the bench
 * traffic. A change that moves code must leave the recorded file as it is; a change that means to
 * alter behaviour updates it (`npx vitest run test/behaviour -u`) and says why in its commit.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePrefilter } from '../../adapters/file/prefilter.js';
import { readInputs } from '../../adapters/file/read.js';
import { writeClusterTraffic } from '../../bench/cluster-traffic.js';
import { generateBenchFile } from '../../bench/generate.js';
import { Engine } from '../../core/engine/engine.js';
import { Pipeline } from '../../core/engine/pipeline.js';
import { RULES } from '../../rules/index.js';

const REPO = new URL('../../', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? filesUnder(p) : /\.(jsonl|json|ndjson|log|txt)(\.gz)?$/.test(name) ? [p] : [];
    });
}

/** One input's findings and counts, read as `credwatch scan` reads it (with the prefilter), and with nothing that depends on the clock or the machine. */
async function behaviourOf(path: string, root: string): Promise<unknown> {
  const findings: unknown[] = [];
  const pipeline = new Pipeline({
    engine: new Engine({ rules: RULES }),
    onFinding: (f) => {
      findings.push({ rule: f.rule, severity: f.severity, key: f.key, event: f.event.id, summary: f.summary, facts: f.facts });
    },
  });
  await pipeline.consume(readInputs([path], { prefilter: compilePrefilter(RULES) }));
  const t = pipeline.tally();
  return {
    input: relative(root, path),
    records: t.records,
    events: t.events,
    skipped: t.skipped,
    rejected: Object.fromEntries(Object.entries(t.rejected.byReason).map(([k, v]) => [k, v?.count])),
    ruleErrors: t.ruleErrors.total,
    findings,
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credwatch-behaviour-'));
  await generateBenchFile(join(dir, 'bench.jsonl'), 20_000);
  await writeClusterTraffic(join(dir, 'cluster-100.jsonl'), 100, 3);
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('behaviour is what was recorded', () => {
  it('on the demo data', async () => {
    const out = [];
    for (const f of filesUnder(join(REPO, 'demo'))) out.push(await behaviourOf(f, REPO));
    expect(out.length).toBe(3);
    await expect(JSON.stringify(out, null, 1)).toMatchFileSnapshot('./recorded/demo.json');
  });

  it('on every real record in the repository', async () => {
    const out = [];
    for (const f of filesUnder(join(REPO, 'test', 'fixtures', 'real'))) out.push(await behaviourOf(f, REPO));
    expect(out.length).toBeGreaterThan(10);
    await expect(JSON.stringify(out, null, 1)).toMatchFileSnapshot('./recorded/real.json');
  });

  it('on the bench traffic', async () => {
    const out = [await behaviourOf(join(dir, 'bench.jsonl'), dir), await behaviourOf(join(dir, 'cluster-100.jsonl'), dir)];
    await expect(JSON.stringify(out, null, 1)).toMatchFileSnapshot('./recorded/bench.json');
  }, 120_000);
});
