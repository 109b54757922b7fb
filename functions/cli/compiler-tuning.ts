import { setFlagsFromString } from 'node:v8';

/**
 * A file scan keeps both cores busy: this thread parses and runs the rules, the reader thread
 * prefilters, and V8's helper threads compile optimised code for both. On Node 20, whose V8 has only
 * TurboFan to optimise with, inlining functions of up to 460 bytes of bytecode (its default) cost
 * the helpers CPU that this thread got nothing back for: with a limit of 30 they used 0.45 s instead
 * of 0.8 s on the 1,000-node benchmark file, this thread no more than before, and the process 13 %
 * less CPU and 3–10 % less time (docs/cli.md "Compiler setting"). Node 22's V8 (12.x) optimises
 * early with Maglev, where the same limit measured no difference, so it is left alone there. A
 * limit the user sets (on the command line or in NODE_OPTIONS) is theirs.
 */
const INLINED_BYTECODE_LIMIT = 30;
const USER_SET = /^--(no-)?(max[-_]inlined[-_]bytecode[-_]size|turbo[-_]inlining)(=|$)/;

/** The V8 flag to set for a run on `v8Version` with these options, or undefined for none. */
export function compilerFlagFor(v8Version: string, execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const major = Number.parseInt(v8Version, 10);
  if (!(major < 12)) return undefined;
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => USER_SET.test(a))) return undefined;
  return `--max-inlined-bytecode-size=${INLINED_BYTECODE_LIMIT}`;
}

/**
 * Sets the flag for this process before anything hot is compiled: V8 reads it when it optimises a
 * function, and the reader thread's isolate shares the process's flags. Returns what it set.
 */
export function tuneCompiler(): string | undefined {
  const flag = compilerFlagFor(process.versions.v8, process.execArgv, process.env['NODE_OPTIONS']);
  if (flag !== undefined) setFlagsFromString(flag);
  return flag;
}
