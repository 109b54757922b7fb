import { constants, crc32, createInflateRaw, type InflateRaw } from 'node:zlib';

/**
 * An input's bytes as text bytes: gzip is recognised by its magic bytes (RFC 1952 §2.3.1:
 * `1f 8b`), whatever the file is called and on stdin too, and decoded member by member the way
 * `gzip -dc` does: members are concatenated, and what follows the last good member (trailing
 * garbage, a cut member, a CRC that does not match) is reported as a problem after everything
 * before it has been passed on. Node's own Gunzip stream drops the output of its last step when
 * it meets trailing bytes, which lost records a scan should have seen.
 *
 * Each member's deflate body goes through a raw inflater, which stops at the end of the deflate
 * stream and says (bytesWritten) how much input it used; the 8-byte trailer after it is checked
 * here (CRC-32 and length mod 2^32).
 */

export interface DecodeProblem {
  /** Byte offset in the compressed input where the problem starts. */
  offset: number;
  message: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];
/** Formats recognised by their magic bytes that this tool does not decode (say so, never read them as text). */
const UNSUPPORTED: ReadonlyArray<{ name: string; magic: readonly number[]; hint: string }> = [
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], hint: 'xz -dc' },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], hint: 'zstd -dc' },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], hint: 'bzip2 -dc' },
  { name: 'zip', magic: [0x50, 0x4b, 0x03, 0x04], hint: 'unzip -p' },
];
/** Enough leading bytes to tell every format above apart. */
const SNIFF_BYTES = 6;
/**
 * Compressed bytes fed to the inflater at a time. Deflate expands at most ~1032:1, so a slice
 * bounds the output one step can produce (16 MiB here) however hostile the input.
 */
const SLICE_BYTES = 16 * 1024;
const OUTPUT_CHUNK_BYTES = 64 * 1024;
/** A corrupt member is decoded again this many bytes at a time, if its compressed size is at most RECOVERY_MAX_BYTES. */
const RECOVERY_SLICE_BYTES = 64;
const RECOVERY_MAX_BYTES = 64 * 1024 * 1024;

const startsWith = (buf: Buffer, magic: readonly number[]): boolean => magic.every((b, i) => buf[i] === b);

export type Compression = 'gzip' | 'none' | { unsupported: string; hint: string };

export function compressionOf(head: Buffer): Compression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  for (const u of UNSUPPORTED) if (startsWith(head, u.magic)) return { unsupported: u.name, hint: u.hint };
  return 'none';
}

/**
 * The decoded bytes of `input`. Problems (unsupported compression, trailing garbage, a bad CRC,
 * a cut member) go to `onProblem` once the bytes before them have been yielded; the generator
 * then ends normally, so the caller scans what was recovered.
 */
export async function* decodedBytes(input: AsyncIterable<Buffer>, onProblem: (p: DecodeProblem) => void): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  let done = false;
  while (head.length < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    head = head.length === 0 ? r.value : Buffer.concat([head, r.value]);
  }
  const kind = compressionOf(head);
  if (typeof kind === 'object') {
    onProblem({ offset: 0, message: `${kind.unsupported}-compressed input is not supported; decompress it first (for example \`${kind.hint} FILE | credwatch scan -\`)` });
    return;
  }
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => it };
  if (kind === 'none') {
    if (head.length > 0) yield head;
    if (!done) for await (const chunk of rest) yield chunk;
    return;
  }
  yield* new GzipMembers(onProblem).decode(head, done ? undefined : rest);
}

/** `done`: a corrupt member was reported and the rest of the input is not decodable. */
type State = 'header' | 'body' | 'trailer' | 'garbage' | 'done';

/** Length of the gzip member header at the start of `b`, 'more' if it is not complete yet, 'bad' if `b` is no member. */
function headerLength(b: Buffer): number | 'more' | 'bad' {
  if (b.length >= 1 && b[0] !== 0x1f) return 'bad';
  if (b.length >= 2 && b[1] !== 0x8b) return 'bad';
  if (b.length >= 3 && b[2] !== 8) return 'bad'; // CM 8 = deflate, the only method defined
  if (b.length < 10) return 'more';
  const flags = b[3]!;
  let at = 10;
  if (flags & 0x04) {
    // FEXTRA: a 2-byte little-endian length, then that many bytes.
    if (b.length < at + 2) return 'more';
    at += 2 + b.readUInt16LE(at);
  }
  for (const bit of [0x08, 0x10]) {
    // FNAME, FCOMMENT: zero-terminated strings.
    if ((flags & bit) === 0) continue;
    const z = b.indexOf(0, at);
    if (z < 0) return 'more';
    at = z + 1;
  }
  if (flags & 0x02) at += 2; // FHCRC
  return b.length < at ? 'more' : at;
}

