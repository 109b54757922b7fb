// The second step of `npm run build`: the CLI as a CommonJS bundle in dist/cli/ (the package's bin).
// Node's loader takes about half a millisecond for each of the ~230 modules a file scan loads
// (zod alone is 95), and compiling their JavaScript is still about 50 ms once bundled: one bundle,
// compiled from V8's code cache (functions/cli/compile-cache.ts), starts a one-line scan in about
// 130 ms, against 250 for the modules. CommonJS because Node 20 gives a code cache to scripts
// only, not to ES modules. Code only some runs need (the cloud adapters, the X.509 codec, the
// findings table) is in the bundle but runs only when used; every dependency that is not light
// pure JavaScript stays external, required from node_modules as before. The reader thread's
// script is `./line-worker.js` beside the bundle, as it is beside
// adapters/file/off-thread-lines.js unbundled.
//
// dist/cli/ holds: credwatch.js (the bin, a small loader), credwatch-main.js (the CLI, its first
// line the id of its content), line-worker.js, a package.json that makes them CommonJS, and the
// code cache of a demo run with the Node that built them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
/**
 * Bundled in: what every start loads, small and free of native or data files; and the X.509 codec,
 * loaded only for a CSR but then ~180 modules (asn1js, tsyringe, the ASN.1 schemas), which bundled
 * load in a third of the time. zod is imported as a namespace (`import * as z from 'zod'`) in every
 * source: esbuild then keeps only the parts used, and zod's other languages' messages (366 KB) are
 * left out. Its own `z` export is one object of everything, which esbuild cannot shake.
 */
const INLINE = new Set(['zod', 'commander', 'shell-quote', 'cli-progress', 'string-width', 'wrap-ansi', '@peculiar/x509', 'reflect-metadata']);
const external = Object.keys(pkg.dependencies).filter((d) => !INLINE.has(d)).flatMap((d) => [d, `${d}/*`]);

/**
 * esbuild writes code in ASCII (its default charset escapes every other character) but copies some
 * comments as they are, and one character above U+00FF in 2 MB of source makes V8 keep all of it at
 * two bytes a character. Comments are all that can hold one, so it is replaced there; more than a
 * few would mean that esbuild changed, and the build stops rather than guess.
 */
function asciiComments(source) {
  let n = 0;
  const out = source.replace(/[^\x00-\x7f]/g, () => (n++, '?'));
  if (n > 50) throw new Error(`the CLI bundle holds ${n} characters beyond ASCII: esbuild no longer escapes them (charset)`);
  return out;
}

// A new build's files (and caches) replace the old ones.
const out = new URL('dist/cli/', root).pathname;
rmSync(out, { recursive: true, force: true });

// First in every bundle, so that the modules (ES modules, strict) stay strict: esbuild's own
// "use strict" follows a banner. Then what the modules read as import.meta.url (`define` below).
const PRELUDE = `"use strict";\nvar credwatchModuleUrl = require('node:url').pathToFileURL(__filename).href;`;

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  // A dynamic import() of an external would stay one, and a script compiled with a code cache
  // (node:vm) may not import on Node 20: every import becomes a require.
  supported: { 'dynamic-import': false },
  // The modules find their own files (the reader thread's script, the package root) from import.meta.url.
  define: { 'import.meta.url': 'credwatchModuleUrl' },
  banner: { js: PRELUDE },
  // Its ES build, which esbuild can tree-shake (a CommonJS build is bundled whole).
  alias: { '@peculiar/x509': '@peculiar/x509/build/x509.es.js' },
  logLevel: 'warning',
};

// The CLI: a function expression of CommonJS's module arguments, which compile-cache.ts compiles and
// calls, rather than a module text that it would have to wrap: the wrapped copy of 2 MB of source
// is what V8 would then keep, beside the text read.
await build({
  ...common,
  entryPoints: { 'credwatch-main': new URL('dist/functions/cli/main.js', root).pathname },
  outdir: out,
  entryNames: '[name]',
  banner: { js: `(function (exports, require, module, __filename, __dirname) {\n${PRELUDE}` },
  footer: { js: '})' },
});
await build({
  ...common,
  entryPoints: {
    'line-worker': new URL('dist/adapters/file/line-worker.js', root).pathname,
    credwatch: new URL('dist/functions/cli/bin.js', root).pathname,
  },
  outdir: out,
  entryNames: '[name]',
});
writeFileSync(`${out}package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`);

// The id the cache is named by (compile-cache.ts): a cache is never applied to another build.
const mainPath = `${out}credwatch-main.js`;
const mainSource = asciiComments(readFileSync(mainPath, 'utf8'));
const id = createHash('sha256').update(mainSource).digest('hex').slice(0, 16);
writeFileSync(mainPath, `/* credwatch-bundle ${id} */\n${mainSource}`);

// The code cache, from a run that compiles what a scan does: the demo (every cloud's files, a CSR).
// Without the builder's NODE_OPTIONS: V8 options there would give the cache a name of its own
// (compile-cache.ts), and a user's plain run would find none.
const { NODE_OPTIONS: _builderOptions, ...plainEnv } = process.env;
const warm = spawnSync(process.execPath, [`${out}credwatch.js`, 'demo', '--format', 'jsonl'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: plainEnv });
if (warm.status !== 0 || !readdirSync(out).some((f) => f.endsWith('.v8cache'))) {
  throw new Error(`the bundled CLI did not run the demo (exit ${warm.status}) or wrote no code cache:\n${warm.stderr}`);
}
