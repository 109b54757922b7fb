import cliProgress from 'cli-progress';
import { inputFiles } from '../../adapters/file/walk.js';
import { grouped } from './summary.js';

/**
 * Progress on stderr, only when stderr is a terminal: a byte bar for files (compressed files count
 * by the compressed bytes read, which is what their size on disk measures), a running byte count
 * for stdin (its size is unknown), and pages and records per live source.
 */

/** Below this many bytes a scan finishes in about a second: a bar would only flicker. */
export const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Total size of the files the reader will read: the same walk, so hidden files are left out here
 * too. stdin (size unknown) and an unreadable input count as 0.
 */
export async function totalInputBytes(inputs: readonly string[]): Promise<number> {
  let total = 0;
  for (const input of inputs) {
    if (input === '-') continue;
    try {
      for (const file of await inputFiles(input)) total += file.size;
    } catch {
      // readInputs refuses this path before reading anything, so its size is never needed.
    }
  }
  return total;
}

export interface ByteProgress {
  update(file: string, bytesRead: number): void;
  stop(): void;
}

const MB = 1024 * 1024;
const mb = (b: number): string => (b / MB).toFixed(b < 10 * MB ? 1 : 0);

/**
 * Bytes of all files against their total. The bar counts bytes, not rounded megabytes, so the ETA
 * is known from the first update instead of showing cli-progress's `NF` (not finite) for a while.
 */
export function startProgress(stream: NodeJS.WritableStream, totalBytes: number): ByteProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'scanning [{bar}] {percentage}% | {done}/{size} MB | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalBytes, 0, { done: mb(0), size: mb(totalBytes) });
  const perFile = new Map<string, number>();
  let sum = 0;
  return {
    update(file, bytesRead) {
      sum += bytesRead - (perFile.get(file) ?? 0);
      perFile.set(file, bytesRead);
      const value = Math.min(sum, totalBytes);
      bar.update(value, { done: mb(value) });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * A line rewritten in place (carriage return, erase line). Updates closer together than
 * `minIntervalMs` are dropped, except the first; `stop` erases the line so the summary starts clean.
 */
function statusLine(stream: NodeJS.WritableStream, minIntervalMs: number): { show(text: string): void; stop(): void } {
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  return {
    show(text) {
      const now = performance.now();
      if (now - last < minIntervalMs) return;
      last = now;
      shown = true;
      stream.write(`\r\u001b[2K${text}`);
    },
    stop() {
      if (shown) stream.write('\r\u001b[2K');
    },
  };
}

/** stdin has no size: the bytes read so far. */
export function startStreamProgress(stream: NodeJS.WritableStream): ByteProgress {
  // A read per 512 KiB: redraw at most five times a second.
  const line = statusLine(stream, 200);
  return {
    update(file, bytesRead) {
      line.show(`reading ${file === '-' ? 'stdin' : file}: ${mb(bytesRead)} MB`);
    },
    stop: () => line.stop(),
  };
}

export interface LiveProgress {
  /** The source is connecting (credentials, first request). */
  start(source: string): void;
  page(source: string, pages: number, events: number, records: number): void;
  stop(): void;
}

export function startLiveProgress(stream: NodeJS.WritableStream): LiveProgress {
  // A page is a request to the cloud: each one is drawn.
  const line = statusLine(stream, 0);
  const n = grouped;
  return {
    start(source) {
      line.show(`${source}: connecting…`);
    },
    page(source, pages, events, records) {
      line.show(`${source}: ${n(pages)} page${pages === 1 ? '' : 's'}, ${n(events)} event${events === 1 ? '' : 's'} (${n(records)} record${records === 1 ? '' : 's'})`);
    },
    stop: () => line.stop(),
  };
}
