import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, closedPort, ROOT, isolatedEnv, limited, runCredwatch, type ProcessResult } from './cli-process.js';

/**
 * The package's bin runs the CLI bundled into one script, compiled from V8's code cache
 * (scripts/bundle-cli.mjs, built by `npm test` first): it must do what the sources do. The same
 * commands run through both: the demo, a file large enough for the reader thread, and each
 * cloud's live source against a closed loopback port (which runs that cloud's adapter and requires
 * its SDK from node_modules).
 */
const built = existsSync(BUNDLE);
const WINDOW = ['--from', '2026-03-02T09:00:00Z', '--to', '2026-03-02T09:10:00Z'];
const AWS_KEYS = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', AWS_REGION: 'us-west-2' };

let dir: string;
let large: string;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credwatch-bundle-'));
  large = join(dir, 'large.jsonl');
  const demo = join(import.meta.dirname, '..', '..', 'demo');
  const files = readdirSync(demo).filter((f) => f.endsWith('.jsonl.gz'));
  const lines = (await Promise.all(files.map(async (f) => gunzipSync(await readFile(join(demo, f))).toString('utf8').trimEnd()))).join('\n');
  // 17 MiB and more: read on the reader thread.
  await writeFile(large, Array.from({ length: Math.ceil((17 * 1024 * 1024) / lines.length) }, () => lines).join('\n') + '\n');
  // zod's messages come from its English locale, the only one the bundle keeps.
  await writeFile(join(dir, 'bad-config.json'), JSON.stringify({ rules: { 'secret-sweep': { threshold: 1, windowMinutes: 'ten' } } }));
  port = await closedPort();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs node with `args` (Node options, then what to run) to its exit, in the isolated environment. */
function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: isolatedEnv(port, env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What a run shows a user, without the timings of the summary line. */
const shown = (r: ProcessResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr.replace(/ in [\d.]+ s \([\d,]+ events\/s\)/, '') });

