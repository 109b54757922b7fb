import { SourceError } from '../../core/model/errors.js';
import type { ScanWindow } from '../../core/model/source.js';

/** How far a window's read got, for the message of a failure part-way. */
export interface ReadProgress {
  requests: number;
  pages: number;
  downloaded: number;
  kept: number;
  /** Latest event timestamp (ms) downloaded so far. */
  lastEventTime?: number;
}

export interface FailureContext {
  source: string;
  cluster: string;
  region: string;
  logGroup: string;
  window: ScanWindow;
  progress: ReadProgress;
}

/** The AWS partition of a Region, for ARNs in messages. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

/** The command that turns on the audit log type (EKS user guide, control-plane logs). */
export function enableAuditCommand(cluster: string, region: string): string {
  return `aws eks update-cluster-config --name ${cluster} --region ${region} --logging '{"clusterLogging":[{"types":["audit"],"enabled":true}]}'`;
}

/** The IAM resource FilterLogEvents is authorized on; the account comes from AWS's message when it names one. */
export function logGroupArn(region: string, logGroup: string, awsMessage = ''): string {
  const account = /arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(awsMessage)?.[1] ?? /:logs:[^:]*:(\d{12}):/.exec(awsMessage)?.[1] ?? '<account-id>';
  return `arn:${partitionOf(region)}:logs:${region}:${account}:log-group:${logGroup}:*`;
}

function progressText(ctx: FailureContext): string {
  const p = ctx.progress;
  const last = p.lastEventTime === undefined ? 'no event read yet' : `last event time ${new Date(p.lastEventTime).toISOString()}`;
  return `after ${p.requests} request(s), ${p.pages} page(s), ${p.downloaded} event(s) downloaded (${last})`;
}

const windowText = (w: ScanWindow): string => `[${w.from.toISOString()}, ${w.to.toISOString()})`;

/**
 * A FilterLogEvents failure as a SourceError that says what is wrong, what to do, and how far the
 * window got. Only transient failures are `retryable`; all leave the window unread.
 */
export function describeFailure(err: unknown, ctx: FailureContext): SourceError {
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const where = `${ctx.source}: ingestion window ${windowText(ctx.window)} not read ${progressText(ctx)}; the window is left for the next scan`;
  switch (name) {
    case 'ResourceNotFoundException':
      return new SourceError(
        'eks-no-audit-log-group',
        `${ctx.source}: log group ${ctx.logGroup} does not exist in ${ctx.region}: cluster ${ctx.cluster} sends no control-plane logs to CloudWatch (or the cluster name or Region is wrong). ` +
          `Enable audit logs with: ${enableAuditCommand(ctx.cluster, ctx.region)}`,
        { cause: err },
      );
    case 'AccessDeniedException':
    case 'UnauthorizedOperation':
    case 'AccessDenied':
      return new SourceError(
        'eks-access-denied',
        `${ctx.source}: access denied: the credentials need logs:FilterLogEvents on ${logGroupArn(ctx.region, ctx.logGroup, message)} (${message})`,
        { cause: err },
      );
    case 'ThrottlingException':
      return new SourceError(
        'eks-throttled',
        `${where}: FilterLogEvents is still throttled after the SDK's retries (5 requests/s per account and Region, shared by every caller); stagger scans of clusters in the same Region`,
        { cause: err, retryable: true },
      );
    case 'InvalidParameterException':
      return new SourceError('eks-invalid-request', `${where}: CloudWatch Logs rejected the request: ${message}`, { cause: err });
    default:
      if (err instanceof SourceError) return new SourceError(err.code, `${where}: ${message}`, { cause: err, retryable: false });
      return new SourceError('eks-read-failed', `${where}: ${name}: ${message}`, { cause: err, retryable: true });
  }
}
