import { createReadStream, type ReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { SourceError } from '../../core/errors.js';
import { rejected, skipped, type ParseHints, type ParseOutcome } from '../../core/parse-result.js';
import { MAX_LINE_CHARS, parseAnyLine, parseAnyRecord } from './detect.js';
import { LineSplitter } from './line-splitter.js';
import type { LinePrefilter } from './prefilter.js';

/**
 * Files, folders, `.gz` and stdin → batches of parse outcomes (docs/input-formats.md). JSONL is
 * streamed line by line (memory bounded by one line and one batch); a file that is one JSON
 * document (pretty-printed CLI output) is parsed whole, up to a cap.
 */

export interface InputProgress {
  file: string;
  bytesRead: number;
  totalBytes?: number;
}

export interface ReadInputsOptions {
  hints?: ParseHints;
  onProgress?: (p: InputProgress) => void;
  /** Outcomes per yielded batch (default 200). */
  batchSize?: number;
  /** The stream read for `-` (default `process.stdin`); tests pass their own. */
  stdin?: Readable;
  /**
   * Lines this rejects are counted (skipped, `not-needed`) without being parsed: no enabled rule
   * can use them. Whole-document inputs are always parsed.
   */
  prefilter?: LinePrefilter;
}

/** V8 strings stop at ~512 Mi chars; a whole-document input must fit in one. */
export const MAX_DOCUMENT_CHARS = 500 * 1024 * 1024;
/**
 * Piece size and batch size bound how many parsed records wait for the engine at once: every young
 * GC copies the waiting ones, so 1 MiB pieces and 1000-record batches cost a scan twice the GC
 * time of 128 KiB and 200 (measured on the bench file; smaller gained nothing more).
 * Reads are larger than pieces: the next read is in flight while a whole read is parsed piece by
 * piece, where one 128 KiB read per piece left the scan waiting on the disk thread for a tenth of
 * its time on a busy machine (bench file: about 10 % more events per second).
 */
const CHUNK_BYTES = 128 * 1024;
const READ_BYTES = 4 * CHUNK_BYTES;
const BATCH_SIZE = 200;
const YAML = /\.ya?ml(\.gz)?$/i;

interface Input {
  name: string;
  path?: string;
  size?: number;
}

function unreadable(path: string, err: unknown): SourceError {
  const why = err instanceof Error ? err.message : String(err);
  return new SourceError('input-unreadable', `cannot read input ${path}: ${why}; check the path and its permissions`, { cause: err });
}

async function walk(dir: string, out: Input[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw unreadable(dir, err);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    // Hidden files (.DS_Store, .git) are never exports.
    if (entry.name.startsWith('.')) continue;
    await addPath(join(dir, entry.name), out);
  }
}

async function addPath(path: string, out: Input[]): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  if (s.isDirectory()) await walk(path, out);
  else out.push({ name: path, path, size: s.size });
}

async function resolveInputs(inputs: string[]): Promise<Input[]> {
  const out: Input[] = [];
  for (const input of inputs) {
    if (input === '-') out.push({ name: '-' });
    else await addPath(input, out);
  }
  return out;
}

/** How a text input is laid out, decided from its first line. */
type Layout = 'lines' | 'document';

function layoutOf(firstLine: string): Layout {
  const line = firstLine.trim();
  const first = line[0];
  if (first !== '[' && first !== '{') return 'lines';
  try {
    JSON.parse(line);
    return 'lines';
  } catch {
    // Pretty-printed CLI output opens a container on line 1 (`[`, `{`, `{"events": [`); a cut
    // JSONL record does not end in an opening bracket.
    return first === '[' || line.endsWith('{') || line.endsWith('[') ? 'document' : 'lines';
  }
}

class Batcher {
  private batch: ParseOutcome[] = [];
  constructor(private readonly size: number) {}
  add(outcomes: ParseOutcome[]): void {
    for (const o of outcomes) this.batch.push(o);
  }
  take(force: boolean): ParseOutcome[] | undefined {
    if (this.batch.length === 0 || (!force && this.batch.length < this.size)) return undefined;
    const b = this.batch;
    this.batch = [];
    return b;
  }
}

