import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file so `cdk synth` works from any working directory. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HANDLER_ENTRY = join(REPO_ROOT, 'functions', 'aws', 'handler.ts');
export const HANDLER_EXPORT = 'handler';
export const LOCK_FILE = join(REPO_ROOT, 'package-lock.json');

/**
 * How the handler is bundled, shared by the stack and test/infra/aws-bundle.test.ts so the test
 * runs the very file that is deployed.
 *
 * - CommonJS: several Google and gRPC dependencies read `__dirname`, which an ESM bundle lacks.
 * - No externals: the AWS SDK in the Lambda runtime is whatever version AWS ships that month;
 *   bundling the locked one makes the deployed code the tested code (cost: a bigger zip and a
 *   slightly slower cold start, once per container).
 * - node22: the Lambda runtime (nodejs20.x is deprecated: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
 */
export const HANDLER_BUNDLE = Object.freeze({
  format: 'cjs' as const,
  target: 'node22',
  platform: 'node' as const,
  externals: Object.freeze([] as string[]),
  // Prefer ESM entry points so esbuild can drop unused exports; it still emits CommonJS.
  mainFields: Object.freeze(['module', 'main']),
  minify: true,
  sourcemap: true,
});
