/**
 * The custom metrics the Lambda publishes (Powertools EMF) and the stack's alarms watch: one
 * definition, so renaming either side cannot leave an alarm looking at a metric nobody writes.
 * Powertools adds the default dimension `service=<serviceName>` to every metric.
 */
export const METRIC_NAMESPACE = 'credwatch';
export const METRIC_SERVICE = 'credwatch';
export const METRIC_DIMENSIONS = Object.freeze({ service: METRIC_SERVICE });

export const METRIC = Object.freeze({
  sourcesFailed: 'SourcesFailed',
  eventsScanned: 'EventsScanned',
  findings: 'Findings',
  alertsSent: 'AlertsSent',
  alertsFailed: 'AlertsFailed',
  recordsRejected: 'RecordsRejected',
});
