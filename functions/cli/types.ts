import type { Readable, Writable } from 'node:stream';
import type { ParseHints, ParseOutcome } from '../../core/model/parse-result.js';
import type { LinePrefilter } from '../../adapters/file/prefilter.js';

/** The process surface the CLI uses; tests pass in-memory streams and run it in-process. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bar). */
  isTTY?: boolean;
}

export interface InputProgressLike {
  file: string;
  bytesRead: number;
  totalBytes?: number;
}

/** The shape of `adapters/file/read.ts` `readInputs`, injectable for tests. */
export type InputReader = (
  inputs: string[],
  options?: { hints?: ParseHints; onProgress?: (p: InputProgressLike) => void; batchSize?: number; stdin?: Readable; prefilter?: LinePrefilter },
) => AsyncIterable<ParseOutcome[]>;
