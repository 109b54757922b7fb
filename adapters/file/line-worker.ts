import { open } from 'node:fs/promises';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { LineSplitter } from './line-splitter.js';
import type { LineJob, LineWorkerMessage, LinesMessage } from './off-thread-lines.js';
import { compileNeedsPrefilter } from './prefilter.js';

/** The reader thread of adapters/file/off-thread-lines.ts: splits and prefilters one file. */
async function run(job: LineJob, port: MessagePort): Promise<void> {
  const prefilter = compileNeedsPrefilter(job.needs);
  let out: LinesMessage = { kind: 'lines', lines: [], texts: [], dropped: 0, bytesRead: 0 };
  const splitter = new LineSplitter(
    job.maxChars,
    (text, line) => {
      out.lines.push(line);
      out.texts.push(text);
    },
    (line) => {
      out.lines.push(line);
      out.texts.push(null);
    },
    { keep: (text, start, end) => prefilter.keep(text, start, end), onDropped: () => void out.dropped++ },
  );
  let credit = job.inFlight;
  let wake: (() => void) | undefined;
  port.on('message', () => {
    credit++;
    const w = wake;
    wake = undefined;
    w?.();
  });
  const send = async (m: LinesMessage): Promise<void> => {
    while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
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
      for (let at = 0; at < bytesRead; at += job.pieceBytes) splitter.write(buffer.subarray(at, Math.min(bytesRead, at + job.pieceBytes)));
      out.bytesRead = position;
      const m = out;
      out = { kind: 'lines', lines: [], texts: [], dropped: 0, bytesRead: position };
      await send(m);
    }
    splitter.end();
    out.kind = 'end';
    out.bytesRead = position;
    await send(out);
  } finally {
    await file.close();
  }
}

if (parentPort !== null) {
  const port = parentPort;
  run(workerData as LineJob, port).catch((err: unknown) => {
    port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies LineWorkerMessage);
  });
}
