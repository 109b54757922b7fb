import { stat } from 'node:fs/promises';
import { readInputs } from '../adapters/file/read.js';
import { parseEveryLine } from './bare.js';
import usageReport from './usage-report.cjs';
import { Engine } from '../core/engine/engine.js';
import { Pipeline } from '../core/engine/pipeline.js';
import type { AuditEvent } from '../core/model/event.js';
import type { AnyRule, RuleContext } from '../core/model/rule.js';
import { RULES } from '../rules/index.js';

/**
 * The two measurements, each run in a fresh child process so its peak RSS (`peakRssMb`: its own
 * memory, not the forking parent's) belongs to that measurement alone and one run's JIT warm-up
 * or garbage does not flatter the other.
 */

export type MeasureMode = 'bare' | 'bare-decode' | 'parse' | 'pipeline' | 'by-rule';

export interface Measurement {
  mode: MeasureMode;
  file: string;
  bytes: number;
  /** Records handled: lines parsed (bare) or events that reached the engine (pipeline). */
  events: number;
  seconds: number;
  eventsPerSecond: number;
  mbPerSecond: number;
  maxRssMb: number;
  /** Heap still reachable after a full GC at the end: what the run retains, unlike lazy RSS. */
  retainedHeapMb?: number;
  findings?: number;
  skipped?: number;
  rejected?: number;
  /** `by-rule` only: milliseconds spent in each rule's `evaluate`. */
  ruleMs?: Record<string, number>;
}

const MB = 1024 * 1024;
/** Holds the finished pipeline (engine, history, rule state) while the retained heap is measured. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- written, never read: the reference alone keeps the pipeline alive.
let measured: unknown;

function finish(m: Omit<Measurement, 'eventsPerSecond' | 'mbPerSecond' | 'maxRssMb'>): Measurement {
  // The child runs with --expose-gc; elsewhere `gc` is absent and the figure is left out.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return {
    ...(gc === undefined ? {} : { retainedHeapMb: process.memoryUsage().heapUsed / MB }),
    ...m,
    eventsPerSecond: m.events / m.seconds,
    mbPerSecond: m.bytes / MB / m.seconds,
    maxRssMb: usageReport.peakRssMb(),
  };
}

/**
 * EKS and AKS records carry the audit event as a JSON string inside the JSON envelope
 * (`message`, `properties.log`): any tool that reads the event must parse it a second time.
 * `bare-decode` adds exactly that second JSON.parse, so it is the floor for reading the events
 * themselves, where `bare` is the floor for reading the lines.
 */
function decodeEmbedded(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const v = value as Record<string, unknown>;
  if (typeof v['message'] === 'string') JSON.parse(v['message']);
  const props = v['properties'];
  if (props !== null && typeof props === 'object' && typeof (props as Record<string, unknown>)['log'] === 'string') {
    JSON.parse((props as Record<string, string>)['log']!);
  }
}

/** The floor any JSONL tool pays: stream the file, split lines, JSON.parse each (`bare-decode`: and the event inside). */
export async function measureBare(file: string, mode: 'bare' | 'bare-decode' = 'bare'): Promise<Measurement> {
  const bytes = (await stat(file)).size;
  const started = performance.now();
  const events = await parseEveryLine(file, mode === 'bare-decode' ? decodeEmbedded : undefined);
  return finish({ mode, file, bytes, events, seconds: (performance.now() - started) / 1000 });
}

/** The rule with its `evaluate` time added to `ruleMs[rule.id]`. */
function timed(rule: AnyRule, ruleMs: Record<string, number>): AnyRule {
  ruleMs[rule.id] = 0;
  const evaluate = rule.evaluate.bind(rule) as (e: AuditEvent, ctx: RuleContext<unknown>) => ReturnType<AnyRule['evaluate']>;
  return {
    ...rule,
    evaluate(e: AuditEvent, ctx: RuleContext<unknown>) {
      const t0 = performance.now();
      try {
        return evaluate(e, ctx);
      } finally {
        ruleMs[rule.id] = (ruleMs[rule.id] ?? 0) + performance.now() - t0;
      }
    },
  };
}

/**
 * What `credwatch scan FILE` does: read, detect, parse, normalise, then every rule through the
 * engine. `parse` stops before the engine (no rules); `by-rule` times each rule's `evaluate`,
 * which costs a little itself, so it is run separately from the timed pipeline.
 */
export async function measurePipeline(file: string, mode: 'parse' | 'pipeline' | 'by-rule' = 'pipeline'): Promise<Measurement> {
  const bytes = (await stat(file)).size;
  const ruleMs: Record<string, number> = {};
  const rules: AnyRule[] =
    mode === 'parse'
      ? []
      : mode === 'pipeline'
        ? [...RULES]
        : RULES.map((rule) => timed(rule, ruleMs));
  const started = performance.now();
  let findings = 0;
  const pipeline = new Pipeline({ engine: new Engine({ rules }), onFinding: () => void findings++ });
  await pipeline.consume(readInputs([file]));
  const t = pipeline.tally();
  measured = pipeline;
  return finish({
    mode,
    file,
    bytes,
    events: t.events,
    seconds: (performance.now() - started) / 1000,
    findings,
    skipped: t.skipped.total,
    rejected: t.rejected.total,
    ...(mode === 'by-rule' ? { ruleMs } : {}),
  });
}
