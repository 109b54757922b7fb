import { App, Validations } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FLAGS } from 'aws-cdk-lib/cx-api';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DYNAMO_KEY, DYNAMO_TTL_ATTRIBUTE } from '../../core/scan/state/dynamodb-store.js';
import { ENV, SourceSpecSchema } from '../../functions/shared/runtime-config.js';
import { CredwatchStack } from '../../infra/aws/credwatch-stack.js';
import { CONTEXT_KEYS, readStackConfig, StackConfigError } from '../../infra/aws/stack-config.js';

const ACCOUNT = '111122223333';
const REGION = 'us-west-2';

/** Synthesizes the stack with cdk-nag on and bundling skipped (the bundle has its own test). */
function synth(context: Record<string, string>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new CredwatchStack(app, 'Credwatch', { config: readStackConfig((k) => context[k]), env: { account: ACCOUNT, region: REGION } });
  // With the AwsSolutions plugin, synth throws ValidationFailed on any finding left unacknowledged.
  const assembly = app.synth();
  return { stack, template: Template.fromStack(stack), assembly };
}

/** An ARN as the template builds it (Fn::Join of literals and pseudo parameters), as a string. */
function arn(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (v.Ref === 'AWS::AccountId') return ACCOUNT;
  if (v.Ref === 'AWS::Region') return REGION;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (v['Fn::Join'] !== undefined) return v['Fn::Join'][1].map(arn).join(v['Fn::Join'][0]);
  return JSON.stringify(value);
}

function scannerStatements(template: Template): Array<{ Sid?: string; Action: string | string[]; Resource: unknown }> {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ScannerRole') }] },
  });
  const docs = Object.values(policies).map((p) => (p as { Properties: { PolicyDocument: { Statement: [] } } }).Properties.PolicyDocument);
  expect(docs).toHaveLength(1);
  return docs[0]!.Statement;
}

/** The parts of `validation-report.json` (written by synth when a validation plugin ran) read here. */
interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: Array<{ ruleName: string; reason: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

const BASE = { eksClusters: 'prod-eks-1,stage-eks-2@eu-west-1', alertEmail: 'secops@example.com' };

describe('AWS stack', () => {
  const { template } = synth(BASE);

  it('runs every 5 minutes on EventBridge Scheduler with no flexible window and no retries', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Scanner'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 240 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedRuns'), 'Arn'] } },
      },
    });
  });

  it('deploys one arm64 Node.js 22 function with no reserved concurrency (the state lease keeps runs apart)', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1769,
      Timeout: 240,
      ReservedConcurrentExecutions: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 240,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedRuns'), 'Arn'] } } },
    });
  });

  it('sets exactly the environment the handler reads, with sources the handler accepts', () => {
    const vars = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: vars } });
    const env = vars.asObject();
    // No NODE_OPTIONS=--enable-source-maps: it costs every cold start; the bundle ships no map by default.
    expect(Object.keys(env).sort()).toEqual([ENV.lookbackMinutes, ENV.sources, ENV.stateTable, ENV.topicArn].sort());
    const sources = z.array(SourceSpecSchema).parse(JSON.parse(env[ENV.sources]));
    expect(sources).toEqual([
      { cloud: 'eks', cluster: 'prod-eks-1' },
      { cloud: 'eks', cluster: 'stage-eks-2', region: 'eu-west-1' },
    ]);
    expect(env[ENV.lookbackMinutes]).toBe('6');
    expect(env[ENV.stateTable]).toEqual({ Ref: expect.stringMatching(/^State/) });
    expect(env[ENV.topicArn]).toEqual({ Ref: expect.stringMatching(/^Alerts/) });
  });

  it('creates the state table with the key and TTL attribute the DynamoDB store uses', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: DYNAMO_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: DYNAMO_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: DYNAMO_TTL_ATTRIBUTE, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('grants FilterLogEvents on the configured EKS log groups only, and each other action on one resource', () => {
    const statements = scannerStatements(template);
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid);
    const eks = bySid('ReadEksAuditLogs')!;
    expect(eks.Action).toBe('logs:FilterLogEvents');
    expect((eks.Resource as unknown[]).map(arn)).toEqual([
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/eks/prod-eks-1/cluster`,
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/eks/prod-eks-1/cluster:*`,
      `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/eks/stage-eks-2/cluster`,
      `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/eks/stage-eks-2/cluster:*`,
    ]);
    const table = bySid('StateTable')!;
    expect([table.Action].flat().sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(table.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^State/), 'Arn'] });
    expect(bySid('PublishAlerts')).toEqual({ Sid: 'PublishAlerts', Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: expect.stringMatching(/^Alerts/) } });
    const key = bySid('EncryptAlerts')!;
    expect([key.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(key.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AlertsKey/), 'Arn'] });
    expect(bySid('ReadCloudCredentials')).toBeUndefined();
    // No statement anywhere in the scanner's policy reaches a wildcard resource.
    const wildcards = statements.flatMap((s) => [s.Resource].flat().map(arn)).filter((r) => r.includes('*'));
    expect(wildcards).toEqual(eks.Resource instanceof Array ? (eks.Resource as unknown[]).map(arn).filter((r) => r.endsWith('/cluster:*')) : []);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('lets the schedule invoke exactly the function ARN', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Scanner'), 'Arn'] } }]) },
    });
  });

  it('encrypts the alert topic, enforces TLS and subscribes the e-mail address', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'secops@example.com' });
  });

  it('alarms on function errors, missing runs, failed sources, failed alerts and dropped runs, into the alert topic', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    const shapes = Object.values(alarms).map((a) => {
      const p = (a as { Properties: Record<string, unknown> }).Properties;
      return `${p['Namespace']}/${p['MetricName']} ${p['ComparisonOperator']} ${p['Threshold']} x${p['EvaluationPeriods']}`;
    });
    expect(shapes.sort()).toEqual([
      'AWS/Lambda/Errors GreaterThanOrEqualToThreshold 1 x1',
      'AWS/Lambda/Invocations LessThanThreshold 1 x2',
      'AWS/SQS/ApproximateNumberOfMessagesVisible GreaterThanOrEqualToThreshold 1 x1',
      'credwatch/AlertsFailed GreaterThanOrEqualToThreshold 1 x1',
      'credwatch/SourcesFailed GreaterThanOrEqualToThreshold 1 x2',
    ]);
    // Powertools' EMF output carries the default dimension service=<serviceName>.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'credwatch', MetricName: 'SourcesFailed', Statistic: 'Sum', Period: 300,
      Dimensions: [{ Name: 'service', Value: 'credwatch' }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alerts') }],
    });
    for (const a of Object.values(alarms)) {
      expect((a as { Properties: { AlarmActions: unknown } }).Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Alerts/) }]);
    }
  });

  it('keeps the function logs for 90 days in a log group of its own', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^ScannerLogs') } } });
  });
});

