// Makes `npm run demo`, `npm test` and `npm run bench` work on a fresh clone: installs the locked
// dependencies when node_modules is missing or older than the lock file, then builds when any
// source file is newer than the last build.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Everything npm and tsc print goes to stderr: `npm run demo | jq` must see only findings on stdout.
const run = (cmd) => execSync(cmd, { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

const installMarker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installMarker) || mtime(join(root, 'package-lock.json')) > mtime(installMarker)) {
  console.error('credwatch: installing dependencies (npm ci)…');
  run('npm ci --no-audit --no-fund');
}

function newest(dir) {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(p));
    // The build's own scripts (scripts/bundle-cli.mjs) count: a changed bundling rebuilds.
    else if (/\.([cm]?ts|mjs)$/.test(entry.name)) latest = Math.max(latest, statSync(p).mtimeMs);
  }
  return latest;
}
const sources = Math.max(
  ...['core', 'rules', 'adapters', 'examples', 'functions', 'bench', 'scripts'].map((d) => newest(join(root, d))),
  mtime(join(root, 'tsconfig.json')),
  mtime(join(root, 'tsconfig.build.json')),
);
const built = mtime(join(root, 'dist', '.build-stamp'));
if (sources > built) {
  console.error('credwatch: building (tsc)…');
  run('npx tsc -p tsconfig.build.json');
  run('node scripts/bundle-cli.mjs');
  run('node -e "require(\'node:fs\').writeFileSync(\'dist/.build-stamp\', String(Date.now()))"');
}
