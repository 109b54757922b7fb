import { Duration, type Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

/** What functions/aws/handler.ts publishes through Powertools (EMF, default dimension `service`). */
export const METRIC_NAMESPACE = 'credwatch';
export const METRIC_DIMENSIONS = Object.freeze({ service: 'credwatch' });

const PERIOD = Duration.minutes(5);

function custom(name: string): Metric {
  return new Metric({ namespace: METRIC_NAMESPACE, metricName: name, dimensionsMap: { ...METRIC_DIMENSIONS }, statistic: 'Sum', period: PERIOD });
}

/**
 * Alarms that tell the alert recipients when credwatch itself is blind: each goes to the alert
 * topic, so no second channel has to be set up.
 */
export function addAlarms(stack: Stack, deps: { scanner: IFunction; failedRuns: IQueue; topic: ITopic }): Alarm[] {
  const action: IAlarmAction = new SnsAction(deps.topic);
  const atLeastOne = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
  const alarms = [
    new Alarm(stack, 'ScannerErrors', {
      alarmDescription: 'credwatch: the scanner function failed (configuration error or crash); no source was scanned by that run',
      metric: deps.scanner.metricErrors({ period: PERIOD, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: atLeastOne,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
    new Alarm(stack, 'ScannerNotRunning', {
      alarmDescription: 'credwatch: the scanner was not invoked for 15 minutes (schedule disabled or deleted?)',
      metric: deps.scanner.metricInvocations({ period: Duration.minutes(15), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No data point at all is exactly the failure this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
    }),
    new Alarm(stack, 'SourcesFailed', {
      alarmDescription: 'credwatch: a source failed in two consecutive runs; its checkpoint is not advancing (see the scanner logs: "source scan failed")',
      metric: custom('SourcesFailed'),
      threshold: 1,
      comparisonOperator: atLeastOne,
      // One throttled run is retried by the next from the same checkpoint; two in a row is an outage.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
    new Alarm(stack, 'AlertsFailed', {
      alarmDescription: 'credwatch: a finding could not be published to the alert topic (it is retried by the next run)',
      metric: custom('AlertsFailed'),
      threshold: 1,
      comparisonOperator: atLeastOne,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
    new Alarm(stack, 'FailedRunsQueued', {
      alarmDescription: 'credwatch: a scheduled run was dropped or failed asynchronously; its event is in the FailedRuns queue',
      metric: deps.failedRuns.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: atLeastOne,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
  ];
  for (const alarm of alarms) alarm.addAlarmAction(action);
  return alarms;
}
