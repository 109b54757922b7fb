import { ArnFormat, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { ScheduleTargetBase } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DYNAMO_KEY, DYNAMO_TTL_ATTRIBUTE } from '../../core/scan/state/dynamodb-store.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import { addAlarms } from './alarms.js';
import { HANDLER_BUNDLE, HANDLER_ENTRY, HANDLER_EXPORT, handlerDefines, LOCK_FILE, REPO_ROOT } from './handler-bundle.js';
import { acknowledgeNagFindings } from './nag-acknowledgments.js';
import { credentialsTemplate, credentialsTemplateKeys } from '../../functions/aws/cloud-credentials.js';
import { sourceSpecs, type CredwatchConfig } from './stack-config.js';

/**
 * Sizing, from the bench (`npm run bench`, module eks-window: a 6-minute window of a 1,000
 * events/s cluster): the push-down filter downloads 1.6 % of a window's events, 9.4 % in steady
 * state, where each run also re-reads its 30-minute late-arrival margin; the single-threaded
 * pipeline gets through about 14,000 window events per second. For a cluster of 100 audit
 * events/s a 5-minute run therefore downloads about 0.094 x 30,000 = 2,800 events: seconds, bound
 * by FilterLogEvents paging rather than CPU (docs/deploy.md, cost section). 1,769 MB is the size
 * at which Lambda gives one full vCPU, which the catch-up after an outage (hours of events in one
 * run) uses; more memory adds vCPUs this single thread cannot use. Peak RSS stays near 200-320 MB
 * because pages are processed as they arrive.
 */
export const SCANNER_MEMORY_MB = 1769;
/**
 * A run must end before the next one is due (5 minutes at the shortest schedule synth accepts);
 * an overlapping run finds the state lease taken and stops. FilterLogEvents allows 5 requests/s
 * per account and Region, so a busy cluster's run is bounded by paging, not CPU: 4 minutes is
 * 1,200 requests. A run that times out keeps its checkpoint and the next one resumes from it.
 */
export const SCANNER_TIMEOUT = Duration.minutes(4);
/** An invocation older than one schedule period is superseded by the next run's checkpoint. */
export const ASYNC_MAX_EVENT_AGE = Duration.minutes(4);

export interface CredwatchStackProps extends StackProps {
  config: CredwatchConfig;
}

/** Invokes the function with a role that may invoke exactly that function ARN (no `:*` alias form). */
class InvokeScanner extends ScheduleTargetBase {
  constructor(private readonly functionArn: string, props: ConstructorParameters<typeof ScheduleTargetBase>[0]) {
    super(props, functionArn);
  }
  protected addTargetActionToRole(role: IRole): void {
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.functionArn] }));
  }
}

export class CredwatchStack extends Stack {
  readonly scanner: NodejsFunction;
  readonly table: Table;
  readonly topic: ITopic;

