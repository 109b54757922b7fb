import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type * as WholeProcess from '../../bench/whole-process.js';

/**
 * The whole-process bench reads each timed process's peak RSS from a report the process writes at
 * exit (bench/usage-report.cts, preloaded from dist/bench, which `npm test` builds first). On Linux
 * getrusage's maxRSS is carried across exec, so a child forked from a large parent would report
 * the parent's memory as its own.
 */
const DIST_BENCH = join(import.meta.dirname, '..', '..', 'dist', 'bench');
const REPORT = join(DIST_BENCH, 'usage-report.cjs');
const dir = mkdtempSync(join(tmpdir(), 'credwatch-usage-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(REPORT))('the bench usage report', () => {
  it('reports the peak RSS of the timed process, not of the process that started it', async () => {
    // This process holds 300 MB more than a bare `node -e` will ever use.
    const ballast = Buffer.alloc(300 * 1024 * 1024, 1);
    // The built bench, as `npm run bench` runs it: it finds the report beside itself.
    const { runNode } = (await import(join(DIST_BENCH, 'whole-process.js'))) as typeof WholeProcess;
    const r = await runNode(['-e', 'globalThis.kept = Buffer.alloc(16 * 1024 * 1024, 1)'], dir);
    expect(ballast[ballast.length - 1]).toBe(1);
    expect(r.exitCode).toBe(0);
    // Node alone is 40-60 MB; with the parent's pages counted it would be 300 and more.
    expect(r.maxRssMb).toBeGreaterThan(20);
    expect(r.maxRssMb).toBeLessThan(150);
    expect(r.cpuMs).toBeGreaterThan(0);
  });
});
