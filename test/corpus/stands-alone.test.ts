import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * A user's clone has nothing beside it: no file of the repository may name the team notebook the
 * corpus was collected in. `functions/shared/` is the repository's own folder and is fine.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', '.git', 'cdk.out', 'coverage']);
const OUTSIDE = /\/work\/(?:shared|main|wt-)|(?<![\w-])shared\/(?:corpus|seeds|research|DESIGN\.md|STYLE\.md)/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (SKIP.has(d.name) || d.isSymbolicLink()) return [];
    const p = path.join(dir, d.name);
    return d.isDirectory() ? files(p) : /\.(ts|mjs|js|json|md|ya?ml|tf|sh)$|^run$/.test(d.name) ? [p] : [];
  });
}

describe('the repository stands alone', () => {
  it('names no file outside it', () => {
    const offenders = files(ROOT).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (OUTSIDE.test(line) && !f.endsWith('stands-alone.test.ts') ? [`${path.relative(ROOT, f)}:${i + 1}: ${line.trim().slice(0, 120)}`] : [])),
    );
    expect(offenders).toEqual([]);
  });
});
