import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ScheduledEvent } from 'aws-lambda';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEksSource } from '../../adapters/eks/source.js';
import { ConfigError } from '../../core/model/errors.js';
import { asEks, k8sEvent } from '../../examples/audit-records.js';
import { DYNAMO_KEY } from '../../core/scan/state/dynamodb-store.js';
import { createHandler } from '../../functions/aws/handler.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import { fakeClient, FakeCloudWatchLogs } from '../fakes/cloudwatch-logs.js';
import { SnsFake } from '../fakes/sns.js';
import { createStateTable, startDynalite, testAwsOptions, testSnsClient } from '../helpers/aws-clients.js';
import { SecretsManagerFake } from './secrets-manager-fake.js';

const TOPIC = 'arn:aws:sns:us-west-2:111122223333:credwatch-alerts';
const TABLE = 'credwatch-state';
const NOW = Date.parse('2026-03-02T09:10:00Z');
const MIN = 60_000;

/** What EventBridge Scheduler delivers to the function. */
function scheduledEvent(id: string): ScheduledEvent {
  return {
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '111122223333',
    time: new Date(NOW).toISOString(),
    region: 'us-west-2',
    resources: ['arn:aws:events:us-west-2:111122223333:rule/credwatch-every-5-minutes'],
    detail: {},
  };
}

describe('AWS Lambda handler, end to end', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  const sns = new SnsFake();
  let cwl: FakeCloudWatchLogs;
  let snsEndpoint: string;
  let sentFirst = 0;

  beforeAll(async () => {
    db = await startDynalite();
    await createStateTable(db.client, TABLE);
    snsEndpoint = await sns.start();
    sns.topics.add(TOPIC);
    cwl = await FakeCloudWatchLogs.start();
    cwl.createLogGroup('/aws/eks/prod-eks-1/cluster');
    // The Stratus dump-secrets technique: a service account lists every secret in the cluster.
    const dump = k8sEvent({
      verb: 'list',
      resource: 'secrets',
      user: 'system:serviceaccount:default:compromised-app',
      extra: { 'authentication.kubernetes.io/pod-name': ['web-7d9c8b6f5-xk2mq'] },
      requestURI: '/api/v1/secrets?limit=500',
      time: new Date(NOW - 2 * MIN).toISOString(),
      auditID: '9a1b2c3d-0000-4000-8000-000000000001',
    });
    const cw = asEks(dump);
    cwl.putEvents('/aws/eks/prod-eks-1/cluster', [
      { logStreamName: String(cw['logStreamName']), timestamp: NOW - 2 * MIN, ingestionTime: NOW - 1 * MIN, message: String(cw['message']), eventId: 'cw-1' },
    ]);
  });

  afterAll(async () => {
    await db.stop();
    await sns.stop();
    await cwl.close();
  });

  function handlerAt(now: number, env: Record<string, string>) {
    const metrics = new Metrics({ namespace: 'credwatch' });
    const added = vi.spyOn(metrics, 'addMetric');
    // Keep EMF lines off the test output; the metric values are asserted through addMetric.
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    const handler = createHandler({
      env,
      dynamodb: db.client,
      sns: testSnsClient(snsEndpoint),
      secrets: new SecretsManagerClient(testAwsOptions('http://127.0.0.1:9')),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
      clock: () => new Date(now),
      buildSource: async (spec) => {
        if (spec.cloud !== 'eks') throw new Error('only EKS in this test');
        return createEksSource({ cluster: spec.cluster, region: 'us-west-2', client: fakeClient(cwl.endpoint) });
      },
    });
    return { handler, added };
  }

  const env = {
    [ENV.sources]: JSON.stringify([
      { cloud: 'eks', cluster: 'prod-eks-1', region: 'us-west-2' },
      { cloud: 'gke', projects: ['acme-prod'] },
    ]),
    [ENV.stateTable]: TABLE,
    [ENV.topicArn]: TOPIC,
  };

  it('turns a scheduled event into one published alert, with DynamoDB state, and isolates a failing source', async () => {
    const { handler, added } = handlerAt(NOW, env);
    const summary = await handler(scheduledEvent('run-1'));
    const [eks, gke] = summary.sources;
    expect(eks).toMatchObject({ source: 'eks:prod-eks-1', status: 'ok', events: 1, checkpointAdvanced: true });
    // Both the service-account rule and the sweep rule see a cluster-wide dump: one alert each.
    expect(eks!.alertsSent).toBe(eks!.findings - eks!.belowAlertSeverity);
    expect(eks!.alertsSent).toBeGreaterThanOrEqual(1);
    expect(gke).toMatchObject({ source: 'gke:acme-prod', status: 'failed', checkpointAdvanced: false });
    expect(gke!.error).toContain('gke:acme-prod could not be set up: only EKS in this test');
    expect(sns.published).toHaveLength(eks!.alertsSent);
    sentFirst = eks!.alertsSent;
    for (const message of sns.published) {
      const alert = JSON.parse(message.message);
      expect(alert.event.id).toBe('9a1b2c3d-0000-4000-8000-000000000001');
      expect(alert.cluster).toBe('prod-eks-1');
      expect(message.attributes['rule']!.value).toBe(alert.rule);
      expect(message.attributes['severity']!.value).toBe(alert.severity);
    }
    expect(new Set(sns.published.map((m) => m.attributes['rule']!.value)).size).toBe(sns.published.length);
    const cp = await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { [DYNAMO_KEY]: { S: 'checkpoint#eks:prod-eks-1' } } }));
    expect(cp.Item?.['to']?.S).toBe(new Date(NOW).toISOString());
    expect(added).toHaveBeenCalledWith('SourcesFailed', 'Count', 1);
    expect(added).toHaveBeenCalledWith('AlertsSent', 'Count', eks!.alertsSent);
  });

  it('does not publish the same alert again when the next run re-reads the overlap', async () => {
    const { handler } = handlerAt(NOW + 5 * MIN, env);
    const summary = await handler(scheduledEvent('run-2'));
    // The re-read request came in with the first run's correlation state: judged there, not again.
    expect(summary.sources[0]).toMatchObject({ status: 'ok', events: 1, alertsSent: 0, correlation: expect.objectContaining({ carriedIn: 1, skippedAsJudged: 1 }) });
    expect(sns.published).toHaveLength(sentFirst);
  });

  it('refuses to start without its configuration, naming the variable', async () => {
    const { handler } = handlerAt(NOW, { [ENV.sources]: env[ENV.sources], [ENV.topicArn]: TOPIC });
    const err = await handler(scheduledEvent('run-3')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('CREDWATCH_STATE_TABLE is not set: set it to the name of the DynamoDB state table (the stack output StateTableName).');
    const bad = handlerAt(NOW, { ...env, [ENV.sources]: '[{"cloud":"eks"}]' });
    const err2 = await bad.handler(scheduledEvent('run-4')).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('CREDWATCH_SOURCES: 0.cluster:');
  });
});

