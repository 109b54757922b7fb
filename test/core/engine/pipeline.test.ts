import { describe, expect, it } from 'vitest';
import { Engine } from '../../../core/engine/engine.js';
import type { AuditEvent } from '../../../core/model/event.js';
import type { Finding } from '../../../core/model/finding.js';
import { parsed, rejected, skipped, skippedLines, type ParseOutcome } from '../../../core/model/parse-result.js';
import { describeOrigin, outcomesOf, Pipeline, topRejections } from '../../../core/engine/pipeline.js';
import { defineRule } from '../../../core/model/rule.js';
import type { SourcePage } from '../../../core/model/source.js';

function event(id: string, verb: string, resource: string, name?: string): AuditEvent {
  return {
    kind: 'audit',
    id,
    cloud: 'k8s',
    cluster: 'c1',
    time: `2026-03-02T09:00:0${id.length % 10}Z`,
    verb,
    user: { name: 'alice' },
    auth: { method: 'unknown' },
    sourceIPs: ['198.51.100.7'],
    target: name === undefined ? { resource } : { resource, name },
    outcome: { result: 'success', code: 200 },
    truncated: false,
    origin: { source: 'in.jsonl', line: Number(id.replace(/\D/g, '') || 0) },
  };
}

const listSecrets = defineRule({
  id: 'test-list-secrets',
  title: 'lists secrets',
  severity: 'high',
  mitre: ['T1552.007'],
  description: 'd',
  whyItMatters: 'w',
  falsePositives: [],
  runbook: ['r'],
  references: [],
  clouds: { k8s: 'full' },
  needs: { resources: ['secrets'], verbs: ['list'] },
  evaluate: (e) => ({ summary: `${e.user.name ?? '?'} listed secrets` }),
});

const getConfigmap = defineRule({
  ...listSecrets,
  id: 'test-get-configmap',
  severity: 'low',
  needs: { resources: ['configmaps'], verbs: ['get'] },
  evaluate: (e) => {
    if (e.target.name === 'boom') throw new Error('cannot read boom');
    return { summary: 'read a configmap' };
  },
});

async function* batches(...lists: ParseOutcome[][]): AsyncGenerator<ParseOutcome[]> {
  for (const l of lists) yield l;
}

function clock(...ticks: number[]): () => number {
  let i = 0;
  return () => ticks[Math.min(i++, ticks.length - 1)] ?? 0;
}