async function* readOne(input: Input, options: ReadInputsOptions): AsyncGenerator<ParseOutcome[]> {
  const source = input.name;
  const hints = options.hints ?? {};
  if (YAML.test(source)) {
    yield [rejected({ source }, 'unknown-shape', 'YAML input is not supported; convert it to JSON first (for example `yq -o=json`)')];
    return;
  }
  let fileStream: ReadStream | undefined;
  let stream: Readable;
  if (input.path === undefined) stream = options.stdin ?? process.stdin;
  else {
    fileStream = createReadStream(input.path, { highWaterMark: READ_BYTES });
    stream = fileStream;
  }
  if (/\.gz$/i.test(source)) stream = stream.pipe(createGunzip());
  if (fileStream !== undefined && stream !== fileStream) {
    // pipe() does not forward source errors; surface them on the stream being read.
    fileStream.on('error', (err) => stream.destroy(err));
  }

  const batcher = new Batcher(options.batchSize ?? BATCH_SIZE);
  const prefilter = options.prefilter;
  // One outcome object for every dropped line of this input: they are counted, not looked at.
  const notNeeded = [skipped({ source }, 'not-needed')];
  const lines = new LineSplitter(
    MAX_LINE_CHARS,
    (text, line) => batcher.add(parseAnyLine(text, { source, line }, hints)),
    (line) => batcher.add([rejected({ source, line }, 'too-large', `line longer than ${MAX_LINE_CHARS} chars`)]),
    prefilter === undefined ? undefined : { keep: (text, start, end) => prefilter.keep(text, start, end), onDropped: () => batcher.add(notNeeded) },
  );
  /** Decodes a whole-document input; JSONL lines are decoded one by one (LineSplitter). */
  const decoder = new StringDecoder('utf8');
  let layout: Layout | undefined;
  /** The bytes read while the layout is not yet known. */
  let head: Buffer | undefined;
  const doc: string[] = [];
  let docChars = 0;
  let bytes = 0;

  const take = (buf: Buffer, final: boolean): void => {
    if (layout === undefined) {
      head = head === undefined ? buf : Buffer.concat([head, buf]);
      // A fresh decoder holds back a cut multi-byte char at the end, as the stream would.
      const text = new StringDecoder('utf8').write(head);
      const start = text.search(/\S/);
      const nl = start < 0 ? -1 : text.indexOf('\n', start);
      if (nl < 0 && !final && text.length <= MAX_LINE_CHARS) return;
      layout = start < 0 ? 'lines' : nl < 0 ? (text[start] === '[' ? 'document' : 'lines') : layoutOf(text.slice(start, nl));
      buf = head;
      head = undefined;
    }
    if (layout === 'lines') {
      lines.write(buf);
      if (final) lines.end();
      return;
    }
    const text = final ? decoder.write(buf) + decoder.end() : decoder.write(buf);
    docChars += text.length;
    if (docChars > MAX_DOCUMENT_CHARS) throw new DocumentTooLarge();
    doc.push(text);
  };

  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      bytes += buf.length;
      for (let at = 0; at < buf.length; at += CHUNK_BYTES) {
        take(buf.length <= CHUNK_BYTES ? buf : buf.subarray(at, at + CHUNK_BYTES), false);
        const b = batcher.take(false);
        if (b !== undefined) yield b;
      }
      options.onProgress?.({ file: source, bytesRead: fileStream?.bytesRead ?? bytes, ...(input.size === undefined ? {} : { totalBytes: input.size }) });
    }
    take(Buffer.alloc(0), true);
  } catch (err) {
    fileStream?.destroy();
    if (err instanceof DocumentTooLarge) {
      batcher.add([rejected({ source }, 'too-large', `JSON document larger than ${MAX_DOCUMENT_CHARS} chars; split it or export JSON lines`)]);
    } else if (isZlibError(err)) {
      batcher.add([rejected({ source, line: lines.line + 1 }, 'decode-failed', `gzip: ${(err as Error).message}`)]);
    } else throw unreadable(source, err);
  }
  if (layout === 'document' && doc.length > 0) batcher.add(parseDocument(doc.join(''), source, hints));
  const last = batcher.take(true);
  if (last !== undefined) yield last;
}

class DocumentTooLarge extends Error {}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * A whole-document input. One that is not valid JSON is tried as lines (a JSONL file whose first
 * line looked like an opening bracket); if no line gives an event either, it is one rejection.
 */
function parseDocument(text: string, source: string, hints: ParseHints): ParseOutcome[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const out: ParseOutcome[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      for (const o of parseAnyLine(lines[i]!.replace(/\r$/, ''), { source, line: i + 1 }, hints)) out.push(o);
    }
    if (out.some((o) => o.kind === 'event')) return out;
    const why = err instanceof Error ? err.message : String(err);
    return [rejected({ source }, err instanceof RangeError ? 'too-large' : 'malformed-json', `JSON document: ${why}`)];
  }
  return parseAnyRecord(value, { source }, hints);
}

/**
 * Reads every input in order (folders recursively, sorted by name) and yields outcomes in batches.
 * An input that cannot be read throws a `SourceError` with code `input-unreadable` naming it;
 * all paths are checked before anything is yielded.
 */
export function readInputs(inputs: string[], options: ReadInputsOptions = {}): AsyncIterable<ParseOutcome[]> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const input of await resolveInputs(inputs)) yield* readOne(input, options);
    },
  };
}
