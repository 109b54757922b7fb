import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CredwatchError, describeError } from '../../core/model/errors.js';
import type { AnyRule } from '../../core/model/rule.js';
import { SEVERITIES } from '../../core/model/severity.js';
import { readInputs } from '../../adapters/file/read.js';
import { RULES } from '../../rules/index.js';
import { demoInputs, findDemoDir } from './demo-data.js';
import { addLiveOptions, liveFlagsOf, type LiveOptionValues } from './live-options.js';
import { lazySourceFactories, type SourceFactories } from './live-sources.js';
import { packageVersion } from './package-info.js';
import { EXIT_OK, EXIT_USAGE, runScanCommand, type OutputFormat, type ScanRequest } from './scan-command.js';
import { parseDuration } from './scan-options.js';
import { FIRST_PAGE_TIMEOUT_MS } from './live-read.js';
import { terminalStyle } from './terminal.js';
import type { CliIo, InputReader } from './types.js';
// `watch` and the rule renderings (with the text-width libraries) load when their command runs,
// so that `scan` starts without them (docs/cli.md).
import type { WatchDeps } from './watch-command.js';

export type { CliIo } from './types.js';

/** Everything the CLI reaches outside itself; tests replace parts, `main.ts` uses the defaults. */
export interface CliDeps {
  rules?: readonly AnyRule[];
  now?: () => Date;
  sources?: SourceFactories;
  readInputs?: InputReader;
  demoDir?: string;
  /** `watch` waits with this between runs, and stops when `signal` aborts (Ctrl-C in main.ts). */
  sleep?: WatchDeps['sleep'];
  signal?: AbortSignal;
}

const SCAN_EXAMPLES = `
Examples:
  $ credwatch scan ./exports/                        files, folders, .gz, any mix of shapes
  $ credwatch scan audit.log --format jsonl --min-severity medium
  $ credwatch scan - < kube-apiserver-audit.log      read stdin
  $ credwatch scan audit.log --cluster prod-1 --fail-on high   exit 1 on a high or critical finding
  $ credwatch scan --eks prod-eks-1 --region us-west-2 --since 2h
  $ credwatch scan --eks prod-eks-1 --from 2026-03-02T09:00Z --to 2026-03-02T10:00Z
  $ credwatch scan --aks <workspace-id> --aks-cluster aks-prod-1 --since 2h
  $ credwatch scan --gke my-project --gke-cluster gke-prod-1 --since 30m
  $ credwatch scan --eks prod-eks-1 --runtime-sensor --since 1h   audit log plus Tracee/Falco output

Exit codes: 0 no finding at --fail-on or above, 1 such a finding exists, 2 usage error or an
input/source that could not be read (findings of the other sources are still printed).
Output: findings on stdout (a table, or one alert JSON per line); the summary on stderr.
Live windows select on ingestion time; endpoints can be overridden with CREDWATCH_EKS_ENDPOINT,
CREDWATCH_AKS_ENDPOINT and CREDWATCH_GKE_ENDPOINT.
`;

const ROOT_EXAMPLES = `
Examples:
  $ credwatch demo                      scan the built-in multi-cloud demo data
  $ credwatch scan ./exports/ --fail-on high
  $ credwatch rules                     list the detections
  $ credwatch explain secret-sweep      what a rule means and what to do about a finding
  $ credwatch scan --help               all scan options
`;

/** What commander parses: the request's own flags as they are, the window and colour as typed. */
interface ScanFlags extends LiveOptionValues, Pick<ScanRequest, 'format' | 'minSeverity' | 'rules' | 'cluster' | 'failOn' | 'config' | 'validate'> {
  since?: string;
  from?: string;
  to?: string;
  /** Commander's `--no-color`: false when given. */
  color: boolean;
  timeout?: string;
}

/** `--format table|jsonl` and `--no-color`, as the commands that print a table or JSON lines take them. */
function printing(command: Command, jsonl: string): Command {
  return command
    .addOption(new Option('--format <format>', `a table, or ${jsonl}`).choices(['table', 'jsonl']).default('table'))
    .option('--no-color', 'no colours');
}

function severityOption(flags: string, description: string): Option {
  return new Option(flags, description).choices([...SEVERITIES]);
}

const WATCH_EXAMPLES = `
Examples:
  $ credwatch watch --eks prod-eks-1 --region us-west-2 --every 5m --state ./credwatch-state.json
  $ credwatch watch --gke my-project --format jsonl >> alerts.jsonl
  $ credwatch watch --eks prod-eks-1 --from 2026-03-02T09:00Z --to 2026-03-02T10:00Z   replay a past hour run by run
  $ credwatch watch --aks <workspace-id> --aks-runtime --runtime-containers falco

Each run scans what the log service ingested since the previous run (the first run looks back
--lookback), and prints each alert once: the state file keeps checkpoints and sent alert ids, so a
restart neither re-alerts nor skips. Stop with Ctrl-C.
`;

