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
      // One string for all whole lines of the chunk, sliced per line. A string per line (as the
      // bare bench does) measured slower here: events keep those young strings alive across a
      // batch, and every scavenge copies them; a chunk-sized string is allocated old.
      const text = decode(buf.subarray(pos, last + 1));
      let start = 0;
      const filter = this.filter;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        this.line++;
        const stop = end > start && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
        if (filter === undefined || filter.keep(text, start, stop)) this.onLine(text.slice(start, stop), this.line);
        else filter.onDropped(this.line);
        start = end + 1;
      }
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

  private emit(buf: Buffer, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    this.pass(buf.toString('utf8', start, end));
  }

  private pass(text: string): void {
    if (this.filter === undefined || this.filter.keep(text, 0, text.length)) this.onLine(text, this.line);
    else this.filter.onDropped(this.line);
  }
}
