import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `npm run demo | jq` must see only findings: what the install and build steps of
 * scripts/ensure-ready.mjs print goes to stderr. The script runs here in a scratch copy of the
 * repository layout with stand-ins for npm and npx on PATH that print to stdout, as npm does.
 */
describe('scripts/ensure-ready.mjs', () => {
  it('sends npm, tsc and bundler output to stderr, never stdout', () => {
    const root = mkdtempSync(join(tmpdir(), 'credwatch-ready-'));
    mkdirSync(join(root, 'scripts'));
    copyFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'ensure-ready.mjs'), join(root, 'scripts', 'ensure-ready.mjs'));
    // The bundling step stands in too, printing to stdout as a build tool may.
    writeFileSync(join(root, 'scripts', 'bundle-cli.mjs'), "console.log('bundled the CLI');\n");
    writeFileSync(join(root, 'package-lock.json'), '{}');
    mkdirSync(join(root, 'core'));
    writeFileSync(join(root, 'core', 'x.ts'), 'export {};\n');
    const bin = join(root, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const [name, text] of [
      ['npm', 'added 612 packages in 9s'],
      ['npx', 'tsc: compiled'],
    ]) {
      const path = join(bin, name!);
      // npx stands in for tsc: it must also leave the dist folder the stamp is written into.
      writeFileSync(path, `#!/bin/sh\necho "${text}"\n/bin/mkdir -p "${root}/dist"\n`);
      chmodSync(path, 0o755);
    }
    const r = spawnSync(join(bin, 'node'), [join(root, 'scripts', 'ensure-ready.mjs')], { env: { PATH: bin }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('added 612 packages in 9s');
    expect(r.stderr).toContain('tsc: compiled');
    expect(r.stderr).toContain('bundled the CLI');
  });
});
