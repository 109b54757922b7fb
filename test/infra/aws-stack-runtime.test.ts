import { App, Validations } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ENV, SourceSpecSchema } from '../../functions/shared/runtime-config.js';
import { CredwatchStack } from '../../infra/aws/credwatch-stack.js';
import { readStackConfig, StackConfigError } from '../../infra/aws/stack-config.js';

const ACCOUNT = '111122223333';
const REGION = 'us-west-2';
const CONTEXT = { eksClusters: 'prod-eks-1,stage-eks-2@eu-west-1', eksRuntimeClusters: 'stage-eks-2', alertEmail: 'secops@example.com' };

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

describe('AWS stack with EKS runtime sensor sources', () => {
  // Synthesized with cdk-nag on: an unacknowledged finding would throw here.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new CredwatchStack(app, 'Credwatch', { config: readStackConfig((k) => (CONTEXT as Record<string, string>)[k]), env: { account: ACCOUNT, region: REGION } });
  const assembly = app.synth();
  const template = Template.fromStack(stack);

  it('adds an eks-runtime source for each cluster of eksRuntimeClusters', () => {
    const vars = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: vars } });
    expect(z.array(SourceSpecSchema).parse(JSON.parse(vars.asObject()[ENV.sources]))).toEqual([
      { cloud: 'eks', cluster: 'prod-eks-1' },
      { cloud: 'eks', cluster: 'stage-eks-2', region: 'eu-west-1' },
      { cloud: 'eks-runtime', cluster: 'stage-eks-2', region: 'eu-west-1' },
    ]);
  });

  it('grants FilterLogEvents on that cluster\'s Container Insights application group only, acknowledged for cdk-nag', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ScannerRole') }] } });
    const statements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Sid?: string; Action: unknown; Resource: unknown[] }> } } }).Properties.PolicyDocument.Statement);
    const runtime = statements.find((s) => s.Sid === 'ReadEksRuntimeLogs')!;
    expect(runtime.Action).toBe('logs:FilterLogEvents');
    expect(runtime.Resource.map(arn)).toEqual([
      `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/containerinsights/stage-eks-2/application`,
      `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/containerinsights/stage-eks-2/application:*`,
    ]);
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ pluginName: string; violations: unknown[]; suppressedViolations?: Array<{ ruleName: string }> }>;
    };
    const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions')!;
    expect(nag.violations).toEqual([]);
    expect((nag.suppressedViolations ?? []).map((v) => v.ruleName).filter((r) => r.includes('containerinsights'))).toEqual([
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:eu-west-1:111122223333:log-group:/aws/containerinsights/stage-eks-2/application:*]',
    ]);
  });

  it('rejects a runtime cluster that is not scanned for audit logs, naming the key', () => {
    expect(() => readStackConfig((k) => ({ ...CONTEXT, eksRuntimeClusters: 'dev-eks' } as Record<string, string>)[k])).toThrow(
      new StackConfigError('eksRuntimeClusters: "dev-eks" is not one of eksClusters (its audit log names the user behind each runtime read)'),
    );
  });
});