class GzipMembers {
  private state: State = 'header';
  /** Bytes received but not consumed yet (a header or trailer in pieces, input after a deflate body). */
  private pending: Buffer = Buffer.alloc(0);
  /** Offset in the input of `pending[0]`. */
  private offset = 0;
  private member = 0;
  private memberStart = 0;
  private inflater: InflateRaw | undefined;
  private fed = 0;
  private crc = 0;
  private size = 0;
  private ended = false;
  private out: Buffer[] = [];
  private garbageBytes = 0;
  private garbageAt = 0;
  private failure: Error | undefined;
  /** The current member's compressed bytes, for recovery after corrupt data; dropped past RECOVERY_MAX_BYTES. */
  private memberBytes: Buffer[] | undefined;
  private memberBytesLength = 0;
  /** Resolves the write being waited on when the inflater fails instead of calling back. */
  private wake: (() => void) | undefined;

  constructor(private readonly onProblem: (p: DecodeProblem) => void) {}

  async *decode(first: Buffer, rest: AsyncIterable<Buffer> | undefined): AsyncGenerator<Buffer> {
    this.pending = first;
    yield* this.step(false);
    if (rest !== undefined) {
      for await (const chunk of rest) {
        if (this.state === 'garbage') {
          this.garbageBytes += chunk.length;
          continue;
        }
        if (this.state === 'done') continue;
        this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
        yield* this.step(false);
      }
    }
    yield* this.step(true);
  }

  private problem(offset: number, message: string): void {
    this.onProblem({ offset, message });
  }

  private consume(n: number): void {
    this.pending = this.pending.subarray(n);
    this.offset += n;
  }

