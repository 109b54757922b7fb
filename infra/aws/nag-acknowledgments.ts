import { Token, Validations, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** cdk-nag 3 reports a finding as `<pack>::<rule>[<finding>]` and matches acknowledgments exactly. */
const nagId = (rule: string, finding?: string): string => `AwsSolutions::AwsSolutions-${rule}${finding === undefined ? '' : `[${finding}]`}`;

/** How cdk-nag prints a resolved ARN: literals as they are, pseudo parameters as `<AWS::Name>`. */
export function nagRendering(stack: Stack, value: string): string {
  if (!Token.isUnresolved(value)) return value;
  const resolved: unknown = stack.resolve(value);
  const part = (p: unknown): string => {
    if (typeof p === 'string') return p;
    const ref = (p as { Ref?: unknown }).Ref;
    if (typeof ref === 'string') return `<${ref}>`;
    const join = (p as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join !== undefined) return join[1].map(part).join(join[0]);
    throw new Error(`cannot render ${JSON.stringify(p)} the way cdk-nag does`);
  };
  return part(resolved);
}

export interface NagTargets {
  scanner: IConstruct;
  failedRuns: IConstruct;
  /** The secret the stack creates for Azure/GCP credentials, when it creates one. */
  cloudCredentials?: IConstruct;
  scannerPolicy: IConstruct;
  /** The `…:log-group:/aws/eks/<cluster>/cluster:*` ARNs granted to the scanner. */
  eksStreamArns: string[];
  /** The `…:log-group:/aws/containerinsights/<cluster>/application:*` ARNs (runtime sensor output). */
  runtimeStreamArns?: string[];
}

/**
 * Every AwsSolutions finding this stack keeps on purpose, on the one construct it concerns, with
 * the reason it is acceptable. Everything else is fixed in the stack itself (no managed
 * policies, no `*` resources, encrypted topic and queue, SSL enforced, PITR on).
 */
export function acknowledgeNagFindings(stack: Stack, t: NagTargets): void {
  Validations.of(t.scanner).acknowledge({
    id: nagId('L1'),
    reason: 'The bundle targets Node.js 22 (esbuild target node22), the newest runtime the project supports (package engines: Node 20.19+ and 22); nodejs24.x is adopted once the project supports Node 24.',
  });
  Validations.of(t.failedRuns).acknowledge({
    id: nagId('SQS3'),
    reason: 'FailedRuns is itself the dead-letter destination of the scanner (Lambda on-failure destination) and of the schedule; cdk-nag only recognises queues named in another queue\'s RedrivePolicy.',
  });
  if (t.cloudCredentials !== undefined) {
    Validations.of(t.cloudCredentials).acknowledge({
      id: nagId('SMG4'),
      reason: 'The secret holds an Azure client secret and a GCP service-account key issued by those clouds; rotating them needs admin rights there, so they are rotated in Azure/GCP and written here with put-secret-value (docs/deploy.md).',
    });
  }
  for (const arn of t.eksStreamArns) {
    Validations.of(t.scannerPolicy).acknowledge({
      id: nagId('IAM5', `Resource::${nagRendering(stack, arn)}`),
      reason: 'The trailing :* is the log-group ARN form CloudWatch Logs documents for IAM (the LogGroup Arn attribute ends in it); it matches this one EKS log group and nothing else, and the only action on it is logs:FilterLogEvents.',
    });
  }
  for (const arn of t.runtimeStreamArns ?? []) {
    Validations.of(t.scannerPolicy).acknowledge({
      id: nagId('IAM5', `Resource::${nagRendering(stack, arn)}`),
      reason: 'The trailing :* is the log-group ARN form CloudWatch Logs documents for IAM; it matches this one Container Insights application log group (where Fluent Bit ships the runtime sensor output) and nothing else, and the only action on it is logs:FilterLogEvents.',
    });
  }
}
