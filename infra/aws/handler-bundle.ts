import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleDefines, type BundleCloud } from '../../functions/shared/bundled-clouds.js';

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
 * - No source map by default: a map as large as the bundle, loaded through
 *   --enable-source-maps, costs every cold start; `-c sourceMaps=true` turns both on. Without it
 *   the output also no longer depends on the build directory, so the asset hash is stable.
 * - Per deploy: `bundleDefines` leaves out the adapters (and SDKs) of clouds the deploy does not
 *   scan (functions/shared/bundled-clouds.ts).
 */
export const HANDLER_BUNDLE = Object.freeze({
  format: 'cjs' as const,
  target: 'node22',
  platform: 'node' as const,
  externals: Object.freeze([] as string[]),
  // Prefer ESM entry points so esbuild can drop unused exports; it still emits CommonJS.
  mainFields: Object.freeze(['module', 'main']),
  minify: true,
  sourcemap: false,
});

/**
 * HANDLER_BUNDLE as esbuild's own build options, for the builds that stand in for NodejsFunction's
 * (the bundle test, the bundle bench), so they bundle exactly as the stack does.
 */
export function handlerEsbuildOptions() {
  return {
    bundle: true,
    platform: HANDLER_BUNDLE.platform,
    format: HANDLER_BUNDLE.format,
    target: HANDLER_BUNDLE.target,
    external: [...HANDLER_BUNDLE.externals],
    mainFields: [...HANDLER_BUNDLE.mainFields],
    minify: HANDLER_BUNDLE.minify,
    sourcemap: HANDLER_BUNDLE.sourcemap,
  };
}

/** The clouds a set of sources reads, for `bundleDefines`. */
export function bundleCloudsOf(sources: ReadonlyArray<{ cloud: string }>): BundleCloud[] {
  const clouds = new Set(sources.map((s) => s.cloud.replace(/-runtime$/, '') as BundleCloud));
  return (['eks', 'aks', 'gke'] as const).filter((c) => clouds.has(c));
}

/** The esbuild `define` of a deploy that scans `sources`. */
export function handlerDefines(sources: ReadonlyArray<{ cloud: string }>): Record<string, string> {
  return bundleDefines(bundleCloudsOf(sources));
}
