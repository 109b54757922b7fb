import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigError, describeError } from '../../core/model/errors.js';

/**
 * FilterLogEvents allows 5 TPS per account and Region, shared by every caller: the SDK's
 * standard strategy backs off exponentially with jitter (a longer base delay for throttles).
 */
const MAX_ATTEMPTS = 8;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

export interface EksClientOptions {
  cluster: string;
  /** Falls back to AWS_REGION / AWS_DEFAULT_REGION; required one way or the other. */
  region?: string;
  /** A profile of the shared AWS config files; otherwise the standard credential chain. */
  profile?: string;
  /** CloudWatch Logs endpoint override (tests, VPC endpoints). */
  endpoint?: string;
  /** A ready client (tests inject one with a fast retry strategy). */
  client?: CloudWatchLogsClient;
  /**
   * A role in the cluster's account to read its logs with (an organisation's member account):
   * assumed with the standard credentials, refreshed by the SDK before the session expires.
   */
  roleArn?: string;
  /** STS endpoint override (tests, VPC endpoints); the regional endpoint otherwise. */
  stsEndpoint?: string;
  /** A ready STS client (tests). */
  stsClient?: STSClient;
}

/** One hour: a run lasts minutes; the SDK refreshes the session before it expires. */
const SESSION_SECONDS = 3600;

/** RoleSessionName allows 2-64 of [\w+=,.@-]; it names the scan in the member account's CloudTrail. */
export function sessionNameFor(cluster: string): string {
  return `credwatch-${cluster}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** A credential provider that assumes `roleArn`; failures name the role and what to check. */
export function assumeRoleCredentials(sts: STSClient, roleArn: string, sessionName: string): AwsCredentialIdentityProvider {
  return async (): Promise<AwsCredentialIdentity> => {
    let out;
    try {
      out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: SESSION_SECONDS }));
    } catch (err) {
      throw new ConfigError('eks-assume-role', `cannot assume ${roleArn} (${(err as { name?: string }).name ?? 'Error'}: ${describeError(err)}): the role must trust the scanner's role (sts:AssumeRole) and allow logs:FilterLogEvents on the cluster's log group (docs/deploy.md).`, { cause: err });
    }
    const c = out.Credentials;
    if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) throw new ConfigError('eks-assume-role', `STS answered AssumeRole for ${roleArn} without credentials.`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken === undefined ? {} : { sessionToken: c.SessionToken }), ...(c.Expiration === undefined ? {} : { expiration: c.Expiration }) };
  };
}

/**
 * The CloudWatch Logs client every EKS source reads with (audit and runtime), after checking the
 * cluster name and that a region is known; `what` is the flag that names the source in messages.
 */
export function createClient(opts: EksClientOptions, what: string): { client: CloudWatchLogsClient; region: string | undefined } {
  if (!CLUSTER_NAME.test(opts.cluster)) {
    throw new ConfigError('eks-cluster-name', `${what}: "${opts.cluster}" is not an EKS cluster name (1-100 letters, digits, - and _)`);
  }
  const region = [opts.region, process.env['AWS_REGION'], process.env['AWS_DEFAULT_REGION']].find((r) => r !== undefined && r !== '');
  if (region === undefined && opts.client === undefined) {
    throw new ConfigError('eks-region', `--region is required for ${what} ${opts.cluster} (or set AWS_REGION)`);
  }
  const client =
    opts.client ??
    new CloudWatchLogsClient({
      region,
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
      ...(opts.profile === undefined ? {} : { profile: opts.profile }),
      ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
      ...(opts.roleArn === undefined
        ? {}
        : {
            credentials: assumeRoleCredentials(
              opts.stsClient ?? new STSClient({ region, maxAttempts: 3, ...(opts.profile === undefined ? {} : { profile: opts.profile }), ...(opts.stsEndpoint === undefined ? {} : { endpoint: opts.stsEndpoint }) }),
              opts.roleArn,
              sessionNameFor(opts.cluster),
            ),
          }),
    });
  return { client, region };
}
