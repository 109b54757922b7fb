import { prestartForArgs } from './prestart.js';

// The whole CLI is one function rather than top-level awaits: the bin is a CommonJS bundle of it
// (scripts/bundle-cli.mjs), which V8 can compile from a cache, and CommonJS has no top-level await.
async function main(): Promise<void> {
  // Started before the rest of the CLI is loaded (below), so that the two overlap.
  prestartForArgs(process.argv.slice(2));
  const { runCli } = await import('./run-cli.js');

  // The AWS SDK warns on every run under Node 20 that later releases will need Node 22; credwatch
  // supports Node 20 (package.json engines) and says so itself. A user's own setting wins.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

  // Other warnings from dependencies: one line on stderr, never a block among the output.
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    process.stderr.write(`credwatch: warning from a dependency: ${w.name}: ${(w.message.split('\n')[0] ?? '').trim()}\n`);
  });

  // `credwatch rules --format jsonl | head -1`: the reader is gone, so stop quietly, like cat does.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });

  // A cloud SDK may reject a promise nobody awaits: the Google client does, when it sets up its
  // stub without credentials. Unhandled, that ends the process with a stack trace and exit 1,
  // which means "findings".
  let background = false;
  process.on('unhandledRejection', (reason) => {
    background = true;
    const text = reason instanceof Error ? reason.message : String(reason);
    process.stderr.write(`credwatch: a cloud SDK failed outside the request it was serving: ${(text.split('\n')[0] ?? '').trim()}\n`);
  });

  // Ctrl-C ends `watch` after the run in progress, so its state file is never left half-written;
  // every other command keeps Node's default (exit at once).
  const stop = new AbortController();
  if (process.argv[2] === 'watch') {
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
  }

  let code = await runCli(
    process.argv.slice(2),
    { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, isTTY: process.stderr.isTTY === true },
    { signal: stop.signal },
  );
  if (background && code === 0) code = 2;

  // Exit once the output is written rather than when the event loop drains: SDKs leave timers and
  // sockets behind after a failed request (the Azure pipeline keeps a request's timeout timer, up to
  // 210 s, when the connection fails), and a finished scan must not wait for them.
  const flushed = (s: NodeJS.WriteStream): Promise<void> => new Promise((done) => (s.writableLength === 0 ? done() : s.write('', () => done())));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

main().catch((err: unknown) => {
  // A fault of credwatch itself (every failure of an input or source is reported by runCli): shown
  // as Node shows an uncaught error, with its stack, and the exit code of a usage or input failure.
  process.stderr.write(`credwatch: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
