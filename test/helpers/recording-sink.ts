import { SinkError } from '../../core/model/errors.js';
import type { Alert } from '../../core/model/finding.js';
import type { AlertSink } from '../../core/scan/sinks/sink.js';

/** Records every alert it accepts; can be told to refuse the next N sends. */
export class RecordingSink implements AlertSink {
  readonly name = 'recording';
  readonly alerts: Alert[] = [];
  failNext = 0;
  /** Throw after accepting (the process "dies" between publish and the store write). */
  crashAfterAccept = 0;

  async send(alert: Alert): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new SinkError('sink-unavailable', 'injected sink failure');
    }
    this.alerts.push(alert);
    if (this.crashAfterAccept > 0) {
      this.crashAfterAccept--;
      throw new CrashAfterPublish();
    }
  }

  countById(): Map<string, number> {
    const m = new Map<string, number>();
    for (const a of this.alerts) m.set(a.id, (m.get(a.id) ?? 0) + 1);
    return m;
  }
}

/** Simulates the process dying right after a publish succeeded. */
export class CrashAfterPublish extends Error {}