describe.skipIf(!built)('the bundled CLI', () => {
  const cases: Array<{ name: string; args: () => string[]; env: () => NodeJS.ProcessEnv }> = [
    { name: 'demo', args: () => ['demo', '--format', 'jsonl'], env: () => ({}) },
    { name: 'a file read on the reader thread', args: () => ['scan', large, '--format', 'jsonl'], env: () => ({}) },
    { name: 'rules', args: () => ['rules', '--format', 'jsonl'], env: () => ({}) },
    { name: 'an invalid --config', args: () => ['scan', join(dir, 'bad-config.json'), '--config', join(dir, 'bad-config.json')], env: () => ({}) },
    { name: 'EKS live source', args: () => ['scan', '--eks', 'prod-eks-1', '--region', 'us-west-2', '--eks-runtime', ...WINDOW], env: () => ({ ...AWS_KEYS, CREDWATCH_EKS_ENDPOINT: `http://127.0.0.1:${port}` }) },
    { name: 'AKS live source', args: () => ['scan', '--aks', '00000000-0000-4000-8000-000000000000', '--aks-cluster', 'aks-prod-1', ...WINDOW], env: () => ({ CREDWATCH_AKS_TOKEN: 'loopback-test-token', CREDWATCH_AKS_ENDPOINT: `https://127.0.0.1:${port}` }) },
    { name: 'GKE live source', args: () => ['scan', '--gke', 'acme-prod', '--gke-cluster', 'gke-prod-1', ...WINDOW], env: () => ({ CREDWATCH_GKE_ENDPOINT: `127.0.0.1:${port}` }) },
  ];

  it('does what the sources do', async () => {
    const runs = await limited(2, cases.flatMap((c) => (['source', 'bundle'] as const).map((entry) => () => runCredwatch(c.args(), isolatedEnv(port, c.env()), 60_000, entry))));
    for (const [i, c] of cases.entries()) {
      const [source, bundle] = [runs[2 * i]!, runs[2 * i + 1]!];
      expect(shown(bundle), c.name).toEqual(shown(source));
    }
    // What the comparison is about: findings, rules, and a failure line per live source.
    expect(runs[0]!.stdout.split('\n').length).toBeGreaterThan(10);
    expect(runs[2]!.stdout.split('\n').length).toBeGreaterThan(10);
    expect(runs[6]!.stderr).toMatch(/secret-sweep\.threshold: Too small: expected number to be >=2; rules\.secret-sweep\.windowMinutes: Invalid input: expected number, received string/);
    for (const i of [4, 5, 6]) expect(runs[2 * i]!.stderr).toMatch(/FAILED/);
  }, 240_000);

  it('reads a large file on its reader thread', async () => {
    // A CPU profile is written per thread: two profiles, two threads.
    const profiles = join(dir, 'profiles');
    const r = await node(['--cpu-prof', '--cpu-prof-dir', profiles, BUNDLE, 'scan', large, '--format', 'jsonl']);
    expect(r.code).toBe(0);
    expect(readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'))).toHaveLength(2);
  }, 60_000);

  it('loads only what the inputs need: no cloud SDK for files, the X.509 codec only for a CSR', async () => {
    // At exit: the files required from node_modules (the SDKs stay external), and whether the
    // codec's reflect-metadata (bundled, run when the codec first loads) defined Reflect.getMetadata.
    const probe = join(dir, 'loaded-probe.cjs');
    await writeFile(
      probe,
      `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({
  nodeModules: Object.keys(require.cache).filter((f) => f.includes('node_modules')).map((f) => f.split('node_modules/').pop().split('/').slice(0, 2).join('/')),
  codec: typeof Reflect.getMetadata,
})));\n`,
    );
    const oneLine = join(dir, 'one-line.jsonl');
    await writeFile(oneLine, `${JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: 'a', stage: 'ResponseComplete', requestURI: '/api/v1/namespaces/default/secrets/db', verb: 'get', user: { username: 'system:node:n1' }, sourceIPs: ['10.0.0.1'], objectRef: { resource: 'secrets', namespace: 'default', name: 'db', apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-02T09:00:00.000000Z' })}\n`);
    const loaded = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ nodeModules: string[]; codec: string }> => {
      const out = join(dir, `probe-${args[0]}-${Object.keys(env).length}.json`);
      const { code } = await node(['--require', probe, BUNDLE, ...args], { ...env, PROBE_OUT: out });
      expect(code, args.join(' ')).not.toBeNull();
      return JSON.parse(await readFile(out, 'utf8')) as { nodeModules: string[]; codec: string };
    };
    expect(await loaded(['scan', oneLine, '--format', 'jsonl'])).toEqual({ nodeModules: [], codec: 'undefined' });
    // The demo's files hold CSRs: the codec loads, still no SDK.
    expect(await loaded(['demo', '--format', 'jsonl'])).toEqual({ nodeModules: [], codec: 'function' });
    // A live source requires its SDK: the probe sees what is loaded.
    const eks = await loaded(['scan', '--eks', 'prod-eks-1', '--region', 'us-west-2', ...WINDOW], { ...AWS_KEYS, CREDWATCH_EKS_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(eks.nodeModules).toContain('@aws-sdk/client-cloudwatch-logs');
    expect(eks.nodeModules.some((m) => m.startsWith('@azure/') || m.startsWith('@google-cloud/'))).toBe(false);
  }, 60_000);

  it('is ASCII, strict, and a function of the module arguments', async () => {
    // One character beyond Latin-1 anywhere (esbuild copies comments as they are) doubles what the
    // 2 MB of source cost every run in memory.
    const text = await readFile(join(ROOT, 'dist', 'cli', 'credwatch-main.js'), 'utf8');
    expect(text.length).toBeGreaterThan(500_000);
    expect(text.match(/[^\x00-\x7f]/g) ?? []).toEqual([]);
    // Of zod's locales only English (esbuild names each module it keeps in a comment).
    expect([...text.matchAll(/zod\/v4\/locales\/([\w-]+)\.js/g)].map((m) => m[1]).filter((n) => n !== 'en' && n !== 'index')).toEqual([]);
    expect(text).toContain('zod/v4/locales/en.js');
    // Its sources are ES modules, strict: the directive must open the function's body.
    expect(text).toMatch(/^\/\* credwatch-bundle [0-9a-f]{16} \*\/\n\(function \(exports, require, module, __filename, __dirname\) \{\n"use strict";\n/);
    for (const file of ['credwatch.js', 'line-worker.js']) {
      const head = (await readFile(join(ROOT, 'dist', 'cli', file), 'utf8')).replace(/^#!.*\n/, '');
      expect(head.startsWith('"use strict";\n'), file).toBe(true);
    }
  });

  it('starts from the code cache the build wrote for this Node', async () => {
    // The bin's own calls (V8 checks its flags against the cache's), with what it found reported: a
    // cache that is missing or that V8 rejects costs every start about 50 ms, and nothing else would
    // show it.
    const loader = join(ROOT, 'dist', 'functions', 'cli', 'compile-cache.js');
    const tuning = join(ROOT, 'dist', 'functions', 'cli', 'compiler-tuning.js');
    const script = `const { runWithCompileCache } = await import(${JSON.stringify(loader)});
const { tuneCompiler } = await import(${JSON.stringify(tuning)});
tuneCompiler();
process.argv = [process.execPath, 'credwatch', 'rules', '--format', 'jsonl'];
const run = runWithCompileCache(${JSON.stringify(join(ROOT, 'dist', 'cli', 'credwatch-main.js'))});
process.stderr.write('cache: ' + run.use + '\\n');`;
    const r = await node(['--input-type=module', '-e', script]);
    expect(r.stderr).toContain('cache: accepted');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').length).toBeGreaterThan(10);
  }, 60_000);
});
