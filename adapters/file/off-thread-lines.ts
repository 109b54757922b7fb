import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RuleNeeds } from '../../core/model/rule.js';

/**
 * A large JSON-lines file is split and prefiltered on a second thread while this one parses what
 * it keeps and runs the rules: reading, decoding, splitting and prefiltering every line is half a
 * file scan's time, and the two halves overlap (docs/cli.md "Prefilter"). The other thread runs
 * the same LineSplitter and the same prefilter (compiled from the same needs), so the lines kept,
 * their numbers and the lines too long are exactly what reading on this thread gives.
 */
export interface LineJob {
  path: string;
  needs: readonly RuleNeeds[];
  maxChars: number;
  /** Bytes handed to the splitter at a time (as the in-thread reader does). */
  pieceBytes: number;
  /** Bytes of one read; the next read is in flight while one is split. */
  readBytes: number;
  /** Messages the reader may send ahead of the consumer: bounds what waits in memory. */
  inFlight: number;
  /**
   * Three Int32s: messages the consumer has taken, 1 while the reader waits for it to take more,
   * and the messages the reader had sent when it began to wait. Shared memory rather than a reply
   * message: waking the reader for every read cost this thread a tenth of a scan, so it is woken
   * only when it waits, and then once half its backlog is taken (`resumeBacklog`), not per message.
   */
  taken: SharedArrayBuffer;
}

/**
 * What one read of the file gave: the numbers of the lines kept, in order; their texts joined by
 * newlines into one string (no line holds one), where a line too long to keep has none and is
 * listed in `tooLong`; and how many lines were dropped. One string crosses threads as one copy,
 * where a string a line cost the receiving thread a tenth of a scan to take apart.
 */
export interface LinesMessage {
  kind: 'lines' | 'end';
  lines: number[];
  text: string;
  /** Indexes into `lines` of the lines too long to keep. */
  tooLong: number[];
  dropped: number;
  bytesRead: number;
}

/**
 * The kept lines of a message in turn, each with its number (`text` undefined: too long). A
 * cursor, not a generator of objects: it runs once per kept line of a scan.
 */
export class KeptLines {
  line = 0;
  text: string | undefined;
  private at = 0;
  private from = 0;
  private skip = 0;
  constructor(private readonly m: LinesMessage) {}

  /** Moves to the next kept line; false past the last. */
  next(): boolean {
    const m = this.m;
    if (this.at >= m.lines.length) return false;
    this.line = m.lines[this.at]!;
    if (m.tooLong[this.skip] === this.at) {
      this.skip++;
      this.text = undefined;
    } else {
      let to = m.text.indexOf('\n', this.from);
      if (to < 0) to = m.text.length;
      this.text = m.text.slice(this.from, to);
      this.from = to + 1;
    }
    this.at++;
    return true;
  }
}

/** The backlog a waiting reader resumes at: half of `inFlight`. */
export function resumeBacklog(inFlight: number): number {
  return inFlight >> 1;
}

export type LineWorkerMessage = LinesMessage | { kind: 'error'; message: string };

const YOUNG_MB = 8;
const WORKER = new URL('./line-worker.js', import.meta.url);

/** False where the reader thread's script is not built (running from TypeScript sources): read on this thread. */
export function offThreadAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER));
}

/** A file at least this large is read on the reader thread (below it, the thread's start-up costs more than it saves). */
export const OFF_THREAD_MIN_BYTES = 16 * 1024 * 1024;

/** The job a reader thread is given once it has started. */
export interface JobMessage {
  kind: 'job';
  job: LineJob;
}

/** A reader thread started ahead of its job, and what went wrong with it meanwhile. */
interface Spare {
  worker: Worker;
  failed: boolean;
}
/**
 * The spare thread lives on the global object, not in this module: the bin starts it before the
 * CLI's bundle is loaded (functions/cli/bin.ts), from its own copy of this module, and the
 * bundle's copy takes it.
 */
const SPARE = Symbol.for('credwatch.spareLineReader');
const slot = globalThis as { [SPARE]?: Spare | undefined };

function startWorker(): Worker {
  // A small young generation: the thread's garbage is short-lived chunk text, and its heap adds to the scan's peak RSS.
  return new Worker(WORKER, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
}

/**
 * Starts a reader thread now, for the next `linesOffThread` to take: a thread takes tens of
 * milliseconds to start and load its script, which then overlap the CLI's own start-up instead of
 * following it. Unused, it holds the process open no longer than it would be anyway.
 */
export function prestartLineReader(): void {
  if (slot[SPARE] !== undefined || !offThreadAvailable()) return;
  const started: Spare = { worker: startWorker(), failed: false };
  started.worker.unref();
  // Until a job takes it, a failure only means the job starts a thread of its own.
  started.worker.on('error', () => (started.failed = true));
  started.worker.on('exit', () => (started.failed = true));
  slot[SPARE] = started;
}

function takeWorker(): Worker {
  const s = slot[SPARE];
  slot[SPARE] = undefined;
  if (s === undefined || s.failed) {
    if (s !== undefined) void s.worker.terminate();
    return startWorker();
  }
  s.worker.removeAllListeners();
  s.worker.ref();
  return s.worker;
}

/** The file's lines as the reader thread sends them, with flow control; the thread stops when the consumer does. */
export async function* linesOffThread(settings: Omit<LineJob, 'taken'>): AsyncGenerator<LinesMessage> {
  const job: LineJob = { ...settings, taken: new SharedArrayBuffer(12) };
  const taken = new Int32Array(job.taken);
  const worker = takeWorker();
  worker.postMessage({ kind: 'job', job } satisfies JobMessage);
  const queue: LinesMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: LineWorkerMessage) => {
    if (m.kind === 'error') failure = new Error(m.message);
    else queue.push(m);
    notify();
  });
  worker.on('error', (err) => {
    failure = err;
    notify();
  });
  worker.on('exit', () => {
    exited = true;
    notify();
  });
  try {
    for (;;) {
      while (queue.length === 0 && failure === undefined && !exited) await new Promise<void>((resolve) => (wake = resolve));
      const m = queue.shift();
      if (m === undefined) throw failure ?? new Error('the line reader thread stopped before the end of the file');
      yield m;
      if (m.kind === 'end') return;
      const t = Atomics.add(taken, 0, 1) + 1;
      if (Atomics.load(taken, 1) === 1 && Atomics.load(taken, 2) - t <= resumeBacklog(job.inFlight)) Atomics.notify(taken, 0);
    }
  } finally {
    await worker.terminate();
  }
}
