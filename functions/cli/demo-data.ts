import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the built-in demo data lives: `demo/` at the package root, found by walking up from this
 * module, which runs both from source (`functions/cli/`) and from the build (`dist/functions/cli/`).
 */
export function findDemoDir(start: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'demo'))) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'credwatch') return join(dir, 'demo');
      } catch {
        // not our package.json; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Record files of the demo (README and other notes excluded), in name order. */
export function demoInputs(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(jsonl?|json\.gz|jsonl\.gz)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}
