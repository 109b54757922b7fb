import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputs, type InputProgress, type ReadInputsOptions } from '../../../adapters/file/read.js';
import { SourceError } from '../../../core/errors.js';
import { asAks, asEks, asGke, k8sEvent } from '../../../core/example-records.js';
import type { ParseOutcome } from '../../../core/parse-result.js';

let dir: string;
const ev = (name: string) => k8sEvent({ verb: 'get', user: 'alice', resource: 'secrets', namespace: 'ns', name });
const line = (name: string) => JSON.stringify(ev(name));

async function collect(inputs: string[], options: ReadInputsOptions = {}): Promise<{ batches: number; outcomes: ParseOutcome[] }> {
  const outcomes: ParseOutcome[] = [];
  let batches = 0;
  for await (const batch of readInputs(inputs, options)) {
    batches++;
    outcomes.push(...batch);
  }
  return { batches, outcomes };
}

/** `event:<name>@<source>:<line>` or the reason, for compact exact assertions. */
const summary = (outcomes: ParseOutcome[]) =>
  outcomes.map((o) => {
    if (o.kind === 'event') return `event:${o.event.target.name}@${o.event.origin.source.replace(dir, '')}:${o.event.origin.line ?? '-'}:${o.event.origin.index ?? '-'}`;
    if (o.kind === 'skipped') return `skipped:${o.skip.reason}`;
    if (o.kind !== 'rejected') return o.kind;
    return `rejected:${o.rejection.reason}@${o.rejection.origin.source.replace(dir, '')}:${o.rejection.origin.line ?? '-'}`;
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credwatch-read-'));
  await writeFile(join(dir, 'a.jsonl'), `${line('a1')}\n\n${line('a2')}\r\n{"oops":\n${line('a4')}`);
  await writeFile(join(dir, 'b.jsonl.gz'), gzipSync(`${line('b1')}\n${line('b2')}\n`));
  await writeFile(join(dir, 'gcloud.json'), JSON.stringify([asGke(ev('g1')), asGke(ev('g2'))], null, 2));
  await writeFile(join(dir, 'aws.json'), JSON.stringify({ events: [asEks(ev('e1'))], searchedLogStreams: [] }, null, 4));
  await writeFile(join(dir, 'az.json'), JSON.stringify([asAks(ev('z1'), { form: 'aksaudit' })], null, 2));
  await writeFile(join(dir, 'audit.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Event\n');
  await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
  await writeFile(join(dir, 'nested', 'deeper', 'c.jsonl'), `${line('c1')}\n`);
  await writeFile(join(dir, 'nested', '.hidden.jsonl'), `${line('hidden')}\n`);
  await writeFile(join(dir, 'huge.jsonl'), `${line('h1')}\n${'x'.repeat(9 * 1024 * 1024)}\n${line('h3')}\n`);
  await writeFile(join(dir, 'proto.jsonl'), `{"__proto__":{"records":[1]},"constructor":{"prototype":{"x":1}}}\n${line('p2')}\n`);
  await writeFile(join(dir, 'broken.json.gz'), gzipSync(`${line('k1')}\n`).subarray(0, 30));
  await writeFile(join(dir, 'cut-doc.json'), JSON.stringify([asGke(ev('d1'))], null, 2).slice(0, 200));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file read', () => {
  it('reads a file of many reads line by line, multi-byte characters cut at read and piece boundaries', async () => {
    // ~1.3 MB: several reads, each split into pieces; varying lengths put every boundary mid-line.
    const names = Array.from({ length: 3000 }, (_, i) => `s${i}-\u00e9\u4e2d${'y'.repeat(i % 53)}`);
    // Its own folder: the folder walk below lists `dir`.
    const own = await mkdtemp(join(tmpdir(), 'credwatch-read-many-'));
    try {
      await writeFile(join(own, 'many.jsonl'), names.map((n) => `${line(n)}\n`).join(''));
      const { outcomes } = await collect([join(own, 'many.jsonl')]);
      expect(outcomes.map((o) => (o.kind === 'event' ? `${o.event.target.name}:${o.event.origin.line}` : o.kind))).toEqual(names.map((n, i) => `${n}:${i + 1}`));
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('streams JSONL with line numbers, blank lines and CRLF, and no trailing newline', async () => {
    const { outcomes } = await collect([join(dir, 'a.jsonl')]);
    expect(summary(outcomes)).toEqual(['event:a1@/a.jsonl:1:-', 'event:a2@/a.jsonl:3:-', 'rejected:malformed-json@/a.jsonl:4', 'event:a4@/a.jsonl:5:-']);
  });

  it('reads gzip files', async () => {
    const { outcomes } = await collect([join(dir, 'b.jsonl.gz')]);
    expect(summary(outcomes)).toEqual(['event:b1@/b.jsonl.gz:1:-', 'event:b2@/b.jsonl.gz:2:-']);
  });

  it('parses pretty-printed CLI documents whole', async () => {
    const { outcomes } = await collect([join(dir, 'gcloud.json'), join(dir, 'aws.json'), join(dir, 'az.json')]);
    expect(summary(outcomes)).toEqual([
      'event:g1@/gcloud.json:-:0',
      'event:g2@/gcloud.json:-:1',
      'event:e1@/aws.json:-:0',
      'event:z1@/az.json:-:0',
    ]);
  });

  it('walks folders recursively in name order, skipping hidden files', async () => {
    const { outcomes } = await collect([join(dir, 'nested')]);
    expect(summary(outcomes)).toEqual(['event:c1@/nested/deeper/c.jsonl:1:-']);
    const all = await collect([dir]);
    const sources = [...new Set(all.outcomes.map((o) => (o.kind === 'skipped' ? o.skip.origin : o.kind === 'rejected' ? o.rejection.origin : o.event.origin).source.replace(dir, '')))];
    expect(sources).toEqual(['/a.jsonl', '/audit.yaml', '/aws.json', '/az.json', '/b.jsonl.gz', '/broken.json.gz', '/cut-doc.json', '/gcloud.json', '/huge.jsonl', '/nested/deeper/c.jsonl', '/proto.jsonl']);
  });

  it('rejects a huge line and goes on with the next', async () => {
    const { outcomes } = await collect([join(dir, 'huge.jsonl')]);
    expect(summary(outcomes)).toEqual(['event:h1@/huge.jsonl:1:-', 'rejected:too-large@/huge.jsonl:2', 'event:h3@/huge.jsonl:3:-']);
  });

  it('treats __proto__ and constructor keys as data', async () => {
    const { outcomes } = await collect([join(dir, 'proto.jsonl')]);
    expect(summary(outcomes)).toEqual(['rejected:unknown-shape@/proto.jsonl:1', 'event:p2@/proto.jsonl:2:-']);
    expect(({} as Record<string, unknown>)['records']).toBeUndefined();
  });

  it('rejects YAML, a broken gzip stream and a cut document', async () => {
    const { outcomes } = await collect([join(dir, 'audit.yaml'), join(dir, 'broken.json.gz'), join(dir, 'cut-doc.json')]);
    expect(summary(outcomes)).toEqual(['rejected:unknown-shape@/audit.yaml:-', 'rejected:decode-failed@/broken.json.gz:1', 'rejected:malformed-json@/cut-doc.json:-']);
  });

  it('reads stdin for -', async () => {
    const stdin = Readable.from([Buffer.from(`${line('s1')}\n${line('s2').slice(0, 10)}`), Buffer.from(`${line('s2').slice(10)}\n`)]);
    const { outcomes } = await collect(['-'], { stdin, hints: { cluster: 'piped' } });
    expect(summary(outcomes)).toEqual(['event:s1@-:1:-', 'event:s2@-:2:-']);
    expect(outcomes.map((o) => (o.kind === 'event' ? o.event.cluster : undefined))).toEqual(['piped', 'piped']);
  });

  it('yields in batches and reports progress', async () => {
    const progress: InputProgress[] = [];
    const { batches, outcomes } = await collect([join(dir, 'a.jsonl')], { batchSize: 2, onProgress: (p) => progress.push(p) });
    expect([batches, outcomes.length]).toEqual([2, 4]);
    expect(progress.at(-1)).toEqual({ file: join(dir, 'a.jsonl'), bytesRead: 3 * line('a1').length + 13, totalBytes: 3 * line('a1').length + 13 });
  });

  it('throws input-unreadable naming the path before reading anything', async () => {
    const missing = join(dir, 'missing.jsonl');
    const err = await collect([join(dir, 'a.jsonl'), missing]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('input-unreadable');
    expect((err as SourceError).message).toContain(missing);
  });
});