describe('AWS Lambda handler, credentials per source', () => {
  const SECRET = 'arn:aws:secretsmanager:us-west-2:111122223333:secret:credwatch-cloud-credentials-AbCdEf';
  let db: Awaited<ReturnType<typeof startDynalite>>;
  const sns = new SnsFake();
  const sm = new SecretsManagerFake();
  let snsEndpoint: string;
  let smEndpoint: string;
  let cwl: FakeCloudWatchLogs;
  let keyDir: string;

  beforeAll(async () => {
    db = await startDynalite();
    await createStateTable(db.client, TABLE);
    snsEndpoint = await sns.start();
    sns.topics.add(TOPIC);
    smEndpoint = await sm.start();
    cwl = await FakeCloudWatchLogs.start();
    cwl.createLogGroup('/aws/eks/prod-eks-1/cluster');
    keyDir = mkdtempSync(join(tmpdir(), 'credwatch-key-'));
  });
  afterAll(async () => {
    await db.stop();
    await sns.stop();
    await sm.stop();
    await cwl.close();
  });

  const ALL = JSON.stringify([
    { cloud: 'eks', cluster: 'prod-eks-1', region: 'us-west-2' },
    { cloud: 'aks', workspaceId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590' },
    { cloud: 'gke', projects: ['acme-prod'] },
  ]);

  /** The real handler with the real Secrets Manager client against the wire fake; AKS/GKE sources record the credentials they were built with. */
  function run(env: Record<string, string>) {
    const seen: Record<string, string | undefined> = {};
    const handler = createHandler({
      env,
      dynamodb: db.client,
      sns: testSnsClient(snsEndpoint),
      secrets: new SecretsManagerClient(testAwsOptions(smEndpoint)),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: Object.assign(new Metrics({ namespace: 'credwatch' }), { publishStoredMetrics: () => undefined }) as unknown as Metrics,
      clock: () => new Date(NOW),
      buildSource: async (spec) => {
        if (spec.cloud === 'eks') return createEksSource({ cluster: spec.cluster, region: 'us-west-2', client: fakeClient(cwl.endpoint) });
        if (spec.cloud === 'aks') seen['azure'] = env['AZURE_CLIENT_SECRET'];
        if (spec.cloud === 'gke') seen['gcp'] = env['GOOGLE_APPLICATION_CREDENTIALS'];
        return { name: `${spec.cloud}:test`, cloud: spec.cloud === 'aks' ? 'aks' : 'gke', read: async function* () {} };
      },
    });
    return { handler, seen };
  }

  it('scans EKS with no secret configured at all, and never calls Secrets Manager', async () => {
    sm.requests = 0;
    const { handler } = run({ [ENV.sources]: JSON.stringify([{ cloud: 'eks', cluster: 'prod-eks-1', region: 'us-west-2' }]), [ENV.stateTable]: TABLE, [ENV.topicArn]: TOPIC });
    const summary = await handler(scheduledEvent('cred-1'));
    expect(summary.sources.map((s) => s.status)).toEqual(['ok']);
    expect(sm.requests).toBe(0);
  });

  it('with the secret still the template, EKS is scanned and each other source fails naming the secret and its empty keys', async () => {
    sm.secrets.set(SECRET, JSON.stringify({ azure: { tenantId: '', clientId: '', clientSecret: '' }, gcp: { serviceAccountKey: {} } }));
    const { handler } = run({ [ENV.sources]: ALL, [ENV.stateTable]: TABLE, [ENV.topicArn]: TOPIC, [ENV.credentialsSecretArn]: SECRET });
    const [eks, aks, gke] = (await handler(scheduledEvent('cred-2'))).sources;
    expect(eks!.status).toBe('ok');
    expect(aks!.status).toBe('failed');
    expect(aks!.error).toContain(`the credentials secret ${SECRET}: azure.tenantId, azure.clientId, azure.clientSecret are empty`);
    expect(gke!.status).toBe('failed');
    expect(gke!.error).toContain(`the credentials secret ${SECRET}: gcp.serviceAccountKey is empty`);
  });

  it('a malformed secret fails only the sources that need it', async () => {
    sm.secrets.set(SECRET, 'azure=tenant:client:secret');
    const { handler } = run({ [ENV.sources]: ALL, [ENV.stateTable]: TABLE, [ENV.topicArn]: TOPIC, [ENV.credentialsSecretArn]: SECRET });
    const [eks, aks, gke] = (await handler(scheduledEvent('cred-3'))).sources;
    expect(eks!.status).toBe('ok');
    for (const s of [aks!, gke!]) {
      expect(s.status).toBe('failed');
      expect(s.error).toContain(`The credentials secret ${SECRET} is not JSON`);
    }
  });

  it('one filled-in key is applied and the missing other fails only its own source', async () => {
    sm.secrets.set(SECRET, JSON.stringify({ azure: { tenantId: 't', clientId: 'c', clientSecret: 's3cret' } }));
    const { handler, seen } = run({ [ENV.sources]: ALL, [ENV.stateTable]: TABLE, [ENV.topicArn]: TOPIC, [ENV.credentialsSecretArn]: SECRET });
    const [eks, aks, gke] = (await handler(scheduledEvent('cred-4'))).sources;
    expect([eks!.status, aks!.status, gke!.status]).toEqual(['ok', 'ok', 'failed']);
    expect(seen['azure']).toBe('s3cret');
    expect(gke!.error).toContain(`the credentials secret ${SECRET} has no "gcp" key, which the GKE sources need`);
  });

  it('a GCP key is written where Google\'s credential chain reads it', async () => {
    const key = { type: 'service_account', client_email: 'credwatch@acme-prod.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nMII…\n-----END PRIVATE KEY-----\n' };
    const { CloudCredentials } = await import('../../functions/aws/cloud-credentials.js');
    sm.secrets.set(SECRET, JSON.stringify({ gcp: { serviceAccountKey: key } }));
    const env: Record<string, string | undefined> = {};
    const path = join(keyDir, 'key.json');
    await new CloudCredentials(new SecretsManagerClient(testAwsOptions(smEndpoint)), SECRET, env, path).ensure('gcp');
    expect(env['GOOGLE_APPLICATION_CREDENTIALS']).toBe(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(key);
  });

  it('an unreadable secret fails the AKS and GKE sources with what to grant, and the next run reads it again', async () => {
    sm.denied.add(SECRET);
    const env = { [ENV.sources]: ALL, [ENV.stateTable]: TABLE, [ENV.topicArn]: TOPIC, [ENV.credentialsSecretArn]: SECRET };
    const { handler } = run(env);
    const [eks, aks, gke] = (await handler(scheduledEvent('cred-5'))).sources;
    expect(eks!.status).toBe('ok');
    expect(aks!.error).toContain(`Cannot read the credentials secret ${SECRET} (AccessDeniedException): grant secretsmanager:GetSecretValue`);
    expect(gke!.status).toBe('failed');
    sm.denied.delete(SECRET);
    sm.secrets.set(SECRET, JSON.stringify({ azure: { tenantId: 't', clientId: 'c', clientSecret: 's' } }));
    const again = (await handler(scheduledEvent('cred-6'))).sources;
    expect(again[1]!.status).toBe('ok');
  });
});

