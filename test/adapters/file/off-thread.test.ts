import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

/**
 * The reader thread only runs from the build (a worker cannot load TypeScript), so this test reads
 * through dist/, which `npm test` builds first: the same file read on the second thread and on
 * this one must give the same events and rejections in the same order, and the same counts.
 */
const DIST = join(import.meta.dirname, '..', '..', '..', 'dist');
const built = existsSync(join(DIST, 'adapters', 'file', 'line-worker.js'));

interface ReadModule {
  readInputs(inputs: string[], options: Record<string, unknown>): AsyncIterable<ParseOutcome[]>;
  readsOffThread(path: string, size: number, options: Record<string, unknown>): Promise<boolean>;
  MAX_LINE_CHARS?: number;
}

let dir: string;
let path: string;
let size: number;

const summary = (o: ParseOutcome): string =>
  o.kind === 'event' || o.kind === 'runtime'
    ? `${o.kind}:${o.event.id}:${o.event.origin.line ?? '-'}:${o.event.origin.index ?? '-'}`
    : o.kind === 'rejected'
      ? `rejected:${o.rejection.reason}:${o.rejection.origin.line ?? '-'}:${o.rejection.detail}`
      : 'skipped';

async function read(mod: ReadModule, prefilter: unknown, offThread: boolean): Promise<{ ordered: string[]; skipped: number; total: number }> {
  const ordered: string[] = [];
  let skipped = 0;
  let total = 0;
  for await (const batch of mod.readInputs([path], { prefilter, offThread })) {
    for (const o of batch) {
      // A skipped outcome may stand for many lines (`count`).
      const n = o.kind === 'skipped' ? (o.count ?? 1) : 1;
      total += n;
      if (o.kind === 'skipped') skipped += n;
      else ordered.push(summary(o));
    }
  }
  return { ordered, skipped, total };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credwatch-offthread-'));
  path = join(dir, 'mixed.jsonl');
  const demo = join(import.meta.dirname, '..', '..', '..', 'demo');
  const clouds = ['eks-prod-1.cloudwatch-subscription.jsonl.gz', 'aks-prod-1.diagnostic-records.jsonl.gz', 'gke-prod-1.log-entries.jsonl.gz'];
  const lines = (await Promise.all(clouds.map(async (f) => gunzipSync(await readFile(join(demo, f))).toString('utf8').split('\n').filter((l) => l !== '')))).flat();
  // Every demo record, over and over (ids stay as they are: the reader does not judge them), with
  // what a splitter can get wrong between them: blank lines, CR LF, a cut record, a line too long.
  const parts: string[] = [];
  for (let round = 0; round < 5; round++) {
    parts.push(lines.join('\n'), '', lines.slice(0, 50).join('\r\n') + '\r', '{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","user":{"usern');
    if (round === 2) parts.push('x'.repeat(9 * 1024 * 1024));
  }
  parts.push(lines[0]!.slice(0, -1) + '}'); // the last line, without a newline after it
  const text = parts.join('\n');
  await writeFile(path, text);
  size = Buffer.byteLength(text);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('splitting and prefiltering on a second thread', () => {
  it('gives the same events, rejections and counts as reading on this thread', async () => {
    const mod = (await import(join(DIST, 'adapters', 'file', 'read.js'))) as ReadModule;
    const { compilePrefilter } = (await import(join(DIST, 'adapters', 'file', 'prefilter.js'))) as { compilePrefilter(rules: unknown): unknown };
    const { RULES } = (await import(join(DIST, 'rules', 'index.js'))) as { RULES: unknown };
    const prefilter = compilePrefilter(RULES);
    expect(size).toBeGreaterThan(16 * 1024 * 1024);
    expect(await mod.readsOffThread(path, size, { prefilter })).toBe(true);
    expect(await mod.readsOffThread(path, size, { prefilter, offThread: false })).toBe(false);

    const here = await read(mod, prefilter, false);
    const there = await read(mod, prefilter, true);
    expect(there.total).toBe(here.total);
    expect(there.skipped).toBe(here.skipped);
    expect(there.ordered).toEqual(here.ordered);
    // The file holds what the comparison is about: dropped lines, events, a too-long line, cut records.
    expect(here.skipped).toBeGreaterThan(1000);
    expect(here.ordered.filter((s) => s.startsWith('event:')).length).toBeGreaterThan(1000);
    expect(here.ordered.filter((s) => s.startsWith('rejected:too-large')).length).toBe(1);
    expect(here.ordered.filter((s) => s.startsWith('rejected:truncated')).length).toBe(5);
  }, 120_000);

  it('gives the same from a thread started ahead of its job, by this copy of the module or another, and a thread never given one holds no process open', async () => {
    const mod = (await import(join(DIST, 'adapters', 'file', 'read.js'))) as ReadModule;
    const threads = (await import(join(DIST, 'adapters', 'file', 'off-thread-lines.js'))) as { prestartLineReader(): void };
    const { compilePrefilter } = (await import(join(DIST, 'adapters', 'file', 'prefilter.js'))) as { compilePrefilter(rules: unknown): unknown };
    const { RULES } = (await import(join(DIST, 'rules', 'index.js'))) as { RULES: unknown };
    const prefilter = compilePrefilter(RULES);
    const here = await read(mod, prefilter, false);
    threads.prestartLineReader();
    // Started and waiting for its job, as it is when the CLI has loaded.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const there = await read(mod, prefilter, true);
    expect(there).toEqual(here);

    // The bin starts the thread from its own copy of this module (functions/cli/bin.ts); another
    // copy, the CLI bundle's, takes it.
    const url = pathToFileURL(join(DIST, 'adapters', 'file', 'off-thread-lines.js')).href;
    const bins = (await import(`${url}?copy=bin`)) as { prestartLineReader(): void };
    const spare = Symbol.for('credwatch.spareLineReader');
    bins.prestartLineReader();
    expect((globalThis as Record<symbol, unknown>)[spare]).toBeDefined();
    expect(await read(mod, prefilter, true)).toEqual(here);
    expect((globalThis as Record<symbol, unknown>)[spare]).toBeUndefined();

    const script = `import(${JSON.stringify(join(DIST, 'adapters', 'file', 'off-thread-lines.js'))}).then((m) => m.prestartLineReader())`;
    const started = Date.now();
    const exit = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    expect(exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 120_000);

  it('is not used for a small, compressed or pretty-printed file', async () => {
    const mod = (await import(join(DIST, 'adapters', 'file', 'read.js'))) as ReadModule;
    const prefilter = { keep: () => true, needs: [] };
    const pretty = join(dir, 'pretty.json');
    await writeFile(pretty, '[\n' + ' '.repeat(17 * 1024 * 1024) + ']\n');
    expect(await mod.readsOffThread(pretty, 17 * 1024 * 1024, { prefilter })).toBe(false);
    expect(await mod.readsOffThread(path, 1024, { prefilter })).toBe(false);
    const gz = join(dir, 'x.jsonl.gz');
    await writeFile(gz, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    expect(await mod.readsOffThread(gz, 17 * 1024 * 1024, { prefilter })).toBe(false);
    expect(await mod.readsOffThread(path, size, {})).toBe(false);
  });
});