describe('pipeline', () => {
  it('counts records, events, skips, rejections, rule errors and findings exactly', async () => {
    const engine = new Engine({ rules: [listSecrets, getConfigmap] });
    const delivered: Finding[] = [];
    const pipeline = new Pipeline({ engine, onFinding: (f) => void delivered.push(f), now: clock(1000, 3000) });
    const origin = (line: number) => ({ source: 'in.jsonl', line });
    await pipeline.consume(
      batches(
        [
          parsed(event('e1', 'list', 'secrets')),
          parsed(event('e1', 'list', 'secrets')), // same request at a second stage: one finding
          parsed(event('e2', 'get', 'configmaps', 'cm')),
          skipped(origin(4), 'other-category'),
          rejected(origin(5), 'malformed-json', 'Unexpected token } at 3'),
        ],
        [
          parsed(event('e3', 'get', 'configmaps', 'boom')),
          parsed(event('e4', 'get', 'pods', 'p')),
          rejected(origin(8), 'malformed-json', 'Unexpected end of JSON input'),
          rejected(origin(9), 'truncated', 'no verb'),
          rejected(origin(10), 'malformed-json', 'x'),
          rejected(origin(11), 'malformed-json', 'y'),
          skipped(origin(12), 'not-audit'),
          skipped(origin(13), 'other-category'),
        ],
      ),
    );
    const t = pipeline.tally();
    expect(t.records).toBe(13);
    expect(t.events).toBe(5);
    expect(t.skipped).toEqual({ total: 3, byReason: { 'other-category': 2, 'not-audit': 1 } });
    expect(t.rejected.total).toBe(5);
    expect(t.rejected.byReason['malformed-json']?.count).toBe(4);
    expect(t.rejected.byReason['malformed-json']?.examples.map((x) => [x.where, x.detail])).toEqual([
      ['in.jsonl:5', 'Unexpected token } at 3'],
      ['in.jsonl:8', 'Unexpected end of JSON input'],
      ['in.jsonl:10', 'x'],
    ]);
    expect(t.rejected.byReason['truncated']).toEqual({
      count: 1,
      examples: [{ origin: origin(9), where: 'in.jsonl:9', detail: 'no verb' }],
    });
    expect(t.ruleErrors.total).toBe(1);
    expect(t.ruleErrors.examples[0]).toMatchObject({ rule: 'test-get-configmap', eventId: 'e3', cause: 'cannot read boom' });
    expect(t.findings).toEqual({
      total: 2,
      byRule: { 'test-list-secrets': 1, 'test-get-configmap': 1 },
      bySeverity: { info: 0, low: 1, medium: 0, high: 1, critical: 0 },
      belowMinSeverity: 0,
    });
    expect(delivered.map((f) => [f.rule, f.event.id])).toEqual([
      ['test-list-secrets', 'e1'],
      ['test-get-configmap', 'e2'],
    ]);
    expect(t.elapsedMs).toBe(2000);
    expect(t.eventsPerSecond).toBe(2.5);
    expect(topRejections(t).map(([r, x]) => [r, x.count])).toEqual([
      ['malformed-json', 4],
      ['truncated', 1],
    ]);
  });

  it('counts each line a counted skip stands for, as records and as skips', async () => {
    const p = new Pipeline({ engine: new Engine({ rules: [] }) });
    await p.processBatch([skippedLines({ source: 'f' }, 'not-needed', 264_518), skipped({ source: 'f', line: 9 }, 'not-needed'), skippedLines({ source: 'f' }, 'other-category', 12)]);
    const t = p.tally();
    expect(t.records).toBe(264_531);
    expect(t.skipped).toEqual({ total: 264_531, byReason: { 'not-needed': 264_519, 'other-category': 12 } });
  });

  it('counts findings below the minimum severity without delivering them', async () => {
    const engine = new Engine({ rules: [listSecrets, getConfigmap] });
    const delivered: string[] = [];
    const pipeline = new Pipeline({ engine, minSeverity: 'medium', onFinding: (f) => void delivered.push(f.rule) });
    await pipeline.consume(batches([parsed(event('a1', 'get', 'configmaps', 'x')), parsed(event('a2', 'list', 'secrets'))]));
    const t = pipeline.tally();
    expect(delivered).toEqual(['test-list-secrets']);
    expect(t.findings.total).toBe(1);
    expect(t.findings.belowMinSeverity).toBe(1);
    expect(t.findings.bySeverity.low).toBe(0);
  });

  it('waits for an asynchronous sink before reading on', async () => {
    const engine = new Engine({ rules: [listSecrets] });
    const order: string[] = [];
    const pipeline = new Pipeline({
      engine,
      onFinding: async (f) => {
        order.push(`start ${f.event.id}`);
        await Promise.resolve();
        order.push(`end ${f.event.id}`);
      },
    });
    await pipeline.consume(batches([parsed(event('s1', 'list', 'secrets'))], [parsed(event('s2', 'list', 'secrets'))]));
    expect(order).toEqual(['start s1', 'end s1', 'start s2', 'end s2']);
  });

  it('keeps what a failing source gave before it threw, and accumulates over several sources', async () => {
    const engine = new Engine({ rules: [listSecrets] });
    const pipeline = new Pipeline({ engine });
    async function* failing(): AsyncGenerator<ParseOutcome[]> {
      yield [parsed(event('f1', 'list', 'secrets'))];
      throw new Error('page 2 failed');
    }
    await expect(pipeline.consume(failing())).rejects.toThrow('page 2 failed');
    async function* pages(): AsyncGenerator<SourcePage> {
      yield { page: 1, outcomes: [parsed(event('f2', 'list', 'secrets')), parsed(event('f1', 'list', 'secrets'))] };
      yield { page: 2, outcomes: [] };
    }
    await pipeline.consume(outcomesOf(pages()));
    const t = pipeline.tally();
    expect(t.records).toBe(3);
    expect(t.events).toBe(3);
    expect(t.findings.total).toBe(2);
  });

  it('describes origins for messages', () => {
    expect(describeOrigin({ source: 'a.json', index: 4 })).toBe('a.json#4');
    expect(describeOrigin({ source: 'eks:prod', page: 3 })).toBe('eks:prod page 3');
    expect(describeOrigin({ source: 'b.jsonl.gz', line: 12, index: 0 })).toBe('b.jsonl.gz:12#0');
  });
});

describe('pipeline: an event the engine cannot process', () => {
  it('is counted as a rejection naming the cause and its origin, and the batch goes on', async () => {
    const engine = new Engine({ rules: [listSecrets] });
    const real = engine.process.bind(engine);
    // A finding key or history walk that recurses through a hostile body overflows the stack.
    engine.process = (e) => {
      if (e.id === 'deep') throw new RangeError('Maximum call stack size exceeded');
      return real(e);
    };
    const pipeline = new Pipeline({ engine });
    await pipeline.consume((async function* () {
      yield [parsed(event('a1', 'list', 'secrets')), parsed(event('deep', 'list', 'secrets')), parsed(event('a3', 'list', 'secrets'))];
    })());
    const t = pipeline.tally();
    expect([t.records, t.events, t.skipped.total, t.rejected.total]).toEqual([3, 2, 0, 1]);
    expect(t.rejected.byReason['too-deep']?.examples.map((x) => [x.where, x.detail])).toEqual([['in.jsonl:0', 'event could not be evaluated: Maximum call stack size exceeded']]);
    expect(t.findings.total).toBe(2);
  });
});
