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
if (out !== undefined) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    fs.writeFileSync(out, JSON.stringify({ maxRssMb: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
