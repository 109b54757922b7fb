import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { readInputs } from '../adapters/file/read.js';

/**
 * `npm run bench:hostile`: how fast the file reader gets through input built to stall it.
 * - 1 GiB of blank lines from a stream (target ≥ 1 GB/s: blank lines are counted at memcmp speed);
 * - the same GiB as a ~1 MB gzip file (target: seconds, not hours).
 * Every record-free line must still be counted, so the line count is checked.
 *
 *   node dist/bench/hostile-input.js [--mib 1024]
 */

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const MIB = Number(flag('--mib') ?? 1024);
const BYTES = MIB * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x0a);

function blankStream(): Readable {
  let left = BYTES;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

async function drain(inputs: string[], stdin?: Readable): Promise<{ ms: number; outcomes: number }> {
  const t0 = performance.now();
  let outcomes = 0;
  for await (const batch of readInputs(inputs, stdin === undefined ? {} : { stdin })) outcomes += batch.length;
  return { ms: performance.now() - t0, outcomes };
}

async function gzipFile(path: string): Promise<number> {
  const chunks: Buffer[] = [];
  const gz = createGzip({ level: 9 });
  const done = new Promise<void>((resolve, reject) => {
    gz.on('data', (d: Buffer) => chunks.push(d));
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  blankStream().pipe(gz);
  await done;
  const body = Buffer.concat(chunks);
  writeFileSync(path, body);
  return body.length;
}

const dir = mkdtempSync(join(tmpdir(), 'credwatch-hostile-'));
try {
  const plain = await drain(['-'], blankStream());
  const gbps = BYTES / 1e9 / (plain.ms / 1000);
  console.log(`blank lines, ${MIB} MiB from a stream: ${plain.ms.toFixed(0)} ms = ${gbps.toFixed(2)} GB/s, ${plain.outcomes} outcomes (target >= 1 GB/s)`);
  const file = join(dir, 'blank.log'); // no .gz suffix: compression is recognised by its magic bytes
  const size = await gzipFile(file);
  const gz = await drain([file]);
  console.log(`blank lines, ${MIB} MiB as a ${(size / 1024).toFixed(0)} KiB gzip file: ${(gz.ms / 1000).toFixed(2)} s = ${(BYTES / 1e9 / (gz.ms / 1000)).toFixed(2)} GB/s of text, ${gz.outcomes} outcomes`);
  if (plain.outcomes !== 0 || gz.outcomes !== 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
