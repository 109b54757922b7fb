import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * Runs the CLI's CommonJS bundle with V8's code cache, as Python keeps `__pycache__`: compiling
 * the bundle's 2 MB of JavaScript is about 50 of a one-line scan's 190 ms without it, and Node 20
 * has no compile cache of its own (`module.enableCompileCache` is Node 22's), nor any for ES
 * modules.
 *
 * The cache sits beside the bundle, one file per bundle build, Node version, CPU and set of V8
 * options (`optionsSuffix`): the build writes one for the Node that built it
 * (scripts/bundle-cli.mjs), and a run that finds none, or finds it rejected by V8, writes it when
 * it exits if the folder is writable. V8 checks its own version and flags but of the source only
 * its length, so the name carries the id the build puts on the bundle's first line: a cache is
 * never applied to another build of the bundle. It is trusted as the bundle is, and for the same
 * reason: whoever can write the one can write the other.
 */

/** The bundle's first line, written by the build: its content's hash. */
const BUNDLE_ID = /^\/\* credwatch-bundle ([0-9a-f]{8,64}) \*\//;

export type CacheUse =
  /** Compiled from the cache. */
  | 'accepted'
  /** A cache was there, but V8 would not take it: compiled from the source. */
  | 'rejected'
  /** No cache for this build, Node and CPU: compiled from the source. */
  | 'absent'
  /** Switched off (`CREDWATCH_COMPILE_CACHE=off`) or a bundle without an id: no cache read or written. */
  | 'off';

export interface CachedRun {
  use: CacheUse;
  /** The cache file this run reads and would write (undefined when off). */
  cachePath: string | undefined;
  /**
   * Writes the cache of everything compiled so far (called at exit, so it holds what the run
   * compiled, not the top level alone); true when written. A no-op after an accepted cache or off.
   */
  save(): boolean;
}

/** What the bundle's text evaluates to: CommonJS's module wrapper, written by the build. */
type BundleFunction = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

/**
 * Node's options that only say what to load or where to write (not V8's flags): the rest of a run's
 * options, which may set V8 flags, name a cache of their own. A wrong guess costs a second cache
 * file or a cache V8 rejects, never a wrong result.
 */
const NOT_V8 = /^(-r|--require|--import|--loader|--experimental-loader|-e|--eval|-p|--print|--input-type|--env-file|--title|--cpu-prof|--heap-prof|--prof|--inspect|--inspect-brk|--enable-source-maps|--trace-warnings|--no-warnings|--no-deprecation|--trace-uncaught|--redirect-warnings|--diagnostic-dir|--report-dir)(-[a-z-]+)?(=|$)/;

/**
 * V8 rejects a cache made under other flags (`--max-old-space-size`, `--expose-gc`, …), and a run
 * that wrote over the cache of runs without them would have them reject it in turn: runs with
 * such options (on the command line or in NODE_OPTIONS) keep a cache of their own.
 */
function optionsSuffix(execArgv: readonly string[], nodeOptions: string | undefined): string {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('-') && !NOT_V8.test(a));
  return given.length === 0 ? '' : `.${createHash('sha256').update(given.join('\0')).digest('hex').slice(0, 8)}`;
}

export function cachePathOf(bundle: string, source: string, execArgv: readonly string[] = [], nodeOptions?: string): string | undefined {
  const id = BUNDLE_ID.exec(source)?.[1];
  if (id === undefined) return undefined;
  return join(dirname(bundle), `${basename(bundle, '.js')}.${id}.node-${process.version}-${process.arch}${optionsSuffix(execArgv, nodeOptions)}.v8cache`);
}

/**
 * Compiles `bundle` (a function expression of CommonJS's module arguments, as scripts/bundle-cli.mjs
 * writes it) from its code cache where there is one, and calls it as a module of its own folder.
 */
export function runWithCompileCache(bundle: string, env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): CachedRun {
  const source = readFileSync(bundle, 'utf8');
  const off = env['CREDWATCH_COMPILE_CACHE'] === 'off';
  const cachePath = off ? undefined : cachePathOf(bundle, source, execArgv, env['NODE_OPTIONS']);
  let cachedData: Buffer | undefined;
  if (cachePath !== undefined) {
    try {
      cachedData = readFileSync(cachePath);
    } catch {
      // None yet: compiled from the source, and written at exit.
    }
  }
  // The bundle is already a function of the module arguments: nothing to wrap, so V8 keeps one copy of its text.
  const script = new Script(source, { filename: bundle, ...(cachedData === undefined ? {} : { cachedData }) });
  const use: CacheUse = cachePath === undefined ? 'off' : cachedData === undefined ? 'absent' : script.cachedDataRejected === false ? 'accepted' : 'rejected';
  const save = (): boolean => {
    if (cachePath === undefined || use === 'accepted') return false;
    const temporary = `${cachePath}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, script.createCachedData());
      // Renamed into place, so that a run started meanwhile reads the old cache or the new, never half of one.
      renameSync(temporary, cachePath);
      return true;
    } catch {
      // A read-only install: every run compiles from the source, as without a cache.
      rmSync(temporary, { force: true });
      return false;
    }
  };
  const run: unknown = script.runInThisContext();
  if (typeof run !== 'function') throw new Error(`${bundle} is not a CLI bundle (a function of the module arguments): rebuild it with npm run build`);
  const module = { exports: {} as unknown };
  (run as BundleFunction).call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { use, cachePath, save };
}
