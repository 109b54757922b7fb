#!/usr/bin/env node
import { runCli } from './run-cli.js';

// Ctrl-C ends `watch` after the run in progress, so its state file is never left half-written;
// every other command keeps Node's default (exit at once).
const stop = new AbortController();
if (process.argv[2] === 'watch') {
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
}

process.exitCode = await runCli(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, isTTY: process.stderr.isTTY === true },
  { signal: stop.signal },
);
