import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { rejected, skippedLines, type ParseHints, type ParseOutcome } from '../../core/model/parse-result.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../k8s/json-prefix.js';
import { compressionOf, decodedBytes, type DecodeProblem } from './decompress.js';
import { MAX_LINE_CHARS, parseAnyLine, parseAnyRecord } from './detect.js';
import { ArrayStreamer, RecordCounter, type StreamedElement } from './json-stream.js';
import { LineSplitter } from './line-splitter.js';
import { KeptLines, linesOffThread, OFF_THREAD_MIN_BYTES, offThreadAvailable } from './off-thread-lines.js';
import type { LinePrefilter } from './prefilter.js';
import { inputFiles, unreadable } from './walk.js';

/**
 * Files, folders and stdin → batches of parse outcomes (docs/input-formats.md). Compression is
 * recognised by magic bytes, not by name (adapters/file/decompress.ts); a UTF-8 byte order mark is
 * dropped. JSONL is streamed line by line (memory bounded by one line and one batch); a file that
 * is one JSON document (pretty-printed CLI output) is parsed whole, up to a cap.
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
  /** Document size limits (defaults STREAM_DOCUMENT_CHARS, MAX_DOCUMENT_CHARS); tests lower them. */
  limits?: { streamDocumentChars?: number; maxDocumentChars?: number };
  /**
   * Lines this rejects are counted (skipped, `not-needed`) without being parsed: no enabled rule
   * can use them. Whole-document inputs are always parsed.
   */
  prefilter?: LinePrefilter;
  /**
   * Split and prefilter a large plain JSON-lines file on a second thread (default true): the same
   * events and rejections in the same order and the same counts (the lines it dropped are counted
   * a read at a time), sooner on a machine with a second core.
   */
  offThread?: boolean;
}

/** V8 strings stop at ~512 Mi chars; a whole-document input must fit in one. */
export const MAX_DOCUMENT_CHARS = 500 * 1024 * 1024;
/**
 * A document larger than this is no longer held: an array is streamed element by element (any
 * size), an object's records are counted so that one over MAX_DOCUMENT_CHARS is rejected with
 * every record it held counted. Below it a document is parsed whole, as it always was.
 */
export const STREAM_DOCUMENT_CHARS = 64 * 1024 * 1024;
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
/** The head read to tell a plain JSON-lines file: room for its first line. */
const HEAD_BYTES = 64 * 1024;
const YAML = /\.ya?ml(\.gz)?$/i;

interface Input {
  name: string;
  path?: string;
  size?: number;
}

