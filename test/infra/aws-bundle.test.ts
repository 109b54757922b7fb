import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asEks, k8sEvent } from '../../examples/audit-records.js';
import { DYNAMO_KEY } from '../../core/scan/state/dynamodb-store.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import { bundleDefines } from '../../functions/shared/bundled-clouds.js';
import { HANDLER_ENTRY, handlerDefines, handlerEsbuildOptions } from '../../infra/aws/handler-bundle.js';
import { readStackConfig, sourceSpecs } from '../../infra/aws/stack-config.js';
import { FakeCloudWatchLogs } from '../fakes/cloudwatch-logs.js';
import { SnsFake } from '../fakes/sns.js';
import { createStateTable, startDynalite } from '../helpers/aws-clients.js';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:credwatch-alerts';
const TABLE = 'credwatch-state';
const AUDIT_ID = '9a1b2c3d-0000-4000-8000-00000000b0d1';

/**
 * Runs the bundled handler the way Lambda does: a fresh Node process `require`s index.js and calls
 * `handler(event, context)`. The bundle's own default SDK clients reach the fakes through the
 * SDK's per-service endpoint variables, so nothing in the bundle is test-specific.
 */
const RUNNER = `
const { handler } = require(process.argv[2]);
handler({ id: 'bundle-run', 'detail-type': 'Scheduled Event', source: 'aws.scheduler', detail: {} },
  { awsRequestId: 'req-bundle-1', functionName: 'credwatch', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:credwatch', memoryLimitInMB: '1769', logGroupName: '/aws/lambda/credwatch', logStreamName: 's', getRemainingTimeInMillis: () => 240000 })
  .then((summary) => process.send({ summary }), (err) => process.send({ error: String(err && err.stack || err) }));
`;