  constructor(scope: Construct, id: string, props: CredwatchStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.table = new Table(this, 'State', {
      partitionKey: { name: DYNAMO_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: DYNAMO_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Checkpoints and dedup claims only: a new stack starts over with one lookback window.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    let ownKey: Key | undefined;
    if (config.topicArn === undefined) {
      ownKey = new Key(this, 'AlertsKey', {
        description: 'credwatch: encrypts the alert topic',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      // CloudWatch alarms publish to the topic as a service, so they need the key too.
      ownKey.addToResourcePolicy(new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }));
      const topic = new Topic(this, 'Alerts', { displayName: 'credwatch alerts', masterKey: ownKey, enforceSSL: true });
      topic.addToResourcePolicy(new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }));
      this.topic = topic;
    } else {
      this.topic = Topic.fromTopicArn(this, 'Alerts', config.topicArn);
    }
    if (config.alertEmail !== undefined) this.topic.addSubscription(new EmailSubscription(config.alertEmail));

    const failed = new Queue(this, 'FailedRuns', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const logGroup = new LogGroup(this, 'ScannerLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new Role(this, 'ScannerRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'credwatch scanner: read the configured audit logs, keep state, publish alerts',
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every group): this function's group only.
    role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const eksArns = config.eksClusters.map((c) => eksLogGroupArns(this, c.name, c.region));
    if (eksArns.length > 0) {
      role.addToPolicy(new PolicyStatement({ sid: 'ReadEksAuditLogs', actions: ['logs:FilterLogEvents'], resources: eksArns.flat() }));
    }
    // Runtime sensor output (Tracee/Falco via Container Insights' Fluent Bit) of the clusters named in eksRuntimeClusters.
    const runtimeArns = config.eksClusters.filter((c) => c.runtime === true).map((c) => logGroupArns(this, `/aws/containerinsights/${c.name}/application`, c.region));
    if (runtimeArns.length > 0) {
      role.addToPolicy(new PolicyStatement({ sid: 'ReadEksRuntimeLogs', actions: ['logs:FilterLogEvents'], resources: runtimeArns.flat() }));
    }
    // Cross-account clusters: the scanner assumes the role named for each; that role (in the
    // cluster's account) trusts this one and may FilterLogEvents on the cluster's log group.
    const assumed = [...new Set(config.eksClusters.flatMap((c) => (c.roleArn === undefined ? [] : [c.roleArn])))];
    if (assumed.length > 0) {
      role.addToPolicy(new PolicyStatement({ sid: 'AssumeClusterAccountRoles', actions: ['sts:AssumeRole'], resources: assumed }));
    }
    role.addToPolicy(new PolicyStatement({
      sid: 'StateTable',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [this.table.tableArn],
    }));
    role.addToPolicy(new PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    const keyArn = ownKey?.keyArn ?? config.topicKmsKeyArn;
    if (keyArn !== undefined) {
      // What SNS needs from a publisher to an encrypted topic.
      role.addToPolicy(new PolicyStatement({ sid: 'EncryptAlerts', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [keyArn] }));
    }

    const environment: Record<string, string> = {
      [ENV.sources]: JSON.stringify(sourceSpecs(config)),
      [ENV.stateTable]: this.table.tableName,
      [ENV.topicArn]: this.topic.topicArn,
      [ENV.lookbackMinutes]: String(config.lookbackMinutes),
    };
    if (config.detectionConfig !== undefined) environment[ENV.config] = config.detectionConfig;
    if (config.sourceMaps === true) environment['NODE_OPTIONS'] = '--enable-source-maps';
    if (config.alertMinSeverity !== undefined) environment[ENV.alertMinSeverity] = config.alertMinSeverity;
    if (config.rules !== undefined) environment[ENV.rules] = config.rules.join(',');
    let cloudCredentials: Secret | undefined;
    if (config.aksWorkspaces.length + config.gkeProjects.length > 0) {
      let secretArn = config.credentialsSecretArn;
      if (secretArn === undefined) {
        // A JSON template with a key per configured cloud: the handler reads only the key a source
        // needs, and names the key that is still empty.
        cloudCredentials = new Secret(this, 'CloudCredentials', {
          description: `credwatch: fill in ${credentialsTemplateKeys(config).join(' and ')} (docs/deploy.md)`,
          secretStringValue: SecretValue.unsafePlainText(JSON.stringify(credentialsTemplate({ azure: config.aksWorkspaces.length > 0, gcp: config.gkeProjects.length > 0 }))),
          removalPolicy: RemovalPolicy.DESTROY,
        });
        secretArn = cloudCredentials.secretArn;
      }
      environment[ENV.credentialsSecretArn] = secretArn;
      role.addToPolicy(new PolicyStatement({ sid: 'ReadCloudCredentials', actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }));
      new CfnOutput(this, 'CredentialsSecretArn', { value: secretArn, description: 'Put the Azure/GCP credentials JSON here (docs/deploy.md)' });
    }

    this.scanner = new NodejsFunction(this, 'Scanner', {
      description: 'credwatch: scans Kubernetes audit logs for credential abuse',
      entry: HANDLER_ENTRY,
      handler: HANDLER_EXPORT,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: SCANNER_MEMORY_MB,
      timeout: SCANNER_TIMEOUT,
      // Unreserved by default: new accounts have a concurrency limit of 10 and no room to reserve
      // from; the state lease already keeps two runs from scanning the same source at once.
      ...(config.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.reservedConcurrency }),
      retryAttempts: 0,
      maxEventAge: ASYNC_MAX_EVENT_AGE,
      onFailure: new SqsDestination(failed),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment,
      bundling: {
        format: HANDLER_BUNDLE.format === 'cjs' ? OutputFormat.CJS : OutputFormat.ESM,
        target: HANDLER_BUNDLE.target,
        externalModules: [...HANDLER_BUNDLE.externals],
        mainFields: [...HANDLER_BUNDLE.mainFields],
        minify: HANDLER_BUNDLE.minify,
        sourceMap: config.sourceMaps ?? HANDLER_BUNDLE.sourcemap,
        define: handlerDefines(sourceSpecs(config)),
        sourcesContent: false,
        forceDockerBundling: false,
      },
    });

    new Schedule(this, 'ScanSchedule', {
      description: 'credwatch: one scan per period',
      schedule: ScheduleExpression.expression(config.schedule),
      timeWindow: TimeWindow.off(),
      target: new InvokeScanner(this.scanner.functionArn, {
        // A missed tick is covered by the next run's checkpoint: no point retrying a stale one.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(4),
        deadLetterQueue: failed,
      }),
    });

    addAlarms(this, { scanner: this.scanner, failedRuns: failed, topic: this.topic, periodMinutes: config.schedulePeriodMinutes });
    acknowledgeNagFindings(this, {
      scanner: this.scanner,
      failedRuns: failed,
      ...(cloudCredentials === undefined ? {} : { cloudCredentials }),
      scannerPolicy: role.node.findChild('DefaultPolicy'),
      eksStreamArns: eksArns.map(([, streams]) => streams),
      runtimeStreamArns: runtimeArns.map(([, streams]) => streams),
    });

    new CfnOutput(this, 'StateTableName', { value: this.table.tableName });
    new CfnOutput(this, 'AlertTopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'ScannerFunctionName', { value: this.scanner.functionName });
    new CfnOutput(this, 'ScannerRoleArn', { value: role.roleArn, description: 'Trust this role in member accounts whose EKS clusters are scanned cross-account (docs/deploy.md)' });
    new CfnOutput(this, 'FailedRunsQueueUrl', { value: failed.queueUrl });
  }
}

/**
 * FilterLogEvents is authorized against the log-group resource; AWS documents both the bare ARN
 * and the `:*` form (the log group's `Arn` attribute ends in `:*` and is the one "most API
 * actions" match). Both name exactly this one group.
 */
export function eksLogGroupArns(stack: Stack, cluster: string, region: string | undefined): [string, string] {
  return logGroupArns(stack, `/aws/eks/${cluster}/cluster`, region);
}

/** Both ARN forms of one log group (see `eksLogGroupArns`). */
export function logGroupArns(stack: Stack, logGroup: string, region: string | undefined): [string, string] {
  const arn = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: logGroup,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    ...(region === undefined ? {} : { region }),
  });
  return [arn, `${arn}:*`];
}
