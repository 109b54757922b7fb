// A CommonJS file's import (verbatimModuleSyntax allows no ES import in one).
// eslint-disable-next-line @typescript-eslint/no-require-imports
import fs = require('node:fs');

/**
 * Preloaded (`node --require`) into a process the benchmark times as a whole: at exit it writes the
 * process's peak RSS and CPU time to the file named by CREDWATCH_BENCH_USAGE, so the figure is the
 * real command's, start-up included. CommonJS, so that preloading it costs the process next to
 * nothing: an ES module preloaded with `--import` starts Node's ES module loader first, 5–8 ms of a
 * one-line scan that a user's run does not spend.
 */
const out = process.env['CREDWATCH_BENCH_USAGE'];

/**
 * Peak RSS of this process alone, in MB. Linux's maxRSS (getrusage) is carried across exec: a child
 * forked from a parent of 100 MB reports at least 100 MB however little it used itself (a one-line
 * scan started by the bench read 98 MB, by a shell 58). VmHWM is the peak of this process's own
 * memory since exec; elsewhere maxRSS is what there is.
 */
function peakRssMb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (hwm !== null) return Number(hwm[1]) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}

if (out !== undefined) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    fs.writeFileSync(out, JSON.stringify({ maxRssMb: peakRssMb(), cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}

// For the in-process measurements (bench/measure.ts), which fork their children.
export = { peakRssMb };
