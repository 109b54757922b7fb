import type { Alert } from '../../model/finding.js';

/**
 * Where alerts go. `send` resolves once the alert is durably handed over (SNS/Pub/Sub accepted it,
 * the line is written) and rejects with a SinkError otherwise; the scan then leaves the alert to
 * the next run.
 */
export interface AlertSink {
  readonly name: string;
  send(alert: Alert): Promise<void>;
  close?(): Promise<void>;
}