async function resolveInputs(inputs: string[]): Promise<Input[]> {
  const out: Input[] = [];
  for (const input of inputs) {
    if (input === '-') out.push({ name: '-' });
    else for (const file of await inputFiles(input)) out.push({ name: file.path, ...file });
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
  /** Lines the prefilter dropped since the last other outcome: handed on as one counted outcome. */
  private dropped = 0;
  constructor(
    private readonly size: number,
    private readonly source: string,
  ) {}
  drop(lines = 1): void {
    this.dropped += lines;
  }
  add(outcomes: ParseOutcome[]): void {
    this.flushDropped();
    for (const o of outcomes) this.batch.push(o);
  }
  take(force: boolean): ParseOutcome[] | undefined {
    this.flushDropped();
    if (this.batch.length === 0 || (!force && this.batch.length < this.size)) return undefined;
    const b = this.batch;
    this.batch = [];
    return b;
  }
  private flushDropped(): void {
    if (this.dropped === 0) return;
    this.batch.push(skippedLines({ source: this.source }, 'not-needed', this.dropped));
    this.dropped = 0;
  }
}

async function* readOne(input: Input, options: ReadInputsOptions): AsyncGenerator<ParseOutcome[]> {
  const source = input.name;
  const hints = options.hints ?? {};
  if (YAML.test(source)) {
    yield [rejected({ source }, 'unknown-shape', 'YAML input is not supported; convert it to JSON first (for example `yq -o=json`)')];
    return;
  }
  const batcher = new Batcher(options.batchSize ?? BATCH_SIZE, source);
  const prefilter = options.prefilter;
  if (input.path !== undefined && prefilter !== undefined && (await readsOffThread(input.path, input.size ?? 0, options))) {
    const path = input.path;
    try {
      for await (const m of linesOffThread({ path, needs: prefilter.needs, maxChars: MAX_LINE_CHARS, pieceBytes: CHUNK_BYTES, readBytes: 2 * READ_BYTES, inFlight: 16 })) {
        for (const kept = new KeptLines(m); kept.next(); ) {
          const { line, text } = kept;
          batcher.add(
            text === undefined
              ? [rejected({ source, line }, 'too-large', `line longer than ${MAX_LINE_CHARS} chars`)]
              : parseAnyLine(text, { source, line }, hints),
          );
          const b = batcher.take(false);
          if (b !== undefined) yield b;
        }
        batcher.drop(m.dropped);
        const b = batcher.take(false);
        if (b !== undefined) yield b;
        options.onProgress?.({ file: source, bytesRead: m.bytesRead, ...(input.size === undefined ? {} : { totalBytes: input.size }) });
      }
    } catch (err) {
      throw unreadable(source, err);
    }
    const last = batcher.take(true);
    if (last !== undefined) yield last;
    return;
  }
  let fileStream: ReadStream | undefined;
  let stream: Readable;
  if (input.path === undefined) stream = options.stdin ?? process.stdin;
  else {
    fileStream = createReadStream(input.path, { highWaterMark: READ_BYTES });
    stream = fileStream;
  }
  const problems: DecodeProblem[] = [];
  const bytesIn = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
  };
  let compressedBytes = 0;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of bytesIn()) {
      compressedBytes += chunk.length;
      yield chunk;
    }
  };

  const lines = new LineSplitter(
    MAX_LINE_CHARS,
    (text, line) => batcher.add(parseAnyLine(text, { source, line }, hints)),
    (line) => batcher.add([rejected({ source, line }, 'too-large', `line longer than ${MAX_LINE_CHARS} chars`)]),
    prefilter === undefined ? undefined : { keep: (text, start, end) => prefilter.keep(text, start, end), onDropped: () => batcher.drop() },
  );
  /** Decodes a whole-document input; JSONL lines are decoded one by one (LineSplitter). */
  const decoder = new StringDecoder('utf8');
  let layout: Layout | undefined;
  /** The bytes read while the layout is not yet known. */
  let head: Buffer | undefined;
  /** Only the first bytes of an input may be a byte order mark. */
  let atStart = true;
  /** Blank lines before the first record (fed to the line splitter, which counts them). */
  let leadingLines = 0;
  let doc: string[] = [];
  let docChars = 0;
  /** A document too large to hold: an array streamed element by element, an object's records counted. */
  let streamer: ArrayStreamer | undefined;
  let counter: RecordCounter | undefined;
  let overLimit = false;
  const streamAfter = options.limits?.streamDocumentChars ?? STREAM_DOCUMENT_CHARS;
  const maxDocument = options.limits?.maxDocumentChars ?? MAX_DOCUMENT_CHARS;
  const startStreaming = (first: string): void => {
    if (first === '[') {
      streamer = new ArrayStreamer((e) => batcher.add(parseElement(e, source, hints)), MAX_LINE_CHARS);
      for (const piece of doc) streamer.write(piece);
      doc = [];
    } else {
      counter = new RecordCounter();
      for (const piece of doc) counter.write(piece);
    }
  };

  const take = (buf: Buffer, final: boolean): void => {
    if (atStart && buf.length > 0) {
      const b = head === undefined ? buf : Buffer.concat([head, buf]);
      if (b.length < 3 && !final) {
        head = b;
        return;
      }
      head = undefined;
      atStart = false;
      if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) buf = b.subarray(3);
      else if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) throw new Utf16Input();
      else buf = b;
    }
    if (layout === undefined && head === undefined && isAllNewlines(buf)) {
      // A flood of blank lines before the first record is counted, not kept while the layout is open.
      lines.write(buf);
      leadingLines = lines.line;
      if (final) lines.end();
      return;
    }
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
    if (streamer !== undefined) {
      streamer.write(text);
      return;
    }
    counter?.write(text);
    if (!overLimit) doc.push(text);
    if (streamer === undefined && counter === undefined && docChars > streamAfter) startStreaming(firstChar(doc));
    if (counter !== undefined && docChars > maxDocument && !overLimit) {
      // Past what one string can hold: the object is rejected whole, its records still counted.
      overLimit = true;
      doc = [];
    }
  };

  try {
    for await (const buf of decodedBytes(counted(), (p) => problems.push(p))) {
      for (let at = 0; at < buf.length; at += CHUNK_BYTES) {
        take(buf.length <= CHUNK_BYTES ? buf : buf.subarray(at, at + CHUNK_BYTES), false);
        const b = batcher.take(false);
        if (b !== undefined) yield b;
      }
      options.onProgress?.({ file: source, bytesRead: fileStream?.bytesRead ?? compressedBytes, ...(input.size === undefined ? {} : { totalBytes: input.size }) });
    }
    take(Buffer.alloc(0), true);
  } catch (err) {
    fileStream?.destroy();
    if (err instanceof Utf16Input) {
      batcher.add([rejected({ source, line: 1 }, 'decode-failed', 'UTF-16 text (byte order mark FF FE / FE FF); convert it to UTF-8 first (for example `iconv -f UTF-16 -t UTF-8`)')]);
    } else throw unreadable(source, err);
  }
  for (const p of problems) {
    // The problem comes after every line decoded before it: it is reported at the next line.
    batcher.add([rejected({ source, line: lines.line + 1 }, 'decode-failed', `${p.message} (at compressed byte ${p.offset})`)]);
  }
  if (streamer !== undefined) {
    streamer.end();
    if (streamer.problem !== undefined) {
      const n = streamer.completed;
      batcher.add([rejected({ source, index: n }, 'malformed-json', `JSON document: ${streamer.problem}; the ${n} record${n === 1 ? '' : 's'} before it were read, nothing after it`)]);
    }
  } else if (overLimit) {
    const n = Math.max(1, counter?.count ?? 0);
    const why = `JSON document of ${docChars} chars exceeds ${maxDocument}: an object this large cannot be parsed whole; split it or export JSON lines`;
    for (let index = 0; index < n; index++) batcher.add([rejected({ source, index }, 'too-large', why)]);
  } else if (layout === 'document' && doc.length > 0) batcher.add(parseDocument(doc.join(''), source, hints, leadingLines));
  const last = batcher.take(true);
  if (last !== undefined) yield last;
}

