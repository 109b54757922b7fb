import { createReadStream } from 'node:fs';

/**
 * The floor any JSONL tool pays: stream the file, split lines, `JSON.parse` each; `onValue` sees
 * every parsed line. It imports nothing of credwatch, so the whole-process floor
 * (bench/bare-parse.ts) starts as a plain JSONL reader does. Returns the number of lines parsed.
 */
export async function parseEveryLine(file: string, onValue?: (value: unknown) => void): Promise<number> {
  let lines = 0;
  let rest: Buffer | undefined;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    const buf = rest === undefined ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    let pos = 0;
    for (let nl = buf.indexOf(10, pos); nl >= 0; nl = buf.indexOf(10, pos)) {
      if (nl > pos) {
        const value: unknown = JSON.parse(buf.toString('utf8', pos, nl));
        onValue?.(value);
        lines++;
      }
      pos = nl + 1;
    }
    rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : undefined;
  }
  if (rest !== undefined) {
    const value: unknown = JSON.parse(rest.toString('utf8'));
    onValue?.(value);
    lines++;
  }
  return lines;
}