function buildProgram(io: CliIo, deps: WatchDeps, demoDir: string | undefined, setCode: (c: number) => void): Command {
  const program = new Command('credwatch')
    .description('Find Kubernetes credential abuse (CSR abuse, Secret dumps, kubelet certificate theft) in EKS, AKS and GKE audit logs.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .version(packageVersion(), '-V, --version', 'print the version of credwatch')
    .addHelpText('after', ROOT_EXAMPLES);

  const scan = program
    .command('scan')
    .description('scan audit-log files or live cloud sources and print findings')
    .argument('[inputs...]', 'files, folders, .gz files, or - for stdin')
    .addOption(new Option('--format <format>', 'findings output: a table, or one alert JSON per line').choices(['table', 'jsonl']).default('table'))
    .addOption(severityOption('--min-severity <severity>', 'report findings at or above this severity').default('info'))
    .option('--rules <ids>', 'comma-separated rule ids to run (default: all; see `credwatch rules`)')
    .option('--cluster <name>', 'cluster name for records whose envelope does not carry one')
    .addOption(severityOption('--fail-on <severity>', 'exit 1 when a reported finding is at or above this severity'))
    .option('--config <file>', 'JSON config: per-rule options `rules: {<id>: {...}}` and extra identities')
    .option('--validate', 'parse every line of file input and report every malformed one (default: lines no enabled rule can use are counted unparsed)')
    .option('--no-color', 'no colours in the table (also when NO_COLOR is set; never coloured when piped)');
  addLiveOptions(scan)
    .option('--since <duration>', 'live window: this far back from now, e.g. 30m, 2h, 1d (default 1h)')
    .option('--from <iso>', 'live window start (ingestion time), e.g. 2026-03-02T09:00Z')
    .option('--to <iso>', 'live window end (default: now)')
    .option('--timeout <duration>', `how long a live source may take to return its first page before it is reported failed (default ${FIRST_PAGE_TIMEOUT_MS / 1000}s)`)
    .addHelpText('after', SCAN_EXAMPLES)
    .action(async (inputs: string[], flags: ScanFlags) => {
      const live = liveFlagsOf(flags);
      const window = {
        ...(flags.since === undefined ? {} : { since: flags.since }),
        ...(flags.from === undefined ? {} : { from: flags.from }),
        ...(flags.to === undefined ? {} : { to: flags.to }),
      };
      setCode(
        await runScanCommand(
          {
            inputs,
            format: flags.format,
            minSeverity: flags.minSeverity,
            ...(flags.rules === undefined ? {} : { rules: flags.rules }),
            ...(flags.cluster === undefined ? {} : { cluster: flags.cluster }),
            ...(flags.failOn === undefined ? {} : { failOn: flags.failOn }),
            ...(flags.config === undefined ? {} : { config: flags.config }),
            ...(flags.validate === true ? { validate: true } : {}),
            live,
            window,
            noColor: !flags.color,
            ...(flags.timeout === undefined ? {} : { timeoutMs: parseDuration('--timeout', flags.timeout) }),
          },
          io,
          deps,
        ),
      );
    });

  const watch = program
    .command('watch')
    .description('scan live sources every few minutes, alerting once per finding (like the scheduled functions)')
    // Files are read whole by `scan`; accepting them here only to ignore them would look like a watch on them.
    .argument('[files...]', 'not accepted: watch reads live sources only (use `credwatch scan FILE`)');
  addLiveOptions(watch)
    .option('--every <duration>', 'time between runs', '5m')
    .option('--lookback <duration>', 'how far the first run looks back', '6m')
    .option('--state <file>', 'state file: checkpoints and sent alert ids', './credwatch-state.json')
    .addOption(new Option('--format <format>', 'alerts as lines, or one alert JSON per line').choices(['table', 'jsonl']).default('table'))
    .addOption(severityOption('--min-severity <severity>', 'alert on findings at or above this severity').default('medium'))
    .option('--rules <ids>', 'comma-separated rule ids to run (default: all)')
    .option('--config <file>', 'JSON config: per-rule options and extra identities')
    .option('--no-color', 'no colours (also when NO_COLOR is set; never coloured when piped)')
    .option('--timeout <duration>', `how long a live source may take to return its first page (default ${FIRST_PAGE_TIMEOUT_MS / 1000}s)`)
    .option('--runs <n>', 'stop after this many runs (default: until interrupted)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
      return n;
    })
    .option('--from <iso>', 'replay: run the scheduled scans over a past period, from this time, without sleeping')
    .option('--to <iso>', 'replay: end of the past period (with --from)')
    .addHelpText('after', WATCH_EXAMPLES)
    .action(async (files: string[], flags: ScanFlags & { every: string; lookback: string; state: string; runs?: number }) => {
      if (files.length > 0) {
        io.stderr.write(`credwatch: watch reads live sources (--eks, --aks, --gke), not files; to scan ${files.join(' ')}, use scan: credwatch scan ${files.join(' ')}\n`);
        setCode(EXIT_USAGE);
        return;
      }
      const live = liveFlagsOf(flags);
      setCode(
        await (await import('./watch-command.js')).runWatch(
          {
            live,
            every: flags.every,
            lookback: flags.lookback,
            state: flags.state,
            format: flags.format,
            minSeverity: flags.minSeverity,
            ...(flags.rules === undefined ? {} : { rules: flags.rules }),
            ...(flags.config === undefined ? {} : { config: flags.config }),
            ...(flags.runs === undefined ? {} : { runs: flags.runs }),
            noColor: !flags.color,
            ...(flags.timeout === undefined ? {} : { timeoutMs: parseDuration('--timeout', flags.timeout) }),
            ...(flags.from === undefined ? {} : { from: flags.from }),
            ...(flags.to === undefined ? {} : { to: flags.to }),
            stateGiven: watch.getOptionValueSource('state') !== 'default',
          },
          io,
          deps,
        ),
      );
    });

  const rules = program
    .command('rules')
    .description('list the detection rules: id, severity, title, MITRE ATT&CK, cloud coverage');
  printing(rules, 'one JSON object per rule').action(async (flags: { format: OutputFormat; color: boolean }) => {
      const { ruleJson, rulesTable } = await import('./render.js');
      if (flags.format === 'jsonl') for (const r of deps.rules) io.stdout.write(JSON.stringify(ruleJson(r)) + '\n');
      else io.stdout.write(rulesTable(deps.rules, terminalStyle(io.stdout as { isTTY?: boolean; columns?: number }, io.env, !flags.color)));
      setCode(EXIT_OK);
    });

  program
    .command('explain')
    .description('what a rule detects, why it matters, its false positives, the runbook and references')
    .argument('<rule>', 'a rule id (see `credwatch rules`)')
    .option('--no-color', 'no colours')
    .action(async (id: string, flags: { color: boolean }) => {
      const rule = deps.rules.find((r) => r.id === id);
      if (rule === undefined) {
        const near = deps.rules.filter((r) => r.id.includes(id) || id.includes(r.id) || r.id.split('-').some((w) => w.length > 3 && id.includes(w)));
        const hint = near.length > 0 ? ` Did you mean ${near.map((r) => r.id).join(', ')}?` : '';
        io.stderr.write(`credwatch: no rule has the id "${id}".${hint} Run \`credwatch rules\` to list them.\n`);
        setCode(EXIT_USAGE);
        return;
      }
      io.stdout.write((await import('./render.js')).explainRule(rule, terminalStyle(io.stdout as { isTTY?: boolean; columns?: number }, io.env, !flags.color)));
      setCode(EXIT_OK);
    });

  const demo = program
    .command('demo')
    .description('scan the built-in multi-cloud demo data (three clusters, benign traffic and attacks)');
  printing(demo, 'one alert JSON per line').action(async (flags: { format: OutputFormat; color: boolean }) => {
      if (demoDir === undefined) {
        io.stderr.write('credwatch: the demo data folder (demo/) was not found next to this installation.\n');
        setCode(EXIT_USAGE);
        return;
      }
      const code = await runScanCommand(
        { inputs: demoInputs(demoDir), format: flags.format, minSeverity: 'info', live: {}, window: {}, noColor: !flags.color },
        io,
        deps,
      );
      setCode(code);
    });

  return program;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}

/** Runs the CLI in-process and returns the exit code; `main.ts` wires it to the real process. */
export async function runCli(argv: string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  const scanDeps: WatchDeps = {
    rules: deps.rules ?? RULES,
    now: deps.now ?? (() => new Date()),
    sources: deps.sources ?? lazySourceFactories,
    readInputs: deps.readInputs ?? readInputs,
    sleep: deps.sleep ?? sleepUnlessAborted,
    signal: deps.signal ?? new AbortController().signal,
  };
  let code = EXIT_OK;
  const program = buildProgram(io, scanDeps, deps.demoDir ?? findDemoDir(), (c) => {
    code = c;
  });
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof CredwatchError) {
      io.stderr.write(`credwatch: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // Exit 1 means "findings"; a crash must not look like one, nor like a clean scan.
    io.stderr.write(`credwatch: internal error: ${describeError(err)}\n`);
    return EXIT_USAGE;
  }
  return code;
}
