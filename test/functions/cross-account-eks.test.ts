import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ScheduledEvent } from 'aws-lambda';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sessionNameFor } from '../../adapters/eks/client.js';
import { asEks, k8sEvent } from '../../examples/audit-records.js';
import { createHandler } from '../../functions/aws/handler.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import { FakeCloudWatchLogs } from '../fakes/cloudwatch-logs.js';
import { SnsFake } from '../fakes/sns.js';
import { StsFake } from '../fakes/sts.js';
import { createStateTable, startDynalite, stubAwsCredentialEnv, testAwsOptions, testSnsClient } from '../helpers/aws-clients.js';

const TOPIC = 'arn:aws:sns:us-west-2:111122223333:credwatch-alerts';
const ROLE = 'arn:aws:iam::444455556666:role/credwatch-read-eks-logs';
const UNTRUSTED = 'arn:aws:iam::777788889999:role/credwatch-read-eks-logs';

/** Forwards to the CloudWatch Logs fake and records the access key each request was signed with. */
async function signingRecorder(target: string): Promise<{ endpoint: string; keys: string[]; close: () => Promise<void> }> {
  const keys: string[] = [];
  const url = new URL(target);
  const server: Server = createServer((req, res) => {
    keys.push(/Credential=([^/]+)\//.exec(String(req.headers['authorization'] ?? ''))?.[1] ?? '(unsigned)');
    const up = request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('cross-account EKS: the handler assumes the role named for a cluster (real STS client, STS wire fake)', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  const sns = new SnsFake();
  const sts = new StsFake();
  let cwl: FakeCloudWatchLogs;
  let recorder: Awaited<ReturnType<typeof signingRecorder>>;
  let snsEndpoint: string;

  beforeAll(async () => {
    db = await startDynalite();
    await createStateTable(db.client, 'state');
    snsEndpoint = await sns.start();
    sns.topics.add(TOPIC);
    const stsEndpoint = await sts.start();
    sts.roles.set(ROLE, true);
    cwl = await FakeCloudWatchLogs.start();
    cwl.createLogGroup('/aws/eks/member-eks/cluster');
    cwl.createLogGroup('/aws/eks/other-eks/cluster');
    const now = Date.now();
    const dump = asEks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:serviceaccount:default:compromised-app', requestURI: '/api/v1/secrets?limit=500', time: new Date(now - 120_000).toISOString(), auditID: '9a1b2c3d-0000-4000-8000-00000000c0a1' }));
    cwl.putEvents('/aws/eks/member-eks/cluster', [{ logStreamName: String(dump['logStreamName']), timestamp: now - 120_000, ingestionTime: now - 60_000, message: String(dump['message']), eventId: 'x-1' }]);
    recorder = await signingRecorder(cwl.endpoint);
    // The real source builders use the standard credential chain and endpoint variables: base keys, loopback only.
    stubAwsCredentialEnv();
    vi.stubEnv('AWS_ENDPOINT_URL_STS', stsEndpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', recorder.endpoint);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await recorder.close();
    await cwl.close();
    await sts.stop();
    await sns.stop();
    await db.stop();
  });

  it('reads the member cluster with the assumed role\'s keys, its own cluster with the base keys, and fails only the untrusted one', async () => {
    const handler = createHandler({
      env: {
        [ENV.sources]: JSON.stringify([
          { cloud: 'eks', cluster: 'member-eks', region: 'us-west-2', roleArn: ROLE },
          { cloud: 'eks', cluster: 'other-eks', region: 'us-west-2' },
          { cloud: 'eks', cluster: 'foreign-eks', region: 'us-west-2', roleArn: UNTRUSTED },
        ]),
        [ENV.stateTable]: 'state',
        [ENV.topicArn]: TOPIC,
      },
      dynamodb: db.client,
      sns: testSnsClient(snsEndpoint),
      secrets: new SecretsManagerClient(testAwsOptions('http://127.0.0.1:9')),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: Object.assign(new Metrics({ namespace: 'credwatch' }), { publishStoredMetrics: () => undefined }) as unknown as Metrics,
    });
    const summary = await handler({ id: 'x-run' } as ScheduledEvent);
    const [member, own, foreign] = summary.sources;
    expect(member).toMatchObject({ source: 'eks:member-eks', status: 'ok', events: 1 });
    expect(member!.alertsSent).toBeGreaterThan(0);
    expect(own).toMatchObject({ source: 'eks:other-eks', status: 'ok' });
    expect(foreign!.status).toBe('failed');
    expect(foreign!.error).toContain(`cannot assume ${UNTRUSTED}`);
    expect(foreign!.error).toContain('AccessDenied');

    // STS was called with the base keys, once per role, with a session name that says who is reading.
    const byRole = (arn: string) => sts.calls.filter((c) => c.roleArn === arn);
    expect(byRole(ROLE)).toHaveLength(1);
    expect(byRole(ROLE)[0]).toMatchObject({ sessionName: sessionNameFor('member-eks'), durationSeconds: 3600, signedWith: 'AKIDFAKE' });
    // Every read of the member cluster's group was signed with the temporary key STS issued for the role.
    const issued = [...sts.issued].filter(([, arn]) => arn === ROLE).map(([key]) => key);
    expect(issued).toHaveLength(1);
    const groups = cwl.requests.map((r) => String(r.body['logGroupName']));
    expect(groups.length).toBe(recorder.keys.length);
    recorder.keys.forEach((key, i) => expect(key, groups[i]).toBe(groups[i] === '/aws/eks/member-eks/cluster' ? issued[0] : 'AKIDFAKE'));
    expect(groups).toContain('/aws/eks/member-eks/cluster');
    expect(groups).not.toContain('/aws/eks/foreign-eks/cluster');
  });

  it('keeps session names within what STS accepts', () => {
    expect(sessionNameFor('prod_eks-1')).toBe('credwatch-prod_eks-1');
    expect(sessionNameFor('x'.repeat(100))).toHaveLength(64);
  });
});
