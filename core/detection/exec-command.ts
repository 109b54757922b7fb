import { posix } from 'node:path';
import parseShell from 'shell-quote/parse.js';
import { queryValues, type AuditEvent } from '../model/event.js';
import { classifyPath, type ClassifyOptions, type PathMatch } from './sensitive-paths.js';

/**
 * The command of a pods/exec (or kubelet `/exec`) request and what it reads (docs/rules-cert-theft.md).
 * The API server logs the argv only as `command=` query parameters of the request URI; the adapters
 * already decode them in order, so parameter position relative to `container=`/`stdin=` does not
 * matter here. Hand-written fixtures put it in `requestObject.command`; that is the fallback.
 */

export interface ExecCommand {
  argv: string[];
  source: 'query' | 'requestObject';
}

export function execCommand(event: AuditEvent, param = 'command'): ExecCommand | undefined {
  const fromQuery = queryValues(event, param);
  if (fromQuery.length > 0) return { argv: fromQuery, source: 'query' };
  const body = event.requestObject;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const cmd = (body as Record<string, unknown>)['command'];
    if (Array.isArray(cmd) && cmd.length > 0 && cmd.every((a) => typeof a === 'string')) {
      return { argv: cmd, source: 'requestObject' };
    }
  }
  return undefined;
}

export interface SensitiveRead extends PathMatch {
  /** Base name of the program that reads the file (`cat`, `tar`, `sh` for `< file`). */
  reader: string;
  /** Wrappers the reader ran under, outermost first (`sh -c`, `chroot`, `nsenter`). */
  via: string[];
}

export interface AnalyseOptions {
  hostMountPrefixes?: readonly string[];
  /** Shallowest directory a recursive copy may name and still count (see `classifyPath`). */
  minRecursiveDepth?: number;
}

/** Programs that read the files named in their arguments. */
const FILE_READERS: ReadonlySet<string> = new Set([
  'cat', 'tac', 'head', 'tail', 'more', 'less', 'most', 'view', 'nl', 'sed', 'awk', 'gawk', 'mawk', 'nawk',
  'cut', 'grep', 'egrep', 'fgrep', 'rg', 'sort', 'uniq', 'strings', 'base64', 'base32', 'basenc', 'xxd', 'od',
  'hexdump', 'hd', 'openssl', 'gzip', 'bzip2', 'xz', 'zstd', 'zip', 'scp', 'rsync', 'curl', 'wget', 'nc', 'install',
]);
/** Programs that run another program: the command starts after their own options. */
const WRAPPERS: ReadonlySet<string> = new Set(['sudo', 'env', 'nice', 'nohup', 'exec', 'command', 'timeout', 'stdbuf', 'ionice', 'time', 'busybox', 'chroot', 'nsenter', 'xargs']);
const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'fish']);
const INTERPRETERS: ReadonlySet<string> = new Set(['python', 'python2', 'python3', 'perl', 'ruby', 'node', 'php', 'lua']);
/** Options of these wrappers that take a value (the value is not the wrapped command). */
const WRAPPER_VALUE_OPTS: Readonly<Record<string, ReadonlySet<string>>> = {
  sudo: new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U']),
  env: new Set(['-u', '-C', '-S']),
  nice: new Set(['-n']),
  ionice: new Set(['-c', '-n', '-p']),
  stdbuf: new Set(['-i', '-o', '-e']),
  timeout: new Set(['-s', '-k']),
  nsenter: new Set(['-t', '-S', '-G', '-r', '-w']),
  xargs: new Set(['-I', '-n', '-P', '-d', '-E', '-L', '-s', '-a']),
};
/** Wrappers whose first operand is not the command (`timeout 5 cat`, `chroot /host cat`). */
const WRAPPER_FIRST_OPERAND = new Set(['timeout', 'chroot']);
const MAX_DEPTH = 4;

interface Scope {
  cwd?: string;
  via: string[];
  depth: number;
  /** Set for `cmd < file`: the file is read by the shell and fed to `cmd`, named as the reader. */
  reader?: string;
}

const base = (p: string): string => posix.basename(p);

/** Every sensitive file the command reads, in argv order. Never throws on odd input. */
export function sensitiveReads(argv: readonly string[], opts: AnalyseOptions = {}): SensitiveRead[] {
  const out: SensitiveRead[] = [];
  analyseCommand(argv, { via: [], depth: 0 }, opts, out);
  return out;
}

