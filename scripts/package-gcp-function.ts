import { build, type Metafile } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { bundleDefines } from '../functions/shared/bundled-clouds.js';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Builds the Cloud Function source that infra/gcp zips and uploads:
 *   npx tsx scripts/package-gcp-function.ts [outDir]     (default dist/gcp-function)
 *
 * Our code is bundled into one CommonJS index.js, built for GKE sources only (the module
 * configures nothing else): the AWS and Azure adapters are left out (functions/shared/
 * bundled-clouds.ts), so their SDKs are neither imported nor installed. Every npm package stays
 * external and is listed in package.json at the exact version this repository locks, with a
 * package-lock.json cut from the repository's own lock to exactly the packages those need, so
 * Cloud Build's `npm ci` installs the tested dependency set and nothing more. Two reasons not to bundle them: the
 * Functions Framework that Cloud Run starts must be the same module instance the code registers
 * `credwatchScan` with, and the Google client libraries load their proto files from disk.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const GCP_ENTRY = join(ROOT, 'functions', 'gcp', 'index.ts');
export const GCP_ENTRY_POINT = 'credwatchScan';
export const GCP_NODE_ENGINE = '22';

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The bare packages the bundle still imports, from esbuild's metafile. */
export function externalPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imp of input.imports) {
      if (imp.external && !imp.path.startsWith('node:') && !imp.path.startsWith('.')) names.add(packageOf(imp.path));
    }
  }
  return [...names].sort();
}

const require = createRequire(join(ROOT, 'package.json'));

function installedVersion(name: string): string {
  // Read the package.json next to the resolved entry: not every package exports ./package.json.
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version !== undefined) return pkg.version;
    } catch {
      // no package.json at this level: keep walking up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the installed version of ${name}: run npm ci first`);
    dir = up;
  }
}

/** Node builtins are external but need no entry in package.json. */
const BUILTINS = new Set(builtinModules);

export async function packageGcpFunction(outDir = join(ROOT, 'dist', 'gcp-function')): Promise<{ outDir: string; dependencies: Record<string, string> }> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [GCP_ENTRY],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${GCP_NODE_ENGINE}`,
    packages: 'external',
    define: bundleDefines(['gke']),
    // Folds the bundle guards so the other clouds' imports are dropped.
    minifySyntax: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
  });
  const dependencies: Record<string, string> = {};
  for (const name of externalPackages(result.metafile)) {
    if (!BUILTINS.has(name)) dependencies[name] = installedVersion(name);
  }
  const manifest = {
    name: 'credwatch-gcp-function' as string,
    private: true,
    main: 'index.js',
    engines: { node: `${GCP_NODE_ENGINE}` },
    dependencies,
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(outDir, 'package-lock.json'), `${JSON.stringify(lockFor(manifest, JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock), null, 2)}\n`);
  return { outDir, dependencies };
}

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  [k: string]: unknown;
}
interface Lock {
  name?: string;
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

/** Where Node finds `name` from the package at `from` (a lock path): its own node_modules, then each parent's. */
function resolveIn(lock: Lock, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    if (dir === '') return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

/**
 * The repository's lock cut down to what `manifest` needs: every package reachable from its
 * dependencies, at the same paths (so the layout npm resolved and we tested is kept).
 */
export function lockFor(manifest: { name: string; dependencies: Record<string, string> }, lock: Lock): Lock {
  if (lock.lockfileVersion < 2) throw new Error('package-lock.json must be lockfileVersion 2 or 3: run npm install with npm 7 or later');
  const keep = new Set<string>();
  const visit = (from: string, name: string, optional: boolean) => {
    const path = resolveIn(lock, from, name);
    if (path === undefined) {
      if (optional) return;
      throw new Error(`package-lock.json has no entry for ${name} (needed from ${from || 'the function'}): run npm ci first`);
    }
    if (keep.has(path)) return;
    keep.add(path);
    const e = lock.packages[path]!;
    for (const dep of Object.keys(e.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(e.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(e.peerDependencies ?? {})) visit(path, dep, e.peerDependenciesMeta?.[dep]?.optional === true);
  };
  for (const name of Object.keys(manifest.dependencies)) visit('', name, false);
  const packages: Record<string, LockEntry> = { '': { name: manifest.name, dependencies: manifest.dependencies } };
  for (const path of [...keep].sort()) {
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[path]!;
    packages[path] = entry;
  }
  return { name: manifest.name, lockfileVersion: 3, requires: true, packages } as Lock;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { outDir, dependencies } = await packageGcpFunction(process.argv[2] === undefined ? undefined : resolve(process.argv[2]));
  console.error(`credwatch: Cloud Function source in ${outDir} (${Object.keys(dependencies).length} npm dependencies); next: terraform -chdir=infra/gcp apply`);
}
