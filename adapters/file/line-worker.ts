import { open } from 'node:fs/promises';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { LineSplitter } from './line-splitter.js';
import { resumeBacklog, type JobMessage, type LineJob, type LineWorkerMessage, type LinesMessage } from './off-thread-lines.js';
import { compileNeedsPrefilter } from './prefilter.js';

/** Atomics.waitAsync is ES2024 (in Node since 16); the project's type library is ES2023. */
type WaitAsync = (view: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync.bind(Atomics);

/** Characters of kept text a message carries at most: below V8's large-object size (128 KiB). */
const MESSAGE_CHARS = 96 * 1024;

/** The reader thread of adapters/file/off-thread-lines.ts: splits and prefilters one file. */
async function run(job: LineJob, port: MessagePort): Promise<void> {
  const prefilter = compileNeedsPrefilter(job.needs);
  let lines: number[] = [];
  let texts: string[] = [];
  let tooLong: number[] = [];
  let dropped = 0;
  const splitter = new LineSplitter(
    job.maxChars,
    (text, line) => {
      lines.push(line);
      texts.push(text);
    },
    (line) => {
      tooLong.push(lines.length);
      lines.push(line);
    },
    { keep: (text, start, end) => prefilter.keep(text, start, end), onDropped: () => void dropped++ },
  );
  /**
   * What one read kept, as messages of at most MESSAGE_CHARS of text each (a longer line alone in
   * its own): a longer string is a large object to V8, which only a full collection frees, and a
   * scan's large-object garbage was most of its peak heap. Only the last is of `kind`, and it
   * carries the read's count of dropped lines.
   */
  const take = (kind: LinesMessage['kind'], bytesRead: number): LinesMessage[] => {
    const out: LinesMessage[] = [];
    let line = 0;
    let text = 0;
    let long = 0;
    for (;;) {
      const part: LinesMessage = { kind: 'lines', lines: [], text: '', tooLong: [], dropped: 0, bytesRead };
      const partTexts: string[] = [];
      let chars = 0;
      for (; line < lines.length; line++) {
        if (tooLong[long] === line) {
          long++;
          part.tooLong.push(part.lines.length);
        } else {
          const next = texts[text]!.length + 1;
          if (chars > 0 && chars + next > MESSAGE_CHARS) break;
          chars += next;
          partTexts.push(texts[text++]!);
        }
        part.lines.push(lines[line]!);
      }
      part.text = partTexts.join('\n');
      out.push(part);
      if (line >= lines.length) {
        part.kind = kind;
        part.dropped = dropped;
        break;
      }
    }
    lines = [];
    texts = [];
    flat = 0;
    tooLong = [];
    dropped = 0;
    return out;
  };
  /**
   * The kept texts of each piece, copied out into one string of their own: a kept line is a slice
   * of its piece's decoded text (127 KiB, young), and kept the whole of it alive until the read's
   * messages were taken, so every scavenge of this thread copied a read's worth of decoded text.
   * Copied, the piece dies at once. On the 1,000-node bench file: this thread's collection time
   * 210 -> 140 ms. `flat` is the first text not yet copied.
   */
  let flat = 0;
  const flatten = (): void => {
    if (texts.length === flat) return;
    const blob = texts.slice(flat).join('\n');
    let from = 0;
    for (let i = flat; i < texts.length; i++) {
      const to = from + texts[i]!.length;
      texts[i] = blob.slice(from, to);
      from = to + 1;
    }
    flat = texts.length;
  };
  const taken = new Int32Array(job.taken);
  // A pending waitAsync holds no event-loop handle: a listener keeps the port, and so the thread,
  // alive while it waits. The consumer ends the thread once it has the last message.
  port.on('message', () => undefined);
  let sent = 0;
  const send = async (m: LinesMessage): Promise<void> => {
    let t = Atomics.load(taken, 0);
    if (sent - t >= job.inFlight) {
      // Full: wait until half the backlog is taken (the consumer wakes it only then).
      Atomics.store(taken, 2, sent);
      while (sent - t > resumeBacklog(job.inFlight)) {
        Atomics.store(taken, 1, 1);
        // Taken in between: the consumer may have looked at the flag before it was set.
        const now = Atomics.load(taken, 0);
        if (now !== t) {
          t = now;
          continue;
        }
        const wait = waitAsync(taken, 0, t);
        if (wait.async) await wait.value;
        t = Atomics.load(taken, 0);
      }
    }
    Atomics.store(taken, 1, 0);
    sent++;
    port.postMessage(m satisfies LineWorkerMessage);
  };
  const file = await open(job.path, 'r');
  try {
    // Two buffers: the next read fills one while the other is split.
    const buffers = [Buffer.allocUnsafe(job.readBytes), Buffer.allocUnsafe(job.readBytes)];
    let position = 0;
    let which = 0;
    let pending = file.read(buffers[0]!, 0, job.readBytes, position);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      which = 1 - which;
      pending = file.read(buffers[which]!, 0, job.readBytes, position);
      for (let at = 0; at < bytesRead; at += job.pieceBytes) {
        const to = Math.min(bytesRead, at + job.pieceBytes);
        splitter.write(buffer.subarray(at, to));
        flatten();
        // The first read's lines go piece by piece while the consumer has taken everything: it
        // waits for its first lines, and this thread's code is still cold (a whole first read took
        // it about 20 ms). Later, a message a piece would only add messages.
        if (position === bytesRead && lines.length > 0 && to < bytesRead && Atomics.load(taken, 0) === sent) {
          for (const m of take('lines', position - bytesRead + to)) await send(m);
        }
      }
      for (const m of take('lines', position)) await send(m);
    }
    splitter.end();
    for (const m of take('end', position)) await send(m);
  } finally {
    await file.close();
  }
}

if (parentPort !== null) {
  const port = parentPort;
  // The thread may start before its job is known (prestartLineReader): the job is its first message.
  port.once('message', (m: JobMessage) => {
    run(m.job, port).catch((err: unknown) => {
      port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies LineWorkerMessage);
    });
  });
}
