/**
 * Structural scanning of a JSON document too large to parse whole: it is fed as text pieces and
 * never held. Strings are skipped with their escapes, so brackets and commas inside them do not
 * count. Two uses (adapters/file/read.ts):
 * - `ArrayStreamer` cuts a top-level array into its elements' texts, each parsed on its own
 *   (`gcloud logging read --format=json`, `kubectl get … -o json` style output);
 * - `RecordCounter` counts the elements of the record arrays of an envelope object (`events`,
 *   `records`, `items`, `logEvents`, `entries`) so a document rejected whole still has every
 *   record it held counted.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

export interface StreamedElement {
  index: number;
  /** The element's JSON text, or undefined when it was over `maxElementChars` (then `chars` says how long). */
  text?: string;
  chars: number;
}

export class ArrayStreamer {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private done = false;
  /** Pieces of the element in progress; `inElement` false between elements. */
  private parts: string[] = [];
  private partChars = 0;
  private inElement = false;
  private oversized = false;
  private index = 0;
  /** The first structural problem; scanning stops there. */
  problem: string | undefined;

  constructor(
    private readonly onElement: (e: StreamedElement) => void,
    private readonly maxElementChars: number,
  ) {}

  /** Elements read whole so far (the index of the one in progress). */
  get completed(): number {
    return this.index;
  }

  write(text: string): void {
    if (this.problem !== undefined) return;
    let start = this.inElement ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (isSpace(c)) continue;
      if (this.done) {
        this.problem = `unexpected ${JSON.stringify(text[i])} after the end of the array`;
        return;
      }
      if (!this.started) {
        if (c !== OPEN_BRACKET) {
          this.problem = 'the document is not a JSON array';
          return;
        }
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1 && !this.inElement && c !== COMMA && c !== CLOSE_BRACKET) {
        this.inElement = true;
        start = i;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          if (this.inElement) this.finish(text, start, i);
          this.done = true;
        }
      } else if (c === COMMA && this.depth === 1) {
        if (!this.inElement) {
          this.problem = 'an empty element (two commas in a row)';
          return;
        }
        this.finish(text, start, i);
        start = -1;
      }
    }
    if (this.inElement && start >= 0) this.keep(text.slice(start));
  }

  /** Call once at the end; a document that ends inside the array is a problem. */
  end(): void {
    if (this.problem !== undefined) return;
    if (!this.started) this.problem = 'the document is empty';
    else if (!this.done) this.problem = `the document ends inside the array (in element ${this.index})`;
  }

  private keep(piece: string): void {
    if (this.oversized) {
      this.partChars += piece.length;
      return;
    }
    this.parts.push(piece);
    this.partChars += piece.length;
    if (this.partChars > this.maxElementChars) {
      this.oversized = true;
      this.parts = [];
    }
  }

  private finish(text: string, start: number, end: number): void {
    this.keep(text.slice(Math.max(0, start), end));
    const e: StreamedElement = this.oversized ? { index: this.index, chars: this.partChars } : { index: this.index, text: this.parts.join(''), chars: this.partChars };
    this.parts = [];
    this.partChars = 0;
    this.inElement = false;
    this.oversized = false;
    this.index++;
    this.onElement(e);
  }
}

/** Envelope members whose array items are records (the envelopes adapters/file/detect.ts reads). */
export const RECORD_ARRAY_KEYS: ReadonlySet<string> = new Set(['events', 'records', 'items', 'logEvents', 'entries']);

/** Counts the items of an envelope's record arrays (or a top-level array's elements) without keeping any text. */
export class RecordCounter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The text of the last string at depth 1 (a member name once a `:` follows it). */
  private key: string[] | undefined;
  private lastKey: string | undefined;
  /** Depth-1 member being read is a record array, and an item of it is open. */
  private counting = false;
  private itemOpen = false;
  private topArray = false;
  count = 0;

  write(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.key !== undefined) {
            this.lastKey = this.key.join('');
            this.key = undefined;
          }
        } else if (this.key !== undefined && this.key.length < 64) this.key.push(text[i]!);
        continue;
      }
      if (isSpace(c)) continue;
      const itemDepth = this.topArray ? 1 : 2;
      if (this.depth === itemDepth && (this.counting || this.topArray) && !this.itemOpen && c !== COMMA && c !== CLOSE_BRACKET) {
        this.itemOpen = true;
        this.count++;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && !this.topArray) this.key = [];
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (this.depth === 0 && c === OPEN_BRACKET) this.topArray = true;
        if (this.depth === 1 && !this.topArray) this.counting = c === OPEN_BRACKET && this.lastKey !== undefined && RECORD_ARRAY_KEYS.has(this.lastKey);
        this.depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 1 && !this.topArray) this.counting = false;
        if (this.depth < itemDepth) this.itemOpen = false;
      } else if (c === COMMA && this.depth === itemDepth) this.itemOpen = false;
    }
  }
}
