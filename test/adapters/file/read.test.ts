import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputs, type InputProgress, type ReadInputsOptions } from '../../../adapters/file/read.js';
import { SourceError } from '../../../core/model/errors.js';
import { asAks, asEks, asGke, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

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

  describe('compression by magic bytes, gzip members, byte order marks', () => {
    const real = readFileSync(new URL('../../fixtures/real/panther/gke-nodes-proxy-cadvisor.jsonl', import.meta.url), 'utf8').trimEnd();
    // 1,074 copies of a real GKE entry, each with its own insertId: the exact shape, many records.
    const many = Array.from({ length: 1074 }, (_, i) => real.replace('dc7605e6-1e19-4571-8a7a-d23682efcea1', `dc7605e6-${i}`)).join('\n') + '\n';
    const kinds = (outcomes: ParseOutcome[]) => {
      const count: Record<string, number> = {};
      for (const o of outcomes) count[o.kind] = (count[o.kind] ?? 0) + 1;
      return count;
    };
    const decodeFailures = (outcomes: ParseOutcome[]) =>
      outcomes.flatMap((o) => (o.kind === 'rejected' && o.rejection.reason === 'decode-failed' ? [`${o.rejection.origin.line}: ${o.rejection.detail}`] : []));

    it('reads gzip whatever the file is called and on stdin', async () => {
      await writeFile(join(dir, 'renamed.log'), gzipSync(many));
      const named = await collect([join(dir, 'renamed.log')]);
      expect(named.outcomes).toHaveLength(1074);
      expect(decodeFailures(named.outcomes)).toEqual([]);
      const piped = await collect(['-'], { stdin: Readable.from([gzipSync(many)]) });
      expect(piped.outcomes).toHaveLength(1074);
      expect(kinds(piped.outcomes)).toEqual(kinds(named.outcomes));
    });

    it('reads concatenated gzip members, and keeps every record before trailing garbage, as gzip -dc does', async () => {
      const half = many.indexOf('\n', many.length >> 1) + 1;
      await writeFile(join(dir, 'members.gz'), Buffer.concat([gzipSync(many.slice(0, half)), gzipSync(many.slice(half))]));
      expect((await collect([join(dir, 'members.gz')])).outcomes).toHaveLength(1074);
      await writeFile(join(dir, 'garbage.gz'), Buffer.concat([gzipSync(many), Buffer.from('\u0000\u0001trailing bytes of a half-written upload')]));
      const { outcomes } = await collect([join(dir, 'garbage.gz')]);
      expect(outcomes).toHaveLength(1075);
      expect(decodeFailures(outcomes)).toEqual([expect.stringMatching(/^1075: 41 bytes of trailing data after gzip member 1 ignored .*scanned \(at compressed byte \d+\)$/)]);
    });

    it('reports a bad CRC and a cut member after scanning what they held', async () => {
      const gz = gzipSync(many);
      const badCrc = Buffer.from(gz);
      badCrc[badCrc.length - 8] = badCrc[badCrc.length - 8]! ^ 0xff;
      await writeFile(join(dir, 'crc.gz'), badCrc);
      const crc = await collect([join(dir, 'crc.gz')]);
      expect(crc.outcomes).toHaveLength(1075);
      expect(decodeFailures(crc.outcomes)).toEqual([expect.stringContaining('gzip member 1: CRC mismatch')]);
      await writeFile(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 100));
      const cut = await collect([join(dir, 'cut.gz')]);
      const lines = cut.outcomes.filter((o) => o.kind !== 'rejected' || o.rejection.reason !== 'decode-failed');
      // The cut loses the end of the text only: every whole line before it is read, the cut one is malformed.
      expect(lines.length).toBeGreaterThan(1000);
      expect(decodeFailures(cut.outcomes)).toEqual([expect.stringContaining('gzip member 1 is cut short')]);
      // Corrupt compressed data: what zlib decodes before the bad bytes is still scanned.
      const small = gzipSync(Array.from({ length: 1074 }, (_, i) => line(`c${i}`)).join('\n') + '\n');
      const corrupt = Buffer.from(small);
      // Two bytes five sixths in that zlib refuses ("invalid distances set"), found by trying.
      corrupt[28875] = corrupt[28875]! ^ 0xff;
      corrupt[28876] = corrupt[28876]! ^ 0xff;
      await writeFile(join(dir, 'corrupt.gz'), corrupt);
      const bad = await collect([join(dir, 'corrupt.gz')]);
      expect(bad.outcomes.filter((o) => o.kind === 'event').length).toBeGreaterThan(850); // 824 without decoding the member again in small steps
      expect(decodeFailures(bad.outcomes)).toEqual([expect.stringMatching(/gzip member 1 is corrupt \(invalid distances set\); the data before it was scanned/)]);
    });

    it('says which compression it cannot read instead of reading it as text', async () => {
      await writeFile(join(dir, 'audit.xz'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0, 1, 2, 3]));
      const { outcomes } = await collect([join(dir, 'audit.xz')]);
      expect(decodeFailures(outcomes)).toEqual([expect.stringContaining('xz-compressed input is not supported; decompress it first')]);
      expect(outcomes).toHaveLength(1);
    });

    it('drops a UTF-8 byte order mark, so the first record parses, in plain, gzip and document inputs', async () => {
      const bom = Buffer.from([0xef, 0xbb, 0xbf]);
      await writeFile(join(dir, 'bom.jsonl'), Buffer.concat([bom, Buffer.from(`${real}\n${line('after')}\n`)]));
      const plain = await collect([join(dir, 'bom.jsonl')]);
      expect(plain.outcomes).toHaveLength(2);
      expect(plain.outcomes.map((o) => (o.kind === 'rejected' ? o.rejection.reason : o.kind))).not.toContain('malformed-json');
      expect(summary(plain.outcomes.slice(1))).toEqual([`event:after@${'/bom.jsonl'}:2:-`]);
      const gz = await collect(['-'], { stdin: Readable.from([gzipSync(Buffer.concat([bom, Buffer.from(`${line('g')}\n`)]))]) });
      expect(summary(gz.outcomes)).toEqual(['event:g@-:1:-']);
      // The mark cut across reads, before a pretty-printed document.
      const doc = Buffer.concat([bom, Buffer.from(JSON.stringify([ev('d1'), ev('d2')], null, 2))]);
      const cutBom = await collect(['-'], { stdin: Readable.from([doc.subarray(0, 1), doc.subarray(1, 2), doc.subarray(2)]) });
      expect(summary(cutBom.outcomes)).toEqual(['event:d1@-:-:0', 'event:d2@-:-:1']);
      await writeFile(join(dir, 'utf16.jsonl'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(line('u'), 'utf16le')]));
      expect(decodeFailures((await collect([join(dir, 'utf16.jsonl')])).outcomes)).toEqual([expect.stringContaining('UTF-16 text')]);
    });

    it('counts a flood of blank lines before the first record without holding it', async () => {
      const { outcomes } = await collect(['-'], { stdin: Readable.from([Buffer.alloc(3 * 1024 * 1024, 0x0a), Buffer.from(`${line('late')}\n`)]) });
      expect(summary(outcomes)).toEqual([`event:late@-:${3 * 1024 * 1024 + 1}:-`]);
    });
  });

  it('throws input-unreadable naming the path before reading anything', async () => {
    const missing = join(dir, 'missing.jsonl');
    const err = await collect([join(dir, 'a.jsonl'), missing]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('input-unreadable');
    expect((err as SourceError).message).toContain(missing);
  });
});
