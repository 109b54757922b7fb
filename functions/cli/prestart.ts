import { statSync } from 'node:fs';
import { OFF_THREAD_MIN_BYTES, prestartLineReader } from '../../adapters/file/off-thread-lines.js';

/**
 * Before the CLI loads: a `scan` that names a file large enough to be read on the reader thread
 * starts that thread now, so that its start-up overlaps the CLI's (adapters/file/off-thread-lines.ts).
 * It only looks at the arguments (an option's value taken for a path at worst starts a thread that
 * is never used); `--validate` reads every line on this thread, so starts none.
 */
export function prestartForArgs(args: readonly string[]): void {
  if (args[0] !== 'scan' || args.includes('--validate')) return;
  for (const arg of args.slice(1)) {
    if (arg.startsWith('-')) continue;
    try {
      const stat = statSync(arg, { throwIfNoEntry: false });
      if (stat?.isFile() === true && stat.size >= OFF_THREAD_MIN_BYTES) {
        prestartLineReader();
        return;
      }
    } catch {
      // Unreadable: the scan reports it.
    }
  }
}
