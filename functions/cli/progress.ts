import { stat } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';

/**
 * A byte progress bar for file scans, on stderr, only when stderr is a terminal and the input is
 * large enough that a person would wonder whether the scan is still running.
 */

/** Below this many bytes a scan finishes in about a second: a bar would only flicker. */
export const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

/** Total size of the inputs (folders walked); unknown sizes (stdin, unreadable) count as 0. */
export async function totalInputBytes(inputs: readonly string[]): Promise<number> {
  let total = 0;
  for (const input of inputs) {
    if (input === '-') continue;
    total += await sizeOf(input);
  }
  return total;
}

async function sizeOf(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) return s.size;
    let sum = 0;
    for (const entry of await readdir(path)) sum += await sizeOf(join(path, entry));
    return sum;
  } catch {
    return 0;
  }
}

export interface ByteProgress {
  update(file: string, bytesRead: number): void;
  stop(): void;
}

export function startProgress(stream: NodeJS.WritableStream, totalBytes: number): ByteProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'scanning [{bar}] {percentage}% | {value}/{total} MB | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const mb = (b: number): number => Math.round(b / (1024 * 1024));
  bar.start(mb(totalBytes), 0);
  const perFile = new Map<string, number>();
  let sum = 0;
  return {
    update(file, bytesRead) {
      sum += bytesRead - (perFile.get(file) ?? 0);
      perFile.set(file, bytesRead);
      bar.update(Math.min(mb(sum), mb(totalBytes)));
    },
    stop() {
      bar.stop();
    },
  };
}
