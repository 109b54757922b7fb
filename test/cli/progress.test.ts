import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../adapters/file/read.js';
import { k8sEvent } from '../../examples/audit-records.js';
import { runCli } from '../../functions/cli/run-cli.js';
import { PROGRESS_MIN_BYTES, startProgress, totalInputBytes } from '../../functions/cli/progress.js';
import { TEST_RULES } from './cli-harness.js';

function fakeTerminal(): { stream: Writable & { isTTY: boolean; columns: number }; text: () => string } {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
    { isTTY: true, columns: 100 },
  );
  return { stream, text: () => chunks.join('') };
}

describe('progress bar', () => {
  it('sums the sizes of files and folders, counting stdin and missing paths as 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-progress-'));
    writeFileSync(join(dir, 'a.jsonl'), 'x'.repeat(1000));
    writeFileSync(join(dir, 'b.jsonl'), 'y'.repeat(234));
    const single = join(tmpdir(), `credwatch-progress-${process.pid}.jsonl`);
    writeFileSync(single, 'z'.repeat(66));
    expect(await totalInputBytes([dir, single, '-', join(dir, 'missing')])).toBe(1300);
  });

  it('counts exactly the files the reader reads: hidden files and folders are left out of both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-progress-'));
    const event = `${JSON.stringify(k8sEvent({ verb: 'list', user: 'u', resource: 'secrets' }))}\n`;
    writeFileSync(join(dir, 'a.jsonl'), event);
    writeFileSync(join(dir, '.hidden.jsonl'), event.repeat(50));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'b.jsonl'), event.repeat(20));
    const read = new Set<string>();
    for await (const batch of readInputs([dir])) {
      for (const o of batch) if (o.kind === 'event') read.add(o.event.origin.source);
    }
    expect([...read]).toEqual([join(dir, 'a.jsonl')]);
    expect(await totalInputBytes([dir])).toBe(statSync(join(dir, 'a.jsonl')).size);
  });

  it('draws the bytes read across files on a terminal', () => {
    const term = fakeTerminal();
    const bar = startProgress(term.stream, 64 * 1024 * 1024);
    bar.update('a.jsonl', 16 * 1024 * 1024);
    bar.update('b.jsonl', 16 * 1024 * 1024);
    bar.stop();
    expect(term.text()).toContain('scanning [');
    expect(term.text()).toContain('| 0.0/64 MB');
    expect(term.text()).toContain('50% | 32/64 MB');
    // Counting bytes (not rounded megabytes) gives an ETA from the first update on.
    expect(term.text()).not.toContain('ETA NF');
  });

  it('stays off for small inputs even on a terminal, so the summary is all stderr shows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-progress-'));
    const file = join(dir, 'small.jsonl');
    writeFileSync(file, JSON.stringify(k8sEvent({ verb: 'list', user: 'u', resource: 'secrets' })) + '\n');
    const term = fakeTerminal();
    const out = fakeTerminal();
    const code = await runCli(['scan', file], { stdout: out.stream, stderr: term.stream, stdin: process.stdin, env: {}, isTTY: true }, { rules: TEST_RULES });
    expect(code).toBe(0);
    expect(term.text()).toMatch(/^credwatch: 1 record → 1 event, 0 skipped, 0 rejected in /);
    expect(PROGRESS_MIN_BYTES).toBe(32 * 1024 * 1024);
  });
});
