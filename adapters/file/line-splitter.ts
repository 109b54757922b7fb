import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';

/**
 * Audit logs are nearly always ASCII, and Node decodes ASCII several times faster than UTF-8 (it
 * skips validation); both give the same string for ASCII bytes, so the fast one is used when a
 * check of the bytes (a fiftieth of the decode's cost) says it may.
 */
function decode(bytes: Buffer): string {
  return bytes.toString(isAscii(bytes) ? 'ascii' : 'utf8');
}

const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');
const LF_BLOCK = Buffer.alloc(64 * 1024, '\n');
const CRLF_BLOCK = Buffer.alloc(64 * 1024, '\r\n');

/**
 * How many bytes from `pos` (before `end`) repeat `block`'s pattern: compared a growing block at a
 * time, then halving at the first mismatch. For CR LF runs the result is rounded down to pairs by the caller.
 */
function runLength(buf: Buffer, pos: number, end: number, block: Buffer): number {
  let n = 0;
  let step = 64;
  while (pos + n < end) {
    const len = Math.min(step, end - pos - n);
    if (buf.compare(block, 0, len, pos + n, pos + n + len) === 0) {
      n += len;
      step = Math.min(step * 2, block.length);
    } else if (len <= 8) {
      while (pos + n < end && buf[pos + n] === block[n % 2]) n++;
      return n;
    } else {
      step = len >> 1;
    }
  }
  return n;
}

/**
 * Splits a byte stream into lines. A newline byte (0x0A) never occurs inside a multi-byte UTF-8
 * sequence, so the Buffer is split first: the whole lines of a chunk are decoded as one string and
 * only a cut line's bytes are carried to the next chunk. A StringDecoder over the stream instead
 * cost `rest + text` and its flattening (a second copy of every chunk) per chunk, about a tenth
 * of a file scan's time.
 */
export class LineSplitter {
  /** Lines seen so far, counting the one being skipped and blank ones. */
  line = 0;
  /** The start of a line not yet ended, own copies (a stream may reuse its chunk buffers). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The current line is over the limit: the rest of it is dropped as it streams by. */
  private skipping = false;

  constructor(
    private readonly maxChars: number,
    private readonly onLine: (text: string, line: number) => void,
    private readonly onTooLong: (line: number) => void,
    /**
     * Lines in text[start, end) this rejects are never cut out of their chunk (adapters/file/prefilter.ts);
     * `onDropped` counts them instead.
     */
    private readonly filter?: { keep(text: string, start: number, end: number): boolean; onDropped(line: number): void },
  ) {}

  write(buf: Buffer): void {
    let pos = 0;
    const nl = buf.indexOf(10);
    if (nl >= 0 && (this.pendingBytes > 0 || this.skipping)) {
      this.line++;
      if (this.skipping) this.skipping = false;
      else {
        this.pending.push(buf.subarray(0, nl));
        const whole = Buffer.concat(this.pending, this.pendingBytes + nl);
        this.pending = [];
        this.pendingBytes = 0;
        this.emit(whole, 0, whole.length);
      }
      pos = nl + 1;
    }
    const last = buf.lastIndexOf(10);
    if (last >= pos) {
      this.wholeLines(buf, pos, last + 1);
      pos = last + 1;
    }
    if (this.skipping || pos === buf.length) return;
    const tail = Buffer.from(buf.subarray(pos));
    this.pending.push(tail);
    this.pendingBytes += tail.length;
    // A UTF-8 char is at least one byte, so only a tail over the limit in bytes can be over it in
    // chars; it is then measured as the decoded text it is (a cut multi-byte char held back).
    if (this.pendingBytes > this.maxChars && new StringDecoder('utf8').write(Buffer.concat(this.pending)).length > this.maxChars) {
      // The line is already too long: report it once and drop the rest of it as it streams by.
      this.onTooLong(this.line + 1);
      this.skipping = true;
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  /** The last line, when the input does not end with a newline. */
  end(): void {
    if (this.skipping || this.pendingBytes === 0) return;
    this.line++;
    const whole = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.pass(whole.toString('utf8'));
  }

  /**
   * The whole lines in `buf[start, end)` (`end` just past a newline). Runs of blank lines are
   * counted by comparing the bytes against a block of newlines (memcmp speed) and never become
   * strings: a flood of blank lines costs what reading it does. Between runs, the lines are
   * decoded as one string and sliced.
   */
  private wholeLines(buf: Buffer, start: number, end: number): void {
    let pos = start;
    // Where the next blank line (LF LF or LF CR LF) starts; searched again only once passed, so
    // a chunk is scanned once for each kind however many runs it holds.
    let lf = -2;
    let crlf = -2;
    while (pos < end) {
      if (buf[pos] === 0x0a) {
        const n = runLength(buf, pos, end, LF_BLOCK);
        this.line += n;
        pos += n;
        continue;
      }
      if (buf[pos] === 0x0d && buf[pos + 1] === 0x0a) {
        const n = runLength(buf, pos, end, CRLF_BLOCK) >> 1;
        this.line += n;
        pos += 2 * n;
        continue;
      }
      if (lf !== -1 && lf < pos) lf = buf.indexOf(LF_LF, pos);
      if (crlf !== -1 && crlf < pos) crlf = buf.indexOf(LF_CRLF, pos);
      // The newline ending the last non-blank line before the next run of blank ones.
      let stop = end - 1;
      if (lf >= 0 && lf < stop) stop = lf;
      if (crlf >= 0 && crlf < stop) stop = crlf;
      this.textLines(buf, pos, stop + 1);
      pos = stop + 1;
    }
  }

  private textLines(buf: Buffer, start: number, end: number): void {
    // One string for all whole lines of the chunk, sliced per line. A string per line (as the
    // bare bench does) measured slower here: events keep those young strings alive across a
    // batch, and every scavenge copies them; a chunk-sized string is allocated old.
    const text = decode(buf.subarray(start, end));
    let from = 0;
    const filter = this.filter;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      this.line++;
      const stop = nl > from && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
      if (filter === undefined || filter.keep(text, from, stop)) this.onLine(text.slice(from, stop), this.line);
      else filter.onDropped(this.line);
      from = nl + 1;
    }
  }

  private emit(buf: Buffer, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    this.pass(buf.toString('utf8', start, end));
  }

  private pass(text: string): void {
    if (this.filter === undefined || this.filter.keep(text, 0, text.length)) this.onLine(text, this.line);
    else this.filter.onDropped(this.line);
  }
}
