/**
 * docs/architecture.md is the map a newcomer reads to find a behaviour: every path it names must
 * exist, and every folder of shipped code must be on it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(REPO, 'docs', 'architecture.md'), 'utf8');

/** Backticked repository paths, with `<cloud>` standing for each cloud. */
function namedPaths(): string[] {
  const out = new Set<string>();
  for (const [, p] of doc.matchAll(/`((?:core|adapters|rules|examples|functions|infra|test|bench|scripts)\/[^`\s]*)`/g)) {
    for (const cloud of p!.includes('<cloud>') ? ['eks', 'aks', 'gke'] : ['']) out.add(p!.replace('<cloud>', cloud).replace(/\/$/, ''));
  }
  return [...out];
}

describe('docs/architecture.md', () => {
  it('names only paths that exist', () => {
    const paths = namedPaths();
    expect(paths.length).toBeGreaterThan(40);
    const missing = paths.filter((p) => !p.includes('<') && !existsSync(join(REPO, p)));
    expect(missing).toEqual([]);
  });

  it('names every folder of shipped code', () => {
    const folders = ['core', 'adapters'].flatMap((top) =>
      readdirSync(join(REPO, top))
        .filter((d) => statSync(join(REPO, top, d)).isDirectory())
        .map((d) => `${top}/${d}/`),
    );
    const unnamed = folders.filter((f) => !doc.includes(`\`${f}`) && !doc.includes(`\`${f.slice(0, -1)}\``) && !(f.startsWith('adapters/') && doc.includes(`\`${f.split('/')[1]}/\``)));
    expect(unnamed).toEqual([]);
  });
});
