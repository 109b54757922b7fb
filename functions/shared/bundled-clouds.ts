import { ConfigError } from '../../core/model/errors.js';

/**
 * Which clouds' adapters (and SDKs) a deploy bundles. The functions' bundlers replace
 * `process.env['CREDWATCH_OMIT_<CLOUD>']` with the string "true" for every cloud the deploy does
 * not scan; esbuild then folds the guard in functions/shared/scheduled-run.ts and drops that
 * cloud's dynamic import with everything behind it. Unbundled (tests, the CLI) nothing is
 * replaced and every cloud loads on demand.
 */
export const BUNDLE_CLOUDS = Object.freeze(['eks', 'aks', 'gke'] as const);
export type BundleCloud = (typeof BUNDLE_CLOUDS)[number];

export const omitVariable = (cloud: BundleCloud) => `CREDWATCH_OMIT_${cloud.toUpperCase()}`;

/** esbuild `define` entries that leave out every cloud not in `clouds`. */
export function bundleDefines(clouds: readonly BundleCloud[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const cloud of BUNDLE_CLOUDS) if (!clouds.includes(cloud)) out[`process.env.${omitVariable(cloud)}`] = JSON.stringify('true');
  return out;
}

/** The error of a source whose cloud this deploy did not bundle. */
export function notBundled(cloud: BundleCloud, source: string): ConfigError {
  return new ConfigError('cloud-not-bundled', `${source}: this deployment was bundled without the ${cloud.toUpperCase()} adapter; redeploy with a ${cloud.toUpperCase()} source configured so the bundle includes it.`);
}