function analyseCommand(argv: readonly string[], scope: Scope, opts: AnalyseOptions, out: SensitiveRead[]): void {
  if (argv.length === 0 || scope.depth > MAX_DEPTH) return;
  const prog = base(argv[0]!);
  const args = argv.slice(1);
  const push = (path: string, reader: string, recursive = false): void => {
    const resolved = path.startsWith('/') ? path : scope.cwd === undefined ? undefined : posix.join(scope.cwd, path);
    if (resolved === undefined) return;
    const copts: ClassifyOptions = { recursive };
    if (opts.hostMountPrefixes !== undefined) copts.hostMountPrefixes = opts.hostMountPrefixes;
    if (opts.minRecursiveDepth !== undefined) copts.minRecursiveDepth = opts.minRecursiveDepth;
    const m = classifyPath(resolved, copts);
    if (m !== undefined) out.push({ ...m, path, reader: scope.reader ?? reader, via: scope.via });
  };

  if (WRAPPERS.has(prog)) {
    const rest = unwrap(prog, args);
    if (prog === 'chroot' && args.length > 0) {
      // `chroot /host cat /etc/…` reads /host/etc/… : keep the new root as a prefix of what follows.
      const root = args.find((a) => !a.startsWith('-'));
      if (root !== undefined && rest.length > 0) {
        analyseCommand(rest.map((a, i) => (i > 0 && a.startsWith('/') ? posix.join(root, a) : a)), nested(scope, 'chroot'), opts, out);
        return;
      }
    }
    analyseCommand(rest, nested(scope, prog), opts, out);
    return;
  }
  if (SHELLS.has(prog)) {
    const script = scriptArg(args, ['-c']);
    if (script !== undefined) analyseScript(script, nested(scope, `${prog} -c`), opts, out);
    return;
  }
  if (INTERPRETERS.has(prog)) {
    const script = scriptArg(args, ['-c', '-e', '-E', '-r']);
    if (script === undefined) return;
    // Not shell: the script is searched for absolute paths it names.
    for (const m of script.matchAll(/\/[\w.~@+\-/*]+/g)) push(m[0], prog);
    return;
  }
  switch (prog) {
    case 'tar':
      tarReads(args, scope.cwd).forEach((p) => push(p, 'tar', true));
      return;
    case 'cp': {
      const recursive = args.some((a) => /^-[a-zA-Z]*[rRa]/.test(a) || a === '--recursive' || a === '--archive');
      const operands = args.filter((a) => !a.startsWith('-'));
      operands.slice(0, -1).forEach((p) => push(p, 'cp', recursive));
      return;
    }
    case 'dd':
      for (const a of args) if (a.startsWith('if=')) push(a.slice(3), 'dd');
      return;
    case 'find': {
      // `find <dir> … -exec cat {} ;` reads everything below <dir>.
      const execAt = args.findIndex((a) => a === '-exec' || a === '-execdir' || a === '-ok');
      const runs = execAt === -1 ? undefined : args[execAt + 1];
      if (runs === undefined || !(FILE_READERS.has(base(runs)) || base(runs) === 'cp' || base(runs) === 'tar')) return;
      for (const a of args.slice(0, execAt)) {
        if (a.startsWith('-')) break;
        push(a, base(runs), true);
      }
      return;
    }
  }
  if (!FILE_READERS.has(prog)) return;
  for (const a of args) {
    if (a.startsWith('-')) {
      const eq = a.indexOf('=');
      if (eq !== -1) push(a.slice(eq + 1).replace(/^@/, ''), prog);
      continue;
    }
    push(a.replace(/^@/, ''), prog, prog === 'zip' || prog === 'rsync' || prog === 'scp');
  }
}

function nested(scope: Scope, how: string): Scope {
  const s: Scope = { via: [...scope.via, how], depth: scope.depth + 1 };
  if (scope.cwd !== undefined) s.cwd = scope.cwd;
  return s;
}

/** The argv a wrapper runs: after its options, `VAR=x` assignments and (for some) one operand. */
function unwrap(prog: string, args: readonly string[]): string[] {
  const valueOpts = WRAPPER_VALUE_OPTS[prog];
  let i = 0;
  let skippedOperand = !WRAPPER_FIRST_OPERAND.has(prog);
  while (i < args.length) {
    const a = args[i]!;
    if (a === '--') return args.slice(i + 1);
    if (a.startsWith('-')) {
      i += valueOpts?.has(a) === true ? 2 : 1;
      continue;
    }
    if (prog === 'env' && /^\w+=/.test(a)) {
      i++;
      continue;
    }
    if (!skippedOperand) {
      skippedOperand = true;
      i++;
      continue;
    }
    break;
  }
  return args.slice(i);
}

/** The script after `-c` (also inside bundles such as `-ec`, `-lc`). */
function scriptArg(args: readonly string[], flags: readonly string[]): string | undefined {
  const letters = flags.map((f) => f.slice(1));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^-[a-zA-Z]+$/.test(a) && letters.includes(a.slice(-1))) return args[i + 1];
  }
  return undefined;
}

/** Paths `tar` archives when it creates an archive (`kubectl cp` out of a pod is `tar cf - <path>`). */
export function tarReads(args: readonly string[], cwd?: string): string[] {
  let create = false;
  let dir = cwd;
  const paths: string[] = [];
  const pending: string[] = [];
  const takesValue = (letter: string): boolean => 'fCTXbKNVLg'.includes(letter);
  args.forEach((a, i) => {
    if (pending.length > 0) {
      if (pending.shift() === 'C') dir = dir === undefined || a.startsWith('/') ? a : posix.join(dir, a);
      return;
    }
    if (a.startsWith('--')) {
      if (a === '--create') create = true;
      const m = /^--directory=(.*)$/.exec(a);
      if (m?.[1] !== undefined) dir = m[1];
      else if (a === '--directory' || a === '--file') pending.push(a === '--directory' ? 'C' : 'f');
      return;
    }
    const bundle = a.startsWith('-') ? a.slice(1) : i === 0 ? a : undefined;
    if (bundle !== undefined && /^[a-zA-Z]+$/.test(bundle)) {
      if (bundle.includes('c')) create = true;
      for (const l of bundle) if (takesValue(l)) pending.push(l);
      return;
    }
    if (a === '-') return;
    const resolved = a.startsWith('/') || dir === undefined ? a : posix.join(dir, a);
    paths.push(resolved);
  });
  return create ? paths : [];
}

type Token = string | { op: string } | { op: 'glob'; pattern: string } | { comment: string };

/** Splits a shell script into simple commands and analyses each; `cd` and `< file` are followed. */
function analyseScript(script: string, scope: Scope, opts: AnalyseOptions, out: SensitiveRead[]): void {
  let tokens: Token[];
  try {
    // Variables stay as written: the audit log cannot know their values.
    tokens = parseShell(script, (key: string) => `$${key}`);
  } catch {
    return;
  }
  let cwd = scope.cwd;
  let words: string[] = [];
  let redirect: string | undefined;
  const flush = (): void => {
    const s: Scope = { ...scope };
    if (cwd !== undefined) s.cwd = cwd;
    if (words[0] === 'cd') {
      const target = words[1];
      if (target !== undefined) cwd = target.startsWith('/') ? target : cwd === undefined ? undefined : posix.join(cwd, target);
    } else {
      analyseCommand(words, s, opts, out);
    }
    words = [];
  };
  for (const t of tokens) {
    if (typeof t === 'string') {
      const word = t.replace(/^`+|`+$/g, '');
      if (redirect === '<') {
        const s: Scope = { ...scope, reader: base(words[0] ?? 'sh') };
        if (cwd !== undefined) s.cwd = cwd;
        analyseCommand(['cat', word], s, opts, out);
      } else if (redirect === undefined) {
        if (t.startsWith('`') && words.length > 0) flush();
        words.push(word);
      }
      redirect = undefined;
      continue;
    }
    if ('comment' in t) continue;
    if (t.op === 'glob') {
      if (redirect === undefined) words.push((t as { pattern: string }).pattern);
      redirect = undefined;
      continue;
    }
    if (t.op === '<' || t.op === '>' || t.op === '>>' || t.op === '>&' || t.op === '<&' || t.op === '&>' || t.op === '>|' || t.op === '<>' || t.op === '&>>') {
      redirect = t.op === '<' || t.op === '<>' ? '<' : '>';
      continue;
    }
    flush();
  }
  flush();
}

/** True when any read exposes a private key (or a file or directory that embeds one). */
export function readsPrivateKey(reads: readonly SensitiveRead[]): boolean {
  return reads.some((r) => r.privateKey);
}
