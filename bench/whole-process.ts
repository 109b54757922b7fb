import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linesPerHour, TRAFFIC_RATES, writeClusterTraffic, type ClusterTrafficFile } from './cluster-traffic.js';

/**
 * What a user waits for: `credwatch scan FILE` as a whole process (start-up, reading, the
 * prefilter, parsing what it keeps, the rules, writing every alert) against a whole process that
 * only reads the same file and JSON.parses every line, on realistic traffic of a 100-node and a
 * 1,000-node cluster (bench/cluster-traffic.ts), and the start-up of a scan of a one-line file.
 */

const DIST = dirname(dirname(fileURLToPath(import.meta.url)));
/** The package's bin, as a user runs it (the bundle `npm run build` makes). */
const CLI = join(DIST, 'cli', 'credwatch.js');
const BARE = join(DIST, 'bench', 'bare-parse.js');
const USAGE = join(DIST, 'bench', 'usage-report.cjs');

export interface ProcessRun {
  seconds: number;
  maxRssMb: number;
  cpuMs: number;
  stdoutBytes: number;
  exitCode: number;
  stdout: string;
}

/** Runs node with `args` to its exit, stdout kept (alerts are written, as a user's would be). */
export function runNode(args: readonly string[], dir: string): Promise<ProcessRun> {
  const usageFile = join(dir, `usage-${Date.now()}-${Math.random()}.json`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--require', USAGE, ...args], {
      env: { ...process.env, CREDWATCH_BENCH_USAGE: usageFile, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let usage = { maxRssMb: Number.NaN, cpuMs: Number.NaN };
      try {
        usage = JSON.parse(readFileSync(usageFile, 'utf8')) as typeof usage;
        rmSync(usageFile, { force: true });
      } catch {
        // The process died before its exit hook: the figures stay NaN and the table says so.
      }
      const stdout = Buffer.concat(chunks).toString('utf8');
      resolve({ seconds, ...usage, stdoutBytes: Buffer.byteLength(stdout), exitCode: code ?? -1, stdout });
    });
  });
}

const alertIds = (jsonl: string): string[] =>
  jsonl
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id)
    .sort();

export interface ModelResult {
  nodes: number;
  file: Omit<ClusterTrafficFile, 'path'> & { mb: number };
  linesPerClusterHour: number;
  bare: Omit<ProcessRun, 'stdout'>;
  scan: Omit<ProcessRun, 'stdout'>;
  /** bare seconds / scan seconds: above 1, the scan is the faster process. */
  ratio: number;
  alerts: number;
  /** The same alerts as `--validate` (every line parsed). */
  sameFindings: boolean;
}

const strip = ({ stdout: _stdout, ...rest }: ProcessRun): Omit<ProcessRun, 'stdout'> => rest;

async function bestOf<T extends { seconds: number }>(n: number, run: () => Promise<T>): Promise<T> {
  let best: T | undefined;
  for (let i = 0; i < n; i++) {
    const r = await run();
    if (best === undefined || r.seconds < best.seconds) best = r;
  }
  return best!;
}

export async function measureModel(nodes: number, minutes: number, dir: string, repeats = 3): Promise<ModelResult> {
  const path = join(dir, `cluster-${nodes}.jsonl`);
  const file = await writeClusterTraffic(path, nodes, minutes);
  const scanArgs = [CLI, 'scan', path, '--format', 'jsonl'];
  // Alternated, best of each: a busy machine slows both alike.
  let bare: ProcessRun | undefined;
  let scan: ProcessRun | undefined;
  for (let i = 0; i < repeats; i++) {
    const b = await runNode([BARE, path], dir);
    const s = await runNode(scanArgs, dir);
    if (bare === undefined || b.seconds < bare.seconds) bare = b;
    if (scan === undefined || s.seconds < scan.seconds) scan = s;
  }
  const validated = await runNode([...scanArgs, '--validate'], dir);
  const ids = alertIds(scan!.stdout);
  const result: ModelResult = {
    nodes,
    file: { nodes, minutes, lines: file.lines, bytes: file.bytes, mb: file.bytes / 1024 / 1024 },
    linesPerClusterHour: linesPerHour(nodes),
    bare: strip(bare!),
    scan: strip(scan!),
    ratio: bare!.seconds / scan!.seconds,
    alerts: ids.length,
    sameFindings: JSON.stringify(ids) === JSON.stringify(alertIds(validated.stdout)),
  };
  rmSync(path, { force: true });
  return result;
}

/** Whole-process time of a scan of one line: start-up and exit, nothing to read. */
export async function measureStartup(dir: string, repeats = 5): Promise<{ seconds: number; maxRssMb: number }> {
  const path = join(dir, 'one-line.jsonl');
  writeFileSync(path, '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous"},"requestReceivedTimestamp":"2026-03-02T09:00:00.000000Z","stageTimestamp":"2026-03-02T09:00:00.000000Z"}\n');
  const best = await bestOf(repeats, () => runNode([CLI, 'scan', path, '--format', 'jsonl'], dir));
  return { seconds: best.seconds, maxRssMb: best.maxRssMb };
}

export interface WholeProcessFigures {
  rates: Array<{ what: string; per: string; perHour: number; lines: number; source: string }>;
  models: ModelResult[];
  startup: { seconds: number; maxRssMb: number };
}

/** Both traffic models (about the same number of lines each) and the start-up. */
export async function measureWholeProcess(targetLines = 300_000): Promise<WholeProcessFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-whole-'));
  try {
    const models: ModelResult[] = [];
    for (const nodes of [100, 1_000]) {
      // Three clusters (EKS, AKS and GKE shapes) of `nodes` nodes each.
      const minutes = Math.max(2, Math.round((targetLines / (3 * linesPerHour(nodes))) * 60));
      models.push(await measureModel(nodes, minutes, dir));
    }
    return {
      rates: TRAFFIC_RATES.map(({ what, per, perHour, lines, source }) => ({ what, per, perHour, lines, source })),
      models,
      startup: await measureStartup(dir),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

