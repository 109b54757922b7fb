import { createReadStream } from 'node:fs';

/**
 * The whole-process floor: `node dist/bench/bare-parse.js FILE` streams the file, splits lines and
 * JSON.parses each, as any JSONL tool must; the benchmark times this process from spawn to exit.
 * It imports nothing of credwatch, so its start-up is Node's own, as a plain JSONL reader's is.
 */
const file = process.argv[2];
if (file === undefined) throw new Error('usage: bare-parse FILE');
let lines = 0;
let rest: Buffer | undefined;
for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
  const buf = rest === undefined ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
  let pos = 0;
  for (let nl = buf.indexOf(10, pos); nl >= 0; nl = buf.indexOf(10, pos)) {
    if (nl > pos) {
      JSON.parse(buf.toString('utf8', pos, nl));
      lines++;
    }
    pos = nl + 1;
  }
  rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : undefined;
}
if (rest !== undefined) {
  JSON.parse(rest.toString('utf8'));
  lines++;
}
process.stdout.write(`${JSON.stringify({ lines })}\n`);
