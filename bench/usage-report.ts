import { writeFileSync } from 'node:fs';

/**
 * Preloaded (`node --import`) into a process the benchmark times as a whole: at exit it writes the
 * process's peak RSS and CPU time to the file named by CREDWATCH_BENCH_USAGE, so the figure is the
 * real command's, start-up included.
 */
const out = process.env['CREDWATCH_BENCH_USAGE'];
if (out !== undefined) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ maxRssMb: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
