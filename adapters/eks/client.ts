import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigError } from '../../core/errors.js';

/**
 * FilterLogEvents allows 5 TPS per account and Region, shared by every caller: the SDK's
 * standard strategy backs off exponentially with jitter (a longer base delay for throttles).
 */
const MAX_ATTEMPTS = 8;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

export interface CloudWatchClientOptions {
  cluster: string;
  /** Falls back to AWS_REGION / AWS_DEFAULT_REGION; required one way or the other. */
  region?: string;
  /** A profile of the shared AWS config files; otherwise the standard credential chain. */
  profile?: string;
  /** CloudWatch Logs endpoint override (tests, VPC endpoints). */
  endpoint?: string;
  /** A ready client (tests inject one with a fast retry strategy). */
  client?: CloudWatchLogsClient;
}

/**
 * The CloudWatch Logs client every EKS source reads with (audit and runtime), after checking the
 * cluster name and that a region is known; `what` is the flag that names the source in messages.
 */
export function cloudWatchLogsFor(opts: CloudWatchClientOptions, what: string): { client: CloudWatchLogsClient; region: string | undefined } {
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
    });
  return { client, region };
}
