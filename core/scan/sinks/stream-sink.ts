import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { SinkError } from '../../model/errors.js';
import type { Alert } from '../../model/finding.js';
import type { AlertSink } from './sink.js';

/** One alert JSON per line on a stream (stdout in the CLI). */
export class JsonLinesSink implements AlertSink {
  constructor(
    readonly name: string,
    private readonly out: Writable,
    private readonly ownsStream = false,
  ) {}

  async send(alert: Alert): Promise<void> {
    if (!this.out.write(`${JSON.stringify(alert)}\n`)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (!this.ownsStream) return;
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

/** Appends alerts to a JSONL file; each alert is flushed before `send` resolves. */
export async function openJsonlFileSink(path: string): Promise<AlertSink> {
  const stream = createWriteStream(path, { flags: 'a' });
  try {
    await once(stream, 'open');
  } catch (err) {
    throw new SinkError('sink-unwritable', `Cannot open the alert file ${path} for appending: check the path and permissions.`, { cause: err });
  }
  return new JsonLinesSink(`jsonl:${path}`, stream, true);
}