/** The options NodejsFunction passes to esbuild for this stack (infra/aws/handler-bundle.ts), for a deploy scanning `clouds`. */
async function bundleFor(outfile: string, define: Record<string, string>): Promise<Metafile> {
  const result = await build({
    entryPoints: [HANDLER_ENTRY],
    outfile,
    ...handlerEsbuildOptions(),
    define,
    metafile: true,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  return result.metafile;
}

const EXAMPLE_KIT_FILE = join(import.meta.dirname, '..', '..', 'rules', 'data', 'example-kit.ts');

const GOOGLE_OR_AZURE = /node_modules\/(@google-cloud|@azure|@grpc|google-auth-library|google-gax|gaxios|gcp-metadata)\//;

describe('bundled AWS handler', () => {
  let dir: string;
  let bundle: string;
  let metafile: Metafile;
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let cwl: FakeCloudWatchLogs;
  const sns = new SnsFake();
  let snsEndpoint: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'credwatch-bundle-'));
    bundle = join(dir, 'index.js');
    // What an EKS-only stack bundles: the defines come from the stack's own sources.
    const config = readStackConfig((k) => ({ eksClusters: 'prod-eks-1', alertEmail: 'a@example.com' } as Record<string, string>)[k]);
    metafile = await bundleFor(bundle, handlerDefines(sourceSpecs(config)));
    writeFileSync(join(dir, 'run.cjs'), RUNNER);

    db = await startDynalite();
    await createStateTable(db.client, TABLE);
    snsEndpoint = await sns.start();
    sns.topics.add(TOPIC);
    cwl = await FakeCloudWatchLogs.start();
    cwl.createLogGroup('/aws/eks/prod-eks-1/cluster');
    const now = Date.now();
    const dump = k8sEvent({
      verb: 'list',
      resource: 'secrets',
      user: 'system:serviceaccount:default:compromised-app',
      extra: { 'authentication.kubernetes.io/pod-name': ['web-7d9c8b6f5-xk2mq'] },
      requestURI: '/api/v1/secrets?limit=500',
      time: new Date(now - 120_000).toISOString(),
      auditID: AUDIT_ID,
    });
    const record = asEks(dump);
    cwl.putEvents('/aws/eks/prod-eks-1/cluster', [
      { logStreamName: String(record['logStreamName']), timestamp: now - 120_000, ingestionTime: now - 60_000, message: String(record['message']), eventId: 'cw-bundle-1' },
    ]);
  });

  afterAll(async () => {
    await db.stop();
    await sns.stop();
    await cwl.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is one self-contained CommonJS file with no Google or Azure client code and no source map', () => {
    expect(statSync(bundle).size).toBeGreaterThan(100_000);
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((i) => GOOGLE_OR_AZURE.test(i))).toEqual([]);
    // Their record parsers are shared by runtime detection; their sources and clients are not bundled.
    expect(inputs.filter((i) => /adapters\/(aks|gke)\/(source|client)\.ts$/.test(i) || /adapters\/runtime\/(aks|gke)-/.test(i))).toEqual([]);
    expect(inputs.some((i) => i.includes('@aws-sdk/client-cloudwatch-logs'))).toBe(true);
    // zod is imported as a namespace in every source, so esbuild keeps only what is used: no other
    // language's messages (its `z` export is one object of everything, which would keep them all).
    const kept = Object.values(metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([p]) => p));
    expect(kept.filter((p) => /zod\/v4\/locales\//.test(p) && !/\/(en|index)\.js$/.test(p))).toEqual([]);
    expect(kept.some((p) => p.endsWith('zod/v4/locales/en.js'))).toBe(true);
    expect(Object.keys(metafile.outputs).filter((o) => o.endsWith('.map'))).toEqual([]);
    expect(readFileSync(bundle, 'utf8')).not.toContain('sourceMappingURL');
  });

  it('ships no rule examples: no module of examples/ and no rules/data/ sample', async () => {
    const examples = (m: Metafile) => Object.keys(m.inputs).filter((i) => !i.includes('node_modules') && /(^|\/)(examples|rules\/data)\//.test(i));
    expect(examples(metafile)).toEqual([]);
    expect(Object.keys(metafile.inputs).some((i) => /(^|\/)rules\/secret-sweep\.ts$/.test(i))).toBe(true);
    // What a rule's examples use, bundled on its own, is found by the same check, so the check can fail.
    const kit = await build({ entryPoints: [EXAMPLE_KIT_FILE], outfile: join(dir, 'kit', 'index.js'), ...handlerEsbuildOptions(), metafile: true, logLevel: 'silent' });
    expect(examples(kit.metafile).length).toBeGreaterThanOrEqual(4);
  });

  it('a bundle with every cloud does include them (so the check above can fail)', async () => {
    const all = await bundleFor(join(dir, 'all', 'index.js'), bundleDefines(['eks', 'aks', 'gke']));
    expect(Object.keys(all.inputs).filter((i) => GOOGLE_OR_AZURE.test(i)).length).toBeGreaterThan(10);
  });

  it('has the same content, hence the same asset hash, whatever directory it is built in', async () => {
    const other = join(mkdtempSync(join(tmpdir(), 'credwatch-bundle-elsewhere-')), 'deeper', 'out');
    mkdirSync(other, { recursive: true });
    await bundleFor(join(other, 'index.js'), bundleDefines(['eks']));
    const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(hash(join(other, 'index.js'))).toBe(hash(bundle));
  });

  it('loads in a fresh process and runs one scan against the fakes', async () => {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: cwl.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ENDPOINT_URL_SNS: snsEndpoint,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      [ENV.sources]: JSON.stringify([{ cloud: 'eks', cluster: 'prod-eks-1' }, { cloud: 'aks', workspaceId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590' }]),
      [ENV.stateTable]: TABLE,
      [ENV.topicArn]: TOPIC,
      [ENV.lookbackMinutes]: '6',
    };
    const reply = await new Promise<{ summary?: { sources: Array<Record<string, unknown>> }; error?: string }>((resolve, reject) => {
      const child = fork(join(dir, 'run.cjs'), [bundle], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('message', (m) => {
        resolve(m as { summary?: { sources: Array<Record<string, unknown>> } });
        child.kill();
      });
      child.on('exit', (code) => reject(new Error(`the bundled handler exited (${code}) without answering: ${stderr}`)));
    });
    expect(reply.error).toBeUndefined();
    const [source, aks] = reply.summary!.sources;
    expect(source).toMatchObject({ source: 'eks:prod-eks-1', status: 'ok', events: 1, checkpointAdvanced: true, alertsFailed: 0 });
    // A source of a cloud the deploy did not bundle fails on its own, saying so.
    expect(aks).toMatchObject({ status: 'failed' });
    expect(String(aks!['error'])).toContain('this deployment was bundled without the AKS adapter');

    const rules = sns.published.map((m) => JSON.parse(m.message) as { rule: string; event: { id: string } });
    expect(rules.map((a) => a.rule).sort()).toEqual(['secret-read-by-service-account', 'secret-sweep']);
    expect(rules.map((a) => a.event.id)).toEqual([AUDIT_ID, AUDIT_ID]);
    expect(source!['alertsSent']).toBe(2);

    const filter = cwl.requests.find((r) => r.target.endsWith('FilterLogEvents'));
    expect(filter?.body['logGroupName']).toBe('/aws/eks/prod-eks-1/cluster');
    expect(filter?.body['logStreamNamePrefix']).toBe('kube-apiserver-audit-');
    const checkpoint = await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { [DYNAMO_KEY]: { S: 'checkpoint#eks:prod-eks-1' } } }));
    expect(checkpoint.Item?.['runId']?.S).toBe('req-bundle-1');
  });
});
