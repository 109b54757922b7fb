import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { RunSummary } from '../../core/scan/scan.js';
import { SnsSink } from '../../core/scan/sinks/sns.js';
import { DynamoDbStateStore } from '../../core/scan/state/dynamodb-store.js';
import { ENV, readCommonConfig, required } from '../shared/runtime-config.js';
import { buildLiveSource, scheduledRun, type SourceBuilder } from '../shared/scheduled-run.js';
import { CloudCredentials, credentialCloudOf } from './cloud-credentials.js';
import { METRIC, METRIC_NAMESPACE, METRIC_SERVICE } from './metrics.js';

export interface AwsHandlerDeps {
  env: Record<string, string | undefined>;
  dynamodb: DynamoDBClient;
  sns: SNSClient;
  secrets: SecretsManagerClient;
  buildSource?: SourceBuilder;
  clock?: () => Date;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The scheduled Lambda: validates its environment, scans every configured source with DynamoDB
 * state and the SNS sink, logs the run summary as structured JSON, publishes metrics (sources
 * failed, alerts sent/failed) in the embedded metric format, and returns the summary. Clients are
 * built once per container; tests inject them.
 */
export function createHandler(overrides: Partial<AwsHandlerDeps> = {}) {
  const env = overrides.env ?? process.env;
  const logger = overrides.logger ?? new Logger({ serviceName: METRIC_SERVICE });
  const metrics = overrides.metrics ?? new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE });
  let clients: Pick<AwsHandlerDeps, 'dynamodb' | 'sns' | 'secrets'> | undefined;
  let credentials: CloudCredentials | undefined;

  return async function handler(event: ScheduledEvent, context?: Context): Promise<RunSummary> {
    if (context !== undefined) logger.addContext(context);
    const config = readCommonConfig(env);
    const table = required(env, ENV.stateTable, 'the name of the DynamoDB state table (the stack output StateTableName)');
    const topicArn = required(env, ENV.topicArn, 'the ARN of the SNS topic that receives alerts');
    clients ??= {
      dynamodb: overrides.dynamodb ?? new DynamoDBClient({}),
      sns: overrides.sns ?? new SNSClient({}),
      secrets: overrides.secrets ?? new SecretsManagerClient({}),
    };
    const secretArn = env[ENV.credentialsSecretArn]?.trim();
    if (secretArn !== undefined && secretArn !== '') credentials ??= new CloudCredentials(clients.secrets, secretArn, env);
    const build = overrides.buildSource ?? buildLiveSource;
    const summary = await scheduledRun({
      config,
      store: new DynamoDbStateStore(clients.dynamodb, table),
      sink: new SnsSink(clients.sns, topicArn),
      // Credentials are fetched for the first source that needs them; a failure fails that
      // cloud's sources only (reported per source), never EKS.
      buildSource: async (spec) => {
        const cloud = credentialCloudOf(spec);
        if (cloud !== undefined && credentials !== undefined) await credentials.ensure(cloud);
        return build(spec);
      },
      ...(overrides.clock === undefined ? {} : { clock: overrides.clock }),
      runId: context?.awsRequestId ?? event.id,
      ...(context === undefined ? {} : { runTimeoutMs: context.getRemainingTimeInMillis() + 5_000 }),
    });
    report(summary, logger, metrics);
    return summary;
  };
}

function report(summary: RunSummary, logger: Logger, metrics: Metrics): void {
  for (const s of summary.sources) {
    const line = { ...s, runId: summary.runId };
    if (s.status === 'failed' || s.status === 'undelivered') logger.error('source scan failed', line);
    else logger.info('source scanned', line);
    for (const n of s.notices) logger.warn('coverage', { source: s.source, ...n });
    for (const w of s.warnings) logger.warn(w, { source: s.source });
  }
  const sum = (f: (s: RunSummary['sources'][number]) => number) => summary.sources.reduce((a, s) => a + f(s), 0);
  // Stamped with the run's start, so each run's figures fall in the alarm period of its own
  // schedule tick however long the run took (the alarms use one period per tick).
  metrics.setTimestamp(new Date(summary.startedAt));
  metrics.addMetric(METRIC.sourcesFailed, MetricUnit.Count, sum((s) => (s.status === 'failed' || s.status === 'undelivered' ? 1 : 0)));
  metrics.addMetric(METRIC.eventsScanned, MetricUnit.Count, sum((s) => s.events));
  metrics.addMetric(METRIC.findings, MetricUnit.Count, sum((s) => s.findings));
  metrics.addMetric(METRIC.alertsSent, MetricUnit.Count, sum((s) => s.alertsSent));
  metrics.addMetric(METRIC.alertsFailed, MetricUnit.Count, sum((s) => s.alertsFailed));
  metrics.addMetric(METRIC.recordsRejected, MetricUnit.Count, sum((s) => Object.values(s.rejected).reduce((a, n) => a + (n ?? 0), 0)));
  // The scan's own named counts (checkpoint clamped, lease taken over, alerts set aside, state size…).
  const named = new Map<string, number>();
  for (const s of summary.sources) for (const [k, v] of Object.entries(s.metrics)) named.set(k, (named.get(k) ?? 0) + v);
  for (const [k, v] of named) metrics.addMetric(k, k.endsWith('Bytes') ? MetricUnit.Bytes : MetricUnit.Count, v);
  metrics.publishStoredMetrics();
}

export const handler = createHandler();
