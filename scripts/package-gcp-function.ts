import { build, type Metafile } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Builds the Cloud Function source that infra/gcp zips and uploads:
 *   npx tsx scripts/package-gcp-function.ts [outDir]     (default dist/gcp-function)
 *
 * Our code is bundled into one CommonJS index.js; every npm package stays external and is
 * listed in package.json at the exact version this repository locks, so Cloud Build's
 * `npm install` recreates the tested dependency set. Two reasons not to bundle them: the
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
    name: 'credwatch-gcp-function',
    private: true,
    main: 'index.js',
    engines: { node: `${GCP_NODE_ENGINE}` },
    dependencies,
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { outDir, dependencies };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { outDir, dependencies } = await packageGcpFunction(process.argv[2] === undefined ? undefined : resolve(process.argv[2]));
  console.error(`credwatch: Cloud Function source in ${outDir} (${Object.keys(dependencies).length} npm dependencies); next: terraform -chdir=infra/gcp apply`);
}
