import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CredwatchStack } from './credwatch-stack.js';
import { readStackConfig, StackConfigError } from './stack-config.js';

/**
 * `npx cdk synth|deploy -c eksClusters=prod-eks-1,stage-eks-2@eu-west-1 -c alertEmail=secops@example.com`
 * (docs/deploy.md lists every context key). cdk-nag's AwsSolutions pack runs on every synth and
 * stops it on any finding that is neither fixed nor acknowledged with a reason.
 */
const app = new App();
let config;
try {
  config = readStackConfig((key) => app.node.tryGetContext(key), {
    region: process.env['CDK_DEFAULT_REGION'],
    contextKeys: Object.keys(app.node.getAllContext() as Record<string, unknown>),
  });
} catch (err) {
  if (!(err instanceof StackConfigError)) throw err;
  console.error(`credwatch: ${err.message} (docs/deploy.md)`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new CredwatchStack(app, String(app.node.tryGetContext('stackName') ?? 'Credwatch'), {
  config,
  description: 'credwatch: scheduled scans of Kubernetes audit logs for credential abuse',
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
app.synth();
