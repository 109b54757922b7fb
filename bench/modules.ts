import type { AnyRule } from '../core/model/rule.js';

/**
 * Extra bench sections, run after the file pipeline in the same `npm run bench`: each live source
 * reports the share of a realistic window its push-down filter downloads and its end-to-end rate.
 * Add a module here to have its figures printed and written to bench/out/results.json.
 */

export type BenchFigures = Record<string, unknown>;

export interface BenchModule {
  name: string;
  /** A one-line description for the report. */
  title: string;
  run(rules: readonly AnyRule[]): Promise<BenchFigures>;
}

export const BENCH_MODULES: readonly BenchModule[] = [
  {
    name: 'eks-window',
    title: 'EKS: 6-minute window of a 1,000 events/s cluster through the CloudWatch Logs fake',
    run: async (rules) => ({ ...(await (await import('./eks-window.js')).runEksWindowBench(rules)) }),
  },
  {
    name: 'eks-window-steady',
    title: 'EKS: the same window with delivery lags of seconds (the adaptive margin at work)',
    run: async (rules) => ({ ...(await (await import('./eks-window.js')).runEksWindowBench(rules, 'steady')) }),
  },
  {
    name: 'aks-window',
    title: 'AKS: 6-minute window through the Log Analytics fake (real SDK over TLS)',
    run: async (rules) => ({ ...(await (await import('./aks-window.js')).runAksWindowBench({ rules })) }),
  },
  {
    name: 'history-memory',
    title: 'History and correlation state at 100,000 users and objects (every rule)',
    run: async (rules) => ({ ...(await (await import('./history-memory.js')).runHistoryMemoryBench(rules)) }),
  },
  {
    name: 'gke-window',
    title: 'GKE: 6-minute window through the Cloud Logging fake (real gRPC client)',
    run: async () => ({ ...(await (await import('./gke-window.js')).runGkeWindowBench()) }),
  },
  {
    name: 'lambda-bundle',
    title: 'Lambda bundle per deploy: size, other clouds\' code, load CPU vs the AWS SDK clients alone (target <= 1.5x)',
    run: async () => ({ ...(await (await import('./bundle-size.js')).runBundleBench()) }),
  },
];