  private async *step(final: boolean): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.state === 'done') return;
      if (this.state === 'garbage') {
        if (final) {
          const n = this.garbageBytes + this.pending.length;
          this.pending = Buffer.alloc(0);
          this.problem(this.garbageAt, `${n} byte${n === 1 ? '' : 's'} of trailing data after gzip member ${this.member} ignored (not a gzip member), as gzip -dc does; the data before it was scanned`);
        }
        return;
      }
      if (this.state === 'header') {
        if (this.pending.length === 0) return;
        const h = headerLength(this.pending);
        if (h === 'bad' || (h === 'more' && final)) {
          if (this.member === 0) {
            this.problem(this.offset, h === 'bad' ? 'not a gzip stream (bad header)' : 'gzip header cut short: the input ends inside it');
            this.pending = Buffer.alloc(0);
            return;
          }
          this.state = 'garbage';
          this.garbageAt = this.offset;
          continue;
        }
        if (h === 'more') return;
        this.memberStart = this.offset;
        this.consume(h);
        this.startMember();
        this.state = 'body';
        continue;
      }
      if (this.state === 'body') {
        if (this.pending.length === 0) {
          if (!final) return;
          yield* this.finishCut();
          return;
        }
        const slice = this.pending.subarray(0, SLICE_BYTES);
        yield* this.feed(slice);
        if (this.failure !== undefined) {
          // The failing step's output was lost with the error: decode the member again in small
          // steps to pass on what precedes the corrupt bytes, as gzip -dc does.
          yield* this.recover();
          this.problem(this.offset, `gzip member ${this.member + 1} is corrupt (${this.failure.message}); the data before it was scanned`);
          this.pending = Buffer.alloc(0);
          this.inflater = undefined;
          this.state = 'done';
          return;
        }
        const used = this.inflater!.bytesWritten - (this.fed - slice.length);
        if (this.ended) {
          this.consume(used);
          this.inflater = undefined;
          this.state = 'trailer';
        } else {
          this.consume(slice.length);
        }
        continue;
      }
      // trailer
      if (this.pending.length < 8) {
        if (final) {
          this.problem(this.offset, `gzip member ${this.member + 1} has no complete trailer (the input ends inside it); its data was scanned unchecked`);
          this.pending = Buffer.alloc(0);
        }
        return;
      }
      const storedCrc = this.pending.readUInt32LE(0);
      const storedSize = this.pending.readUInt32LE(4);
      if (storedCrc !== this.crc >>> 0 || storedSize !== this.size % 2 ** 32) {
        const what = storedCrc !== this.crc >>> 0 ? `CRC mismatch (stored ${hex(storedCrc)}, computed ${hex(this.crc >>> 0)})` : `length mismatch (stored ${storedSize}, decoded ${this.size % 2 ** 32})`;
        this.problem(this.memberStart, `gzip member ${this.member + 1}: ${what}; its data may be corrupt and was scanned as it decoded, as gzip -dc outputs it`);
      }
      this.consume(8);
      this.member++;
      this.state = 'header';
    }
  }

  private startMember(): void {
    // SYNC_FLUSH at the end gives every byte a cut member still holds, instead of an error.
    const inflater = createInflateRaw({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK_BYTES });
    this.inflater = inflater;
    this.fed = 0;
    this.crc = 0;
    this.size = 0;
    this.ended = false;
    this.failure = undefined;
    this.memberBytes = [];
    this.memberBytesLength = 0;
    inflater.on('data', (d: Buffer) => this.out.push(d));
    inflater.on('end', () => {
      this.ended = true;
    });
    inflater.on('error', (err: Error) => {
      this.failure = err;
      this.wake?.();
    });
  }

  private *drain(): Generator<Buffer> {
    const out = this.out;
    this.out = [];
    for (const d of out) {
      this.crc = crc32(d, this.crc);
      this.size += d.length;
      yield d;
    }
  }

  /**
   * The output of a member whose inflater failed, up to the corrupt bytes, beyond what was
   * already passed on: its compressed bytes (kept while small enough) go through a fresh inflater
   * a few at a time, so only the last few bytes' output is lost with the error.
   */
  private async *recover(): AsyncGenerator<Buffer> {
    if (this.memberBytes === undefined) return;
    const body = Buffer.concat(this.memberBytes);
    this.memberBytes = undefined;
    const inflater = createInflateRaw({ chunkSize: OUTPUT_CHUNK_BYTES });
    const out: Buffer[] = [];
    let failed = false;
    let wake: (() => void) | undefined;
    inflater.on('data', (d: Buffer) => out.push(d));
    inflater.on('error', () => {
      failed = true;
      wake?.();
    });
    let skip = this.size;
    for (let at = 0; at < body.length && !failed; at += RECOVERY_SLICE_BYTES) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        inflater.write(body.subarray(at, at + RECOVERY_SLICE_BYTES), () => resolve());
      });
      for (const d of out.splice(0)) {
        if (skip >= d.length) {
          skip -= d.length;
          continue;
        }
        const fresh = skip > 0 ? d.subarray(skip) : d;
        skip = 0;
        this.size += fresh.length;
        yield fresh;
      }
    }
    inflater.destroy();
  }

  private async *feed(slice: Buffer): AsyncGenerator<Buffer> {
    const inflater = this.inflater!;
    this.fed += slice.length;
    if (this.memberBytes !== undefined) {
      this.memberBytes.push(slice);
      this.memberBytesLength += slice.length;
      if (this.memberBytesLength > RECOVERY_MAX_BYTES) this.memberBytes = undefined;
    }
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      inflater.write(slice, () => resolve());
    });
    // The inflater ends its readable side itself at the end of the deflate stream; when that
    // falls exactly on the slice's last byte, its 'end' may come one turn after the write.
    if (!this.ended && this.failure === undefined && inflater.bytesWritten === this.fed) await new Promise((r) => setImmediate(r));
    yield* this.drain();
  }

  /** The input ended inside a deflate body: what it holds is passed on, then the cut is reported. */
  private async *finishCut(): AsyncGenerator<Buffer> {
    const inflater = this.inflater!;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      inflater.once('end', () => resolve());
      inflater.end();
    });
    yield* this.drain();
    this.problem(this.offset, `gzip member ${this.member + 1} is cut short (the input ends inside its compressed data; gzip -dc says "unexpected end of file"); the data before the cut was scanned`);
    this.inflater = undefined;
    this.state = 'done';
  }
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