describe('AWS stack with other clouds and an existing topic', () => {
  const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:secops-alerts`;
  const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const { template } = synth({
    eksClusters: 'prod-eks-1',
    aksWorkspaces: '0b1f6471-1bf0-4dda-aec3-cb9272f09590/aks-prod',
    gkeProjects: 'acme-prod,acme-stage',
    topicArn: TOPIC,
    topicKmsKeyArn: KEY,
    alertMinSeverity: 'high',
    schedule: 'rate(10 minutes)',
    lookbackMinutes: '12',
  });

  it('scans every cloud, reads one secret it creates, and publishes to the given topic', () => {
    const vars = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: vars } });
    const env = vars.asObject();
    expect(z.array(SourceSpecSchema).parse(JSON.parse(env[ENV.sources]))).toEqual([
      { cloud: 'eks', cluster: 'prod-eks-1' },
      { cloud: 'aks', workspaceId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590', cluster: 'aks-prod' },
      { cloud: 'gke', projects: ['acme-prod', 'acme-stage'] },
    ]);
    expect(env[ENV.topicArn]).toBe(TOPIC);
    expect(env[ENV.alertMinSeverity]).toBe('high');
    expect(env[ENV.lookbackMinutes]).toBe('12');
    expect(env[ENV.credentialsSecretArn]).toEqual({ Ref: expect.stringMatching(/^CloudCredentials/) });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    // Created as a JSON template with one key per configured cloud, not a random string.
    const secret = Object.values(template.findResources('AWS::SecretsManager::Secret'))[0] as { Properties: { SecretString?: string; GenerateSecretString?: unknown } };
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    expect(JSON.parse(secret.Properties.SecretString!)).toEqual({ azure: { tenantId: '', clientId: '', clientSecret: '' }, gcp: { serviceAccountKey: {} } });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(10 minutes)' });
    const statements = scannerStatements(template);
    expect(statements.find((s) => s.Sid === 'ReadCloudCredentials')).toEqual({
      Sid: 'ReadCloudCredentials', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: expect.stringMatching(/^CloudCredentials/) },
    });
    expect(statements.find((s) => s.Sid === 'PublishAlerts')!.Resource).toBe(TOPIC);
    expect(statements.find((s) => s.Sid === 'EncryptAlerts')!.Resource).toBe(KEY);
  });
});

describe('AWS stack cdk-nag', () => {
  it('synthesizes with the AwsSolutions checks, only the listed findings acknowledged, each with a reason', () => {
    const { assembly } = synth({ ...BASE, gkeProjects: 'acme-prod' });
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
    const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions')!;
    expect(nag.conclusion).toBe('success');
    expect(nag.violations).toEqual([]);
    const acknowledged = (nag.suppressedViolations ?? []).map((v) => `${v.ruleName} @ ${v.violatingConstructs.map((c) => c.constructPath).join(',')}`);
    expect(acknowledged.sort()).toEqual([
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:us-west-2:111122223333:log-group:/aws/eks/prod-eks-1/cluster:*] @ Credwatch/ScannerRole/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:eu-west-1:111122223333:log-group:/aws/eks/stage-eks-2/cluster:*] @ Credwatch/ScannerRole/DefaultPolicy/Resource',
      'AwsSolutions-L1 @ Credwatch/Scanner/Resource',
      'AwsSolutions-SMG4 @ Credwatch/CloudCredentials/Resource',
      'AwsSolutions-SQS3 @ Credwatch/FailedRuns/Resource',
    ].sort());
    for (const v of nag.suppressedViolations ?? []) expect(v.reason.length).toBeGreaterThan(80);
  });

  it('fails synthesis when a finding is left unacknowledged', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CredwatchStack(app, 'Credwatch', { config: readStackConfig((k) => ({ ...BASE } as Record<string, string>)[k]) });
    // An extra unencrypted, TLS-optional queue: exactly what the stack avoids.
    new Queue(stack, 'Plain');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});

describe('stack configuration', () => {
  const read = (ctx: Record<string, unknown>) => () => readStackConfig((k) => ctx[k]);
  it('rejects what cannot be deployed, naming the context key', () => {
    expect(read({ alertEmail: 'a@example.com' })).toThrow(new StackConfigError('nothing to scan: set -c eksClusters=<cluster>[@<region>],… (and/or aksWorkspaces, gkeProjects)'));
    expect(read({ eksClusters: 'prod' })).toThrow('no alert destination: set -c alertEmail=<address> and/or -c topicArn=<existing SNS topic ARN>');
    expect(read({ eksClusters: 'prod@mars', alertEmail: 'a@example.com' })).toThrow('eksClusters: "prod@mars": "mars" is not an AWS Region such as us-west-2');
    expect(read({ eksClusters: 'prod', alertEmail: 'a@example.com', schedule: 'every 5 minutes' })).toThrow('schedule: "every 5 minutes" is not a valid EventBridge Scheduler expression: expected rate(…) or cron(…)');
    expect(read({ eksClusters: 'prod', alertEmail: 'a@example.com', lookbackMinutes: '0' })).toThrow('lookbackMinutes: "0" is not a whole number of minutes from 1 to 1440');
    expect(read({ eksClusters: 'prod', alertEmail: 'a@example.com', alertMinSeverity: 'urgent' })).toThrow('alertMinSeverity: "urgent" is not one of info, low, medium, high, critical');
    expect(read({ gkeProjects: 'acme-prod', alertEmail: 'a@example.com', credentialsSecretArn: 'arn:aws:secretsmanager:us-west-2:111122223333:secret:credwatch' }))
      .toThrow('credentialsSecretArn: "arn:aws:secretsmanager:us-west-2:111122223333:secret:credwatch" is not the full ARN of a secret (…:secret:<name>-<6 characters>)');
  });

  it('applies the defaults: every 5 minutes, a 6-minute first lookback', () => {
    expect(readStackConfig((k) => ({ eksClusters: ' prod-eks-1 , ', alertEmail: 'a@example.com' } as Record<string, string>)[k])).toEqual({
      eksClusters: [{ name: 'prod-eks-1' }], aksWorkspaces: [], gkeProjects: [], schedule: 'rate(5 minutes)', schedulePeriodMinutes: 5, lookbackMinutes: 6, alertEmail: 'a@example.com',
    });
  });
});

describe('stack configuration refused at synth, naming the key', () => {
  const base = { eksClusters: 'prod', alertEmail: 'a@example.com' };
  const read = (ctx: Record<string, unknown>, deployment: Parameters<typeof readStackConfig>[1] = {}) => () => readStackConfig((k) => ({ ...base, ...ctx })[k], deployment);
  it.each([
    ['rate(banana)', 'schedule: "rate(banana)" is not a valid EventBridge Scheduler expression: rate(…) takes'],
    ['rate(5 minute)', 'schedule: "rate(5 minute)" is not a valid EventBridge Scheduler expression: write rate(1 minute) for one unit and rate(5 minutes) for more'],
    ['rate(1 minutes)', 'schedule: "rate(1 minutes)"'],
    ['rate(0 minutes)', 'the rate must be at least 1'],
    ['rate(2 minutes)', 'runs every 2 minute(s); at least 5 minutes apart'],
    ['rate(2 days)', 'runs 2880 minutes apart leave credwatch blind too long'],
    ['cron(0/5 * * * *)', 'cron(…) takes six fields'],
    ['cron(0/5 * * * * *)', 'cron(…) needs "?" in exactly one of day-of-month and day-of-week'],
    ['cron(0 9 ? * MON-FRI *)', 'does not run at an even period; set -c schedulePeriodMinutes'],
    ['at(2026-01-01T00:00:00)', 'a one-time at(…) schedule would scan once'],
  ])('schedule %s', (schedule, message) => {
    expect(read({ schedule })).toThrow(message);
  });

  it('derives the alarm period from rate and cron forms', () => {
    const period = (schedule: string, extra: Record<string, string> = {}) => readStackConfig((k) => ({ ...base, schedule, ...extra } as Record<string, string>)[k]).schedulePeriodMinutes;
    expect(period('rate(5 minutes)')).toBe(5);
    expect(period('rate(1 hour)')).toBe(60);
    expect(period('rate(2 hours)')).toBe(120);
    expect(period('cron(0/15 * * * ? *)')).toBe(15);
    expect(period('cron(*/10 * ? * * *)')).toBe(10);
    expect(period('cron(7 * * * ? *)')).toBe(60);
    expect(period('cron(0 0/6 * * ? *)')).toBe(360);
    expect(period('cron(0 9 ? * MON-FRI *)', { schedulePeriodMinutes: '60' })).toBe(60);
  });

  it('refuses unknown rule ids and unknown context keys by name', () => {
    expect(read({ rules: 'secret-sweep,secret-swep' })).toThrow('rules: unknown rule id secret-swep');
    expect(read({}, { contextKeys: ['eksClusters', 'alertEmail', 'eksCluster', '@aws-cdk/core:checkSecretUsage', 'aws:cdk:bundling-stacks', 'cli-telemetry'] }))
      .toThrow(/^unknown context key eksCluster \(did you mean eksClusters\?\)/);
    expect(read({}, { contextKeys: ['lookback', 'topic'] })).toThrow(/unknown context keys lookback.*, topic/);
    expect(read({}, { contextKeys: ['eksClusters', 'alertEmail', 'schedule', 'stackName', 'availability-zones:account=111122223333:region=us-west-2'] })).not.toThrow();
  });

  it('refuses cluster and Region forms that cannot work', () => {
    expect(read({ eksClusters: 'prod@us-west-2@x' })).toThrow('eksClusters: "prod@us-west-2@x" is not <cluster> or <cluster>@<region>');
    expect(read({ eksClusters: '-prod' })).toThrow('eksClusters: "-prod" is not <cluster>');
    expect(read({ eksClusters: 'prod@us-west-2a' })).toThrow('"us-west-2a" is not an AWS Region');
    expect(read({ aksWorkspaces: 'not-a-guid' })).toThrow('aksWorkspaces: "not-a-guid" is not <workspace-id>');
    expect(read({ gkeProjects: 'Acme_Prod' })).toThrow('gkeProjects: "Acme_Prod" is not a Google Cloud project ID');
    expect(read({ eksClusters: '[{"name":"prod","roleArn":"arn:aws:iam::444455556666:user/x"}]' })).toThrow('eksClusters[0].roleArn: "arn:aws:iam::444455556666:user/x" is not an IAM role ARN');
    expect(read({ eksClusters: '[{"name":"prod","account":"1"}]' })).toThrow('eksClusters[0]: (entry): Unrecognized key');
    expect(read({ eksClusters: '[{"name":"prod"' })).toThrow('eksClusters: not valid JSON');
  });

  it('refuses a topic in another Region than the stack', () => {
    expect(read({ topicArn: 'arn:aws:sns:eu-west-1:111122223333:alerts' }, { region: 'us-west-2' })).toThrow('topicArn: "arn:aws:sns:eu-west-1:111122223333:alerts" is in eu-west-1, the stack deploys to us-west-2');
    expect(read({ topicArn: 'arn:aws:sns:us-west-2:111122223333:alerts' }, { region: 'us-west-2' })).not.toThrow();
  });

  it('validates the config file against the rules, and its room in the Lambda environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-cfg-'));
    const file = (name: string, body: string) => {
      writeFileSync(join(dir, name), body);
      return join(dir, name);
    };
    expect(read({ configFile: join(dir, 'missing.json') })).toThrow(/^configFile: cannot read .*missing\.json as JSON/);
    expect(read({ configFile: file('bad.json', '{') })).toThrow(/^configFile: cannot read .*bad\.json as JSON/);
    expect(read({ configFile: file('rule.json', '{"rules":{"no-such-rule":{}}}') })).toThrow(/no-such-rule/);
    expect(read({ configFile: file('opt.json', '{"rules":{"secret-sweep":{"threshold":1}}}') })).toThrow(/rules\.secret-sweep: threshold:/);
    expect(read({ configFile: file('big.json', JSON.stringify({ identities: { controlPlaneUsers: Array.from({ length: 300 }, (_, i) => `system:serviceaccount:kube-system:controller-${i}`) } })) }))
      .toThrow(/of the Lambda's 4 KB environment/);
    const good = file('good.json', '{ "rules": { "secret-sweep": { "threshold": 20 } } }');
    expect(readStackConfig((k) => ({ ...base, configFile: good } as Record<string, string>)[k]).detectionConfig).toBe('{"rules":{"secret-sweep":{"threshold":20}}}');
  });
});

describe('AWS stack options', () => {
  it('deploys the config file as CREDWATCH_CONFIG and reserves concurrency only when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-cfg-'));
    writeFileSync(join(dir, 'c.json'), '{"rules":{"secret-sweep":{"threshold":20}}}');
    const { template } = synth({ ...BASE, configFile: join(dir, 'c.json'), reservedConcurrency: '1', rules: 'secret-sweep' });
    const vars = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: vars }, ReservedConcurrentExecutions: 1 });
    expect(vars.asObject()[ENV.config]).toBe('{"rules":{"secret-sweep":{"threshold":20}}}');
    expect(vars.asObject()[ENV.rules]).toBe('secret-sweep');
  });

  it('an EKS-only stack has no secret, no secret permission and no secret variable', () => {
    const { template } = synth(BASE);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(scannerStatements(template).flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    const vars = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: vars } });
    expect(vars.asObject()[ENV.credentialsSecretArn]).toBeUndefined();
  });

  it('assumes the role named for a cross-account cluster, and only that role', () => {
    const ROLE = 'arn:aws:iam::444455556666:role/credwatch-read-eks-logs';
    const { template } = synth({ eksClusters: JSON.stringify([{ name: 'member-eks', region: 'eu-west-1', roleArn: ROLE }, 'prod-eks-1']), alertEmail: 'a@example.com' });
    const statements = scannerStatements(template);
    expect(statements.find((s) => s.Sid === 'AssumeClusterAccountRoles')).toEqual({ Sid: 'AssumeClusterAccountRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE });
    const vars = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: vars } });
    expect(z.array(SourceSpecSchema).parse(JSON.parse(vars.asObject()[ENV.sources]))).toEqual([
      { cloud: 'eks', cluster: 'member-eks', region: 'eu-west-1', roleArn: ROLE },
      { cloud: 'eks', cluster: 'prod-eks-1' },
    ]);
  });
});

describe('cdk.json', () => {
  const cdk = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  it('sets only feature flags this aws-cdk-lib knows', () => {
    const flags = Object.keys(cdk.context).filter((k) => k.startsWith('@aws-cdk'));
    for (const flag of flags) expect(Object.keys(FLAGS), flag).toContain(flag);
  });
  it('turns CDK CLI telemetry off (the cli-telemetry context value the CLI reads)', () => {
    expect(cdk.context['cli-telemetry']).toBe(false);
  });
});

describe('docs/deploy.md', () => {
  it('documents every context key the app accepts, and no other', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'deploy.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect([...new Set(rows)].sort()).toEqual([...CONTEXT_KEYS].sort());
  });
});
