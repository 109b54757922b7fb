import { parseEveryLine } from './bare.js';

/**
 * The whole-process floor: `node dist/bench/bare-parse.js FILE` streams the file, splits lines and
 * JSON.parses each, as any JSONL tool must; the benchmark times this process from spawn to exit.
 */
const file = process.argv[2];
if (file === undefined) throw new Error('usage: bare-parse FILE');
process.stdout.write(`${JSON.stringify({ lines: await parseEveryLine(file) })}\n`);
