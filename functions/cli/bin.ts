#!/usr/bin/env node
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWithCompileCache } from './compile-cache.js';
import { tuneCompiler } from './compiler-tuning.js';
import { prestartForArgs } from './prestart.js';

// The package's bin (dist/cli/credwatch.js): the CLI's bundle beside it, compiled from V8's code
// cache where there is one (compile-cache.ts). Only the bundle is run this way: built from
// main.ts by scripts/bundle-cli.mjs, it is not a file of this folder. The compiler is tuned first,
// so that the code cache is written and read under the same V8 flags.
tuneCompiler();
// A scan of a large file starts its reader thread before the bundle is read and compiled: the
// thread's own start-up (Node's bootstrap of a worker, tens of milliseconds) is what the scan
// otherwise waits for before its first lines (prestart.ts).
prestartForArgs(process.argv.slice(2));
const run = runWithCompileCache(join(dirname(fileURLToPath(import.meta.url)), 'credwatch-main.js'));
if (run.use !== 'accepted' && run.use !== 'off') process.once('exit', () => run.save());
