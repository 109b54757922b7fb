import { Duration, type Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

import { METRIC, METRIC_DIMENSIONS, METRIC_NAMESPACE } from '../../functions/aws/metrics.js';

export { METRIC_DIMENSIONS, METRIC_NAMESPACE };

/** SQS publishes its queue metrics every minute; five of them smooth nothing away. */
const QUEUE_PERIOD = Duration.minutes(5);

/**
 * Alarms that tell the alert recipients when credwatch itself is blind: each goes to the alert
 * topic, so no second channel has to be set up.
 */
export function addAlarms(stack: Stack, deps: { scanner: IFunction; failedRuns: IQueue; topic: ITopic; periodMinutes: number }): Alarm[] {
  const action: IAlarmAction = new SnsAction(deps.topic);
  const atLeastOne = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
  // One period per scheduled run: each period holds exactly one run's invocation and metrics, so
  // "2 of 2" means two runs in a row on any schedule (a fixed 5-minute period would see empty
  // periods between runs of a longer schedule, and never see two failures in a row).
  const period = Duration.minutes(deps.periodMinutes);
  const every = deps.periodMinutes === 1 ? 'minute' : `${deps.periodMinutes} minutes`;
  const custom = (name: string) => new Metric({ namespace: METRIC_NAMESPACE, metricName: name, dimensionsMap: { ...METRIC_DIMENSIONS }, statistic: 'Sum', period });
  const alarms = [
    new Alarm(stack, 'ScannerErrors', {
      alarmDescription: 'credwatch: the scanner function failed (configuration error or crash); no source was scanned by that run',
      metric: deps.scanner.metricErrors({ period, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: atLeastOne,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
    new Alarm(stack, 'ScannerNotRunning', {
      alarmDescription: `credwatch: the scanner was not invoked in two schedule periods (it runs every ${every}; schedule disabled or deleted?)`,
      metric: deps.scanner.metricInvocations({ period, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // Two empty periods: one run that EventBridge starts a little late is not an outage.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // No data point at all is exactly the failure this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
    }),
    new Alarm(stack, 'SourcesFailed', {
      alarmDescription: 'credwatch: a source failed in two consecutive runs; its checkpoint is not advancing (see the scanner logs: "source scan failed")',
      metric: custom(METRIC.sourcesFailed),
      threshold: 1,
      comparisonOperator: atLeastOne,
      // One throttled run is retried by the next from the same checkpoint; two in a row is an outage.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
    new Alarm(stack, 'AlertsFailed', {
      alarmDescription: 'credwatch: a finding could not be published to the alert topic (it is retried by the next run)',
      metric: custom(METRIC.alertsFailed),
      threshold: 1,
      comparisonOperator: atLeastOne,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
    new Alarm(stack, 'FailedRunsQueued', {
      alarmDescription: 'credwatch: a scheduled run was dropped or failed asynchronously; its event is in the FailedRuns queue',
      metric: deps.failedRuns.metricApproximateNumberOfMessagesVisible({ period: QUEUE_PERIOD, statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: atLeastOne,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
  ];
  for (const alarm of alarms) alarm.addAlarmAction(action);
  return alarms;
}
