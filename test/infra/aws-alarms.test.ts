import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHandler } from '../../functions/aws/handler.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import { CredwatchStack } from '../../infra/aws/credwatch-stack.js';
import { readStackConfig } from '../../infra/aws/stack-config.js';
import { SnsFake } from '../fakes/sns.js';
import { createStateTable, startDynalite, testAwsOptions, testSnsClient } from '../helpers/aws-clients.js';

const ACCOUNT = '111122223333';
const REGION = 'us-west-2';

function synth(context: Record<string, string>): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CredwatchStack(app, 'Credwatch', { config: readStackConfig((k) => context[k]), env: { account: ACCOUNT, region: REGION } });
  return Template.fromStack(stack);
}

interface AlarmProps {
  AlarmName?: string;
  AlarmDescription: string;
  Namespace: string;
  MetricName: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
  Statistic: 'Sum' | 'Maximum';
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
}

function alarms(template: Template): Record<string, AlarmProps> {
  const out: Record<string, AlarmProps> = {};
  for (const [id, r] of Object.entries(template.findResources('AWS::CloudWatch::Alarm'))) out[id.replace(/[0-9A-F]{8}$/, '')] = (r as { Properties: AlarmProps }).Properties;
  return out;
}

/**
 * CloudWatch's evaluation of a metric alarm at time `t` (seconds): the last EvaluationPeriods
 * complete periods, aligned to the period; a period with no data point is treated as the alarm's
 * TreatMissingData says; ALARM when at least DatapointsToAlarm periods breach.
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation)
 */
function stateAt(alarm: AlarmProps, points: Array<{ at: number; value: number }>, t: number): 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' {
  const p = alarm.Period;
  const lastEnd = Math.floor(t / p) * p;
  let breaching = 0;
  let present = 0;
  for (let i = 0; i < alarm.EvaluationPeriods; i++) {
    const end = lastEnd - i * p;
    const inPeriod = points.filter((d) => d.at >= end - p && d.at < end).map((d) => d.value);
    if (inPeriod.length === 0) {
      if (alarm.TreatMissingData === 'breaching') breaching++;
      continue;
    }
    present++;
    const v = alarm.Statistic === 'Sum' ? inPeriod.reduce((a, b) => a + b, 0) : Math.max(...inPeriod);
    const breach = alarm.ComparisonOperator === 'GreaterThanOrEqualToThreshold' ? v >= alarm.Threshold : alarm.ComparisonOperator === 'LessThanThreshold' ? v < alarm.Threshold : false;
    if (breach) breaching++;
  }
  if (present === 0 && (alarm.TreatMissingData === 'missing' || alarm.TreatMissingData === 'ignore')) return 'INSUFFICIENT_DATA';
  return breaching >= (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods) ? 'ALARM' : 'OK';
}

/** States every minute over [from, to). */
function states(alarm: AlarmProps, points: Array<{ at: number; value: number }>, from: number, to: number): string[] {
  const out: string[] = [];
  for (let t = from; t < to; t += 60) out.push(stateAt(alarm, points, t));
  return out;
}

const SCHEDULES: Array<[string, number]> = [
  ['rate(5 minutes)', 5],
  ['rate(10 minutes)', 10],
  ['rate(30 minutes)', 30],
  ['rate(1 hour)', 60],
  ['cron(0/10 * * * ? *)', 10],
];

describe.each(SCHEDULES)('alarms on the schedule %s', (schedule, minutes) => {
  const template = synth({ eksClusters: 'prod-eks-1', alertEmail: 'secops@example.com', schedule });
  const all = alarms(template);
  const period = minutes * 60;
  // A schedule created at an arbitrary second: ticks are not aligned to the clock.
  const t0 = 1_767_225_600 + 137;
  const ticks = Array.from({ length: 40 }, (_, i) => t0 + i * period);
  const horizon = ticks.at(-1)! + period;

  it('sizes every run-based alarm by the schedule period', () => {
    for (const name of ['ScannerErrors', 'ScannerNotRunning', 'SourcesFailed', 'AlertsFailed']) expect(all[name]!.Period, name).toBe(period);
    // CloudWatch refuses more than a day of evaluation.
    for (const a of Object.values(all)) expect(a.Period * a.EvaluationPeriods).toBeLessThanOrEqual(86_400);
  });

  it('NotRunning stays OK while the schedule runs, and alarms within three periods of the last run', () => {
    const notRunning = all['ScannerNotRunning']!;
    // Invocations are counted when the invocation starts, up to a few seconds after the tick.
    const healthy = ticks.map((at, i) => ({ at: at + (i % 3) * 7, value: 1 }));
    expect(states(notRunning, healthy, ticks[2]!, horizon)).not.toContain('ALARM');
    const stoppedAt = ticks[20]!;
    const stopped = healthy.filter((d) => d.at < stoppedAt);
    const after = states(notRunning, stopped, stoppedAt, horizon);
    expect(after.indexOf('ALARM')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('ALARM')).toBeLessThanOrEqual(3 * minutes);
  });

  it('SourcesFailed ignores one failed run and alarms on two in a row', () => {
    const failed = all['SourcesFailed']!;
    // The handler stamps each run's metrics with the run's start (the tick).
    const oneBad = ticks.map((at, i) => ({ at, value: i === 10 ? 1 : 0 }));
    expect(states(failed, oneBad, ticks[1]!, horizon)).not.toContain('ALARM');
    const twoBad = ticks.map((at, i) => ({ at, value: i === 10 || i === 11 ? 2 : 0 }));
    const s = states(failed, twoBad, ticks[1]!, horizon);
    expect(s).toContain('ALARM');
    // Back to OK once runs succeed again.
    expect(s.at(-1)).toBe('OK');
  });
});

