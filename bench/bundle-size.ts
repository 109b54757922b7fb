import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { bundleDefines, type BundleCloud } from '../functions/shared/bundled-clouds.js';
import { HANDLER_BUNDLE, handlerEsbuildOptions } from '../infra/aws/handler-bundle.js';

/**
 * The Lambda bundle per deploy: size, how much of it is other clouds' client code, and the cost
 * of loading it in a fresh Node process (what a cold start pays before the first line of the
 * handler), against a bundle of only the AWS SDK clients and Powertools the handler uses, built
 * the same way. Target: the EKS-only handler loads in at most 1.5 times that baseline.
 *
 *   node dist/bench/bundle-size.js         (also a module of `npm run bench`)
 */

/** The repository root, found from this file whether it runs from bench/ or dist/bench/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'functions', 'aws', 'handler.ts'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the credwatch repository root');
    dir = up;
  }
}

/** What the handler imports from the AWS side, and nothing else. */
const BASELINE = `
export { Logger } from '@aws-lambda-powertools/logger';
export { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
export { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
export { DynamoDBClient, GetItemCommand, PutItemCommand, DeleteItemCommand } from '@aws-sdk/client-dynamodb';
export { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
export { SNSClient, PublishCommand } from '@aws-sdk/client-sns';
export { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
`

const OTHER_CLOUDS = /node_modules\/(@google-cloud|@azure|@grpc|google-auth-library|google-gax|gaxios|gcp-metadata|protobufjs|@azure-rest|@typespec)\//;

interface Built {
  bytes: number;
  otherCloudBytes: number;
  sha256: string;
  file: string;
}

async function bundle(root: string, entry: string, outDir: string, clouds: readonly BundleCloud[] | undefined): Promise<Built> {
  const file = join(outDir, 'index.js');
  const result = await build({
    // The baseline is source text resolved from the repository, so it finds the same packages.
    ...(entry.startsWith('\n') ? { stdin: { contents: entry, resolveDir: root, loader: 'ts' as const } } : { entryPoints: [entry] }),
    outfile: file,
    ...handlerEsbuildOptions(),
    absWorkingDir: root,
    metafile: true,
    logLevel: 'silent',
    ...(clouds === undefined ? {} : { define: bundleDefines(clouds) }),
  });
  return { bytes: statSync(file).size, otherCloudBytes: otherCloudBytes(result.metafile), sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), file };
}

/** Bytes in the output that come from Google or Azure client packages. */
export function otherCloudBytes(metafile: Metafile): number {
  let n = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) if (OTHER_CLOUDS.test(input)) n += bytesInOutput;
  }
  return n;
}

const PROBE = `
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
require(process.argv[2]);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

/** Median wall and CPU time of `require(file)` in fresh processes. */
function loadTime(probe: string, file: string, runs: number): { wallMs: number; cpuMs: number } {
  const samples: Array<{ wallMs: number; cpuMs: number }> = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [probe, file], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
    });
    samples.push(JSON.parse(out) as { wallMs: number; cpuMs: number });
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wallMs: Math.round(median(samples.map((s) => s.wallMs)) * 10) / 10, cpuMs: Math.round(median(samples.map((s) => s.cpuMs)) * 10) / 10 };
}

export async function runBundleBench(runs = 7): Promise<Record<string, unknown>> {
  const root = repoRoot();
  const entry = join(root, 'functions', 'aws', 'handler.ts');
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-bundle-bench-'));
  try {
    const mk = (name: string) => {
      const d = join(dir, name);
      execFileSync('mkdir', ['-p', d]);
      return d;
    };
    writeFileSync(join(dir, 'probe.cjs'), PROBE);
    const eks = await bundle(root, entry, mk('eks'), ['eks']);
    const eksAgain = await bundle(root, entry, mk('eks-elsewhere'), ['eks']);
    const all = await bundle(root, entry, mk('all'), ['eks', 'aks', 'gke']);
    const baseline = await bundle(root, BASELINE, mk('baseline'), undefined);
    const probe = join(dir, 'probe.cjs');
    const eksLoad = loadTime(probe, eks.file, runs);
    const allLoad = loadTime(probe, all.file, runs);
    const baseLoad = loadTime(probe, baseline.file, runs);
    const ratio = Math.round((eksLoad.cpuMs / baseLoad.cpuMs) * 100) / 100;
    return {
      eksOnlyBytes: eks.bytes,
      eksOnlyOtherCloudBytes: eks.otherCloudBytes,
      allCloudsBytes: all.bytes,
      allCloudsOtherCloudBytes: all.otherCloudBytes,
      awsClientsAloneBytes: baseline.bytes,
      sourceMap: HANDLER_BUNDLE.sourcemap,
      stableHashAcrossOutputDirs: eks.sha256 === eksAgain.sha256,
      eksOnlyLoad: eksLoad,
      allCloudsLoad: allLoad,
      awsClientsAloneLoad: baseLoad,
      eksOnlyLoadCpuVsAwsClients: ratio,
      targetRatio: 1.5,
      withinTarget: ratio <= 1.5,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runBundleBench(), null, 2));
}
