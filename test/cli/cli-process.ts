import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the real `credwatch` entry point (functions/cli/main.ts through tsx) as a child process,
 * so exit codes, stack traces, unhandled rejections and handles left open are seen as a user sees
 * them. The environment is built from nothing: a fresh HOME, no cloud credentials, an empty PATH
 * (no `az`, `gcloud` or `aws` to ask; node itself is started by its path), every metadata server disabled or
 * pointed at a closed loopback port. Nothing the child does can reach past 127.0.0.1.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'functions', 'cli', 'main.ts');
/** The package's bin: the CLI bundled by `npm run build` (scripts/bundle-cli.mjs). */
export const BUNDLE = join(ROOT, 'dist', 'cli', 'credwatch.js');

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A port nothing listens on: bound, then closed again. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** A port that accepts connections and never says a word. */
export async function silentPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

/** The isolated environment: no credentials anywhere, metadata lookups off or closed. */
export function isolatedEnv(metadataPort: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'credwatch-home-'));
  return {
    PATH: join(home, 'bin'),
    HOME: home,
    CLOUDSDK_CONFIG: join(home, 'gcloud'),
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: `127.0.0.1:${metadataPort}`,
    GCE_METADATA_IP: `127.0.0.1:${metadataPort}`,
    // The developer credentials only (az, azd, PowerShell, VS Code: none on PATH); no IMDS probe.
    AZURE_TOKEN_CREDENTIALS: 'dev',
    NO_COLOR: '1',
    ...extra,
  };
}

/** `entry`: the TypeScript sources through tsx (default), or the bundled bin. */
export function runCredwatch(args: string[], env: NodeJS.ProcessEnv, killAfterMs = 60_000, entry: 'source' | 'bundle' = 'source'): Promise<ProcessResult> {
  const started = performance.now();
  const argv = entry === 'bundle' ? [BUNDLE, ...args] : ['--import', 'tsx', MAIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // A child that hangs is the failure under test: stop it and let the assertions say so.
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Runs tasks at most `n` at a time (the machine has two cores, shared). */
export async function limited<T>(n: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}
