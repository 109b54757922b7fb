import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../adapters/file/line-splitter.js';

/** Feeds `chunks` and returns `line:text` for each line and `long:line` for each too-long one. */
function split(chunks: Array<string | Buffer>, maxChars = 100): string[] {
  const out: string[] = [];
  const s = new LineSplitter(
    maxChars,
    (text, line) => out.push(`${line}:${text}`),
    (line) => out.push(`long:${line}`),
  );
  for (const c of chunks) s.write(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return out;
}

describe('line splitter', () => {
  it('numbers lines across chunks, counts blank lines without passing them on, strips CR before LF only, and ends without a newline', () => {
    expect(split(['a\nb', 'c\r\n\n', 'd\re', '\nlast'])).toEqual(['1:a', '2:bc', '4:d\re', '5:last']);
    expect(split([])).toEqual([]);
    expect(split(['x\n'])).toEqual(['1:x']);
    expect(split(['\r\n'])).toEqual([]);
    expect(split(['\r\n\r\nx\n'])).toEqual(['3:x']);
  });

  it('counts runs of blank lines (LF and CR LF) of any length and keeps numbering the lines between them', () => {
    const flood = '\n'.repeat(200_003);
    expect(split([`a\n${flood}b\n`])).toEqual(['1:a', '200005:b']);
    expect(split([`${'\r\n'.repeat(70_001)}c\r\n\nd\n\n\ne`])).toEqual(['70002:c', '70004:d', '70007:e']);
    // A run cut between chunks, and a run ending one byte before a record.
    expect(split(['\n'.repeat(1000), '\n'.repeat(999) + 'x\n'])).toEqual(['2000:x']);
    // Lines between runs: every blank-line search result is reused, not rescanned.
    const mixed = Array.from({ length: 5000 }, (_, i) => `r${i}\n\n`).join('');
    const out = split([mixed], 100);
    expect(out).toHaveLength(5000);
    expect(out[4999]).toBe('9999:r4999');
    // Whitespace other than newlines is a line like any other (the parser skips it).
    expect(split(['\n \n\t\n'])).toEqual(['2: ', '3:\t']);
  });

  it('decodes UTF-8 exactly, also when a multi-byte char is cut between chunks', () => {
    const bytes = Buffer.from('{"u":"zoë 😀"}\nascii\n€\n');
    const euro = bytes.indexOf(Buffer.from('€'));
    const emoji = bytes.indexOf(Buffer.from('😀'));
    const expected = ['1:{"u":"zoë 😀"}', '2:ascii', '3:€'];
    expect(split([bytes])).toEqual(expected);
    for (const cut of [emoji + 1, emoji + 2, emoji + 3, euro + 1, euro + 2]) {
      expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(expected);
    }
    // One byte at a time: every line is a carried one.
    expect(split([...bytes].map((b) => Buffer.from([b])))).toEqual(expected);
    // Invalid bytes become U+FFFD, as a decoder over the stream gives them.
    expect(split([Buffer.from([0x61, 0xff, 0x0a, 0xc3])])).toEqual(['1:a\ufffd', '2:\ufffd']);
  });

  it('reports a line over the limit once, drops the rest of it, and goes on with the next', () => {
    expect(split(['ok\n', 'x'.repeat(60), 'x'.repeat(60), 'x'.repeat(60), 'tail\nnext\n'], 100)).toEqual(['1:ok', 'long:2', '3:next']);
    // Over the limit in bytes but not in chars: multi-byte text is measured as text.
    const wide = '€'.repeat(40); // 40 chars, 120 bytes
    expect(split([wide, '\n'], 100)).toEqual([`1:${wide}`]);
    expect(split(['€'.repeat(101)], 100)).toEqual(['long:1']);
    // A complete line within one chunk is passed on whatever its length (the parser rejects it).
    expect(split([`${'y'.repeat(150)}\n`], 100)).toEqual([`1:${'y'.repeat(150)}`]);
  });

  it('copies what it carries, so a stream may reuse its chunk buffer', () => {
    const out: string[] = [];
    const s = new LineSplitter(100, (text) => out.push(text), () => out.push('long'));
    const chunk = Buffer.from('abc');
    s.write(chunk);
    chunk.write('zzz');
    s.write(Buffer.from('d\n'));
    expect(out).toEqual(['abcd']);
  });
});
