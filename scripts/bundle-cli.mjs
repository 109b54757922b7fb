// The second step of `npm run build`: the CLI as one ESM bundle in dist/cli/ (the package's bin).
// Node's loader takes about half a millisecond for each of the ~230 modules a file scan loads
// (zod alone is 95): one bundle starts a one-line scan in about two thirds of the time. Code
// loaded only when used (cloud adapters, the findings table) stays in chunks of its own, and every
// dependency that is not light pure JavaScript stays external, loaded from node_modules as before.
// Entries and chunks sit in one folder, so the reader thread's script is `./line-worker.js`
// beside whichever chunk starts it, as it is beside adapters/file/off-thread-lines.js unbundled.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
/**
 * Bundled in: what every start loads, small and free of native or data files; and the X.509 codec,
 * loaded only for a CSR but then ~180 modules (asn1js, tsyringe, the ASN.1 schemas), which as one
 * chunk load in a third of the time.
 */
const INLINE = new Set(['zod', 'commander', 'shell-quote', 'cli-progress', 'string-width', 'wrap-ansi', '@peculiar/x509', 'reflect-metadata']);
const external = Object.keys(pkg.dependencies).filter((d) => !INLINE.has(d)).flatMap((d) => [d, `${d}/*`]);

/**
 * zod's `z.locales` (and `z.core.locales`) name every language's error messages: 366 KB, a third of
 * what V8 parses before a scan reads its first line. zod configures English itself and credwatch
 * sets no other, so the bundle's locales are English alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /[/\\]locales[/\\]index\.js$/ }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}zod${sep}`)
        ? { path: resolve(args.resolveDir, args.path), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

// A new build's chunks have new names: the old ones go first.
rmSync(new URL('dist/cli', root), { recursive: true, force: true });

await build({
  entryPoints: {
    credwatch: new URL('dist/functions/cli/main.js', root).pathname,
    'line-worker': new URL('dist/adapters/file/line-worker.js', root).pathname,
  },
  outdir: new URL('dist/cli', root).pathname,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // The CommonJS dependencies bundled in (commander, shell-quote) call require for Node's modules.
  banner: { js: "import { createRequire as credwatchCreateRequire } from 'node:module'; const require = credwatchCreateRequire(import.meta.url);" },
  // Its ES build, so a dynamic import gets the named exports (the CommonJS one arrives as a default).
  alias: { '@peculiar/x509': '@peculiar/x509/build/x509.es.js' },
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});
