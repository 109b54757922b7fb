import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachePathOf, runWithCompileCache } from '../../functions/cli/compile-cache.js';

/** What each run of a test bundle leaves: how often its top level ran, and what it saw. */
interface Seen {
  runs: number;
  dependency: string;
  filename: string;
  dirname: string;
}
const seen = (): Seen => (globalThis as unknown as { credwatchCacheTest: Seen }).credwatchCacheTest;

let dir: string;
let bundle: string;

/** A bundle as scripts/bundle-cli.mjs writes one: its id on the first line, then a function of the module arguments that requires a file beside it. */
function writeBundle(id: string | undefined, body = ''): void {
  const header = id === undefined ? '' : `/* credwatch-bundle ${id} */\n`;
  writeFileSync(
    bundle,
    `${header}(function (exports, require, module, __filename, __dirname) {
const g = globalThis.credwatchCacheTest ??= { runs: 0 };
g.runs++;
g.dependency = require('./dependency.js').name;
g.filename = __filename;
g.dirname = __dirname;
function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }
module.exports = work(10);
${body}
})
`,
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credwatch-compile-cache-'));
  bundle = join(dir, 'credwatch-main.js');
  writeFileSync(join(dir, 'dependency.js'), "module.exports = { name: 'beside the bundle' };\n");
  delete (globalThis as Record<string, unknown>)['credwatchCacheTest'];
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Each run below names its Node options, none: the test runner's own would name another cache.
describe('runWithCompileCache', () => {
  it('runs the bundle as a CommonJS module of its own folder', () => {
    writeBundle('0123456789abcdef');
    runWithCompileCache(bundle, {}, []);
    expect(seen()).toEqual({ runs: 1, dependency: 'beside the bundle', filename: bundle, dirname: dir });
  });

  it('compiles from the source, writes the cache, and compiles from the cache next time', () => {
    writeBundle('0123456789abcdef');
    const first = runWithCompileCache(bundle, {}, []);
    expect(first.use).toBe('absent');
    expect(first.cachePath).toBe(join(dir, `credwatch-main.0123456789abcdef.node-${process.version}-${process.arch}.v8cache`));
    expect(existsSync(first.cachePath!)).toBe(false);
    expect(first.save()).toBe(true);
    expect(existsSync(first.cachePath!)).toBe(true);
    // Nothing but the cache: the temporary file was renamed into place.
    expect(readdirSync(dir).sort()).toEqual(['credwatch-main.0123456789abcdef.node-' + `${process.version}-${process.arch}.v8cache`, 'credwatch-main.js', 'dependency.js'].sort());

    const second = runWithCompileCache(bundle, {}, []);
    expect(second.use).toBe('accepted');
    // An accepted cache is not written again.
    expect(second.save()).toBe(false);
    expect(seen().runs).toBe(2);
  });

  it('compiles from the source when V8 rejects the cache, and replaces it', () => {
    writeBundle('0123456789abcdef');
    const path = cachePathOf(bundle, '/* credwatch-bundle 0123456789abcdef */')!;
    writeFileSync(path, Buffer.from('not a V8 code cache, not even close to one'));
    const run = runWithCompileCache(bundle, {}, []);
    expect(run.use).toBe('rejected');
    expect(seen().runs).toBe(1);
    expect(run.save()).toBe(true);
    expect(runWithCompileCache(bundle, {}, []).use).toBe('accepted');
  });

  it('never applies one build’s cache to another: the id names the file', () => {
    writeBundle('0123456789abcdef');
    runWithCompileCache(bundle, {}, []).save();
    writeBundle('fedcba9876543210', 'module.exports = "another build";');
    const other = runWithCompileCache(bundle, {}, []);
    expect(other.use).toBe('absent');
    expect(other.cachePath).toContain('.fedcba9876543210.');
  });

  it('keeps a cache of its own for runs with V8 options, which would reject the others’ (and theirs be rejected)', () => {
    const source = '/* credwatch-bundle 0123456789abcdef */';
    const plain = cachePathOf(bundle, source)!;
    // What only says what to run or where to write changes nothing.
    expect(cachePathOf(bundle, source, ['--require', '/x/usage.cjs', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--enable-source-maps'], '--no-warnings')).toBe(plain);
    expect(cachePathOf(bundle, source, ['--input-type=module', '-e', 'code'])).toBe(plain);
    const bigHeap = cachePathOf(bundle, source, ['--max-old-space-size=4096'])!;
    expect(bigHeap).toMatch(new RegExp(`\\.node-${process.version.replace(/\./g, '\\.')}-${process.arch}\\.[0-9a-f]{8}\\.v8cache$`));
    expect(cachePathOf(bundle, source, [], '--max-old-space-size=4096')).toBe(bigHeap);
    expect(cachePathOf(bundle, source, ['--expose-gc'])).not.toBe(bigHeap);

    // A run with the option writes its file and leaves the plain one as it was.
    writeBundle('0123456789abcdef');
    const first = runWithCompileCache(bundle, {}, []);
    first.save();
    const flagged = runWithCompileCache(bundle, { NODE_OPTIONS: '--max-old-space-size=4096' }, []);
    expect(flagged).toMatchObject({ use: 'absent', cachePath: bigHeap });
    expect(flagged.save()).toBe(true);
    expect(runWithCompileCache(bundle, {}, []).use).toBe('accepted');
    expect(runWithCompileCache(bundle, { NODE_OPTIONS: '--max-old-space-size=4096' }, []).use).toBe('accepted');
  });

  it('reads and writes no cache for a bundle without an id, or when switched off', () => {
    writeBundle(undefined);
    const unnamed = runWithCompileCache(bundle, {}, []);
    expect(unnamed).toMatchObject({ use: 'off', cachePath: undefined });
    expect(unnamed.save()).toBe(false);

    writeBundle('0123456789abcdef');
    const off = runWithCompileCache(bundle, { CREDWATCH_COMPILE_CACHE: 'off' }, []);
    expect(off).toMatchObject({ use: 'off', cachePath: undefined });
    expect(off.save()).toBe(false);
    expect(readdirSync(dir).some((f) => f.endsWith('.v8cache'))).toBe(false);
    expect(seen().runs).toBe(2);
  });

  it('runs on without a cache where it cannot write one', () => {
    writeBundle('0123456789abcdef');
    const run = runWithCompileCache(bundle, {}, []);
    // The folder is gone by exit (as good as read-only, even for root): no cache, no exception.
    rmSync(dir, { recursive: true, force: true });
    expect(run.save()).toBe(false);
  });

  it('refuses a file that is not such a function, and says to rebuild', () => {
    writeFileSync(bundle, '/* credwatch-bundle 0123456789abcdef */\nglobalThis.credwatchOldBuild = 1;\n');
    expect(() => runWithCompileCache(bundle, {}, [])).toThrow(/is not a CLI bundle .*npm run build/);
  });

  it('lets an exception of the bundle’s top level through, as Node would', () => {
    writeBundle('0123456789abcdef', "throw new Error('top level failed');");
    expect(() => runWithCompileCache(bundle, {}, [])).toThrow('top level failed');
  });
});