describe('alarm configuration that cannot be seen working', () => {
  const template = synth({ eksClusters: 'prod-eks-1', alertEmail: 'secops@example.com' });

  it('NotRunning treats no data at all as breaching: a deleted schedule sends no data points', () => {
    const notRunning = alarms(template)['ScannerNotRunning']!;
    expect(notRunning.TreatMissingData).toBe('breaching');
    expect(states(notRunning, [], 1_767_225_600, 1_767_225_600 + 3600)).toContain('ALARM');
  });

  it('lets CloudWatch use the alert topic\'s KMS key and publish to the topic, from this account only', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key')) as Array<{ Properties: { KeyPolicy: { Statement: Array<Record<string, unknown>> } } }>;
    expect(keys).toHaveLength(1);
    const grant = keys[0]!.Properties.KeyPolicy.Statement.find((s) => (s['Principal'] as { Service?: string } | undefined)?.Service === 'cloudwatch.amazonaws.com');
    expect(grant, 'the key policy must let CloudWatch alarms encrypt to the topic').toBeDefined();
    expect(grant!['Effect']).toBe('Allow');
    expect([grant!['Action']].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(grant!['Condition']).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
    const topicPolicies = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Array<{ Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }>;
    const publish = topicPolicies.flatMap((p) => p.Properties.PolicyDocument.Statement).find((s) => (s['Principal'] as { Service?: string } | undefined)?.Service === 'cloudwatch.amazonaws.com');
    expect(publish?.['Action']).toBe('sns:Publish');
    // Every alarm acts on that encrypted topic.
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect((a as { Properties: { AlarmActions: unknown } }).Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});

describe('the custom-metric alarms watch what the handler publishes', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  const sns = new SnsFake();
  let snsEndpoint: string;
  const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:credwatch-alerts`;

  beforeAll(async () => {
    db = await startDynalite();
    await createStateTable(db.client, 'state');
    snsEndpoint = await sns.start();
    sns.topics.add(TOPIC);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await db.stop();
    await sns.stop();
  });

  it('same namespace, dimensions and metric names, with the run start as timestamp', async () => {
    const emitted: Array<{ _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>> = [];
    // The handler's own Metrics instance (its default namespace and service): capture the EMF document instead of printing it.
    vi.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
      emitted.push(this.serializeMetrics());
      this.clearMetrics();
      return this;
    });
    const handler = createHandler({
      env: { [ENV.sources]: JSON.stringify([{ cloud: 'eks', cluster: 'prod-eks-1', region: REGION }]), [ENV.stateTable]: 'state', [ENV.topicArn]: TOPIC },
      dynamodb: db.client,
      sns: testSnsClient(snsEndpoint),
      secrets: new SecretsManagerClient(testAwsOptions('http://127.0.0.1:9')),
      logger: new Logger({ logLevel: 'SILENT' }),
      clock: () => new Date(),
      buildSource: async () => {
        throw new Error('source down');
      },
    });
    const summary = await handler({ id: 'run-1', time: '2026-03-02T09:10:00Z' } as ScheduledEvent);
    expect(emitted).toHaveLength(1);
    const doc = emitted[0]!;
    expect(doc._aws.Timestamp).toBe(Date.parse(summary.startedAt));
    const { Namespace, Dimensions, Metrics: names } = doc._aws.CloudWatchMetrics[0]!;
    const template = synth({ eksClusters: 'prod-eks-1', alertEmail: 'secops@example.com' });
    const custom = Object.values(alarms(template)).filter((a) => !a.Namespace.startsWith('AWS/'));
    expect(custom.map((a) => a.MetricName).sort()).toEqual(['AlertsFailed', 'SourcesFailed']);
    for (const alarm of custom) {
      expect(alarm.Namespace).toBe(Namespace);
      expect(names.map((m) => m.Name)).toContain(alarm.MetricName);
      // An alarm matches only data points with exactly its dimensions.
      expect(Dimensions).toEqual([alarm.Dimensions!.map((d) => d.Name)]);
      for (const d of alarm.Dimensions!) expect(doc[d.Name]).toBe(d.Value);
    }
    expect(doc['SourcesFailed']).toBe(1);
  });
});