class Utf16Input extends Error {}

/**
 * Whether this file is split and prefiltered on a second thread: a large plain JSON-lines file,
 * a prefilter to run, the reader thread's script built, and `offThread` not turned off.
 */
export async function readsOffThread(path: string, size: number, options: ReadInputsOptions): Promise<boolean> {
  return options.prefilter !== undefined && options.offThread !== false && size >= OFF_THREAD_MIN_BYTES && offThreadAvailable() && (await isPlainJsonLines(path));
}

/**
 * True when the file is uncompressed JSON lines that start at its first byte (no byte order mark,
 * no blank lines first): the only layout the reader thread takes. Anything else is read here.
 */
async function isPlainJsonLines(path: string): Promise<boolean> {
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await file.read(buf, 0, HEAD_BYTES, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return false; // the in-thread reader reports why it cannot be read
  }
  if (head[0] !== 0x7b /* { */ || compressionOf(head) !== 'none') return false;
  const nl = head.indexOf(10);
  return nl > 0 && layoutOf(head.toString('utf8', 0, nl)) === 'lines';
}

/** The first non-blank character of a document's text. */
function firstChar(pieces: readonly string[]): string {
  for (const p of pieces) {
    const m = /\S/.exec(p);
    if (m !== null) return m[0];
  }
  return '';
}

/** One element of a streamed array document, detected like an item of a parsed one. */
function parseElement(e: StreamedElement, source: string, hints: ParseHints): ParseOutcome[] {
  const origin = { source, index: e.index };
  if (e.text === undefined) return [rejected(origin, 'too-large', `array element of ${e.chars} chars exceeds ${MAX_LINE_CHARS}`)];
  if (nestsDeeperThan(e.text)) return [rejected(origin, 'too-deep', `array element nested deeper than ${MAX_NESTING_DEPTH} levels`)];
  let value: unknown;
  try {
    value = JSON.parse(e.text);
  } catch (err) {
    return [rejected(origin, 'malformed-json', `array element: ${err instanceof Error ? err.message : String(err)}`)];
  }
  return parseAnyRecord(value, origin, hints);
}

const NEWLINES = Buffer.alloc(64 * 1024, 0x0a);

/** True for a non-empty buffer of newline bytes only, at memcmp speed. */
function isAllNewlines(buf: Buffer): boolean {
  if (buf.length === 0) return false;
  for (let at = 0; at < buf.length; at += NEWLINES.length) {
    const n = Math.min(NEWLINES.length, buf.length - at);
    if (buf.compare(NEWLINES, 0, n, at, at + n) !== 0) return false;
  }
  return true;
}

/**
 * A whole-document input. One that is not valid JSON is tried as lines (a JSONL file whose first
 * line looked like an opening bracket); if no line gives an event either, it is one rejection.
 */
function parseDocument(text: string, source: string, hints: ParseHints, linesBefore: number): ParseOutcome[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const out: ParseOutcome[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      for (const o of parseAnyLine(lines[i]!.replace(/\r$/, ''), { source, line: linesBefore + i + 1 }, hints)) out.push(o);
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
