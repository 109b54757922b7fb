import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../../core/model/errors.js';
import { FileStateStore } from '../../../core/scan/state/file-store.js';
import { MemoryStateStore } from '../../../core/scan/state/memory-store.js';
import { stateStoreContract } from '../../helpers/state-store-contract.js';

stateStoreContract('memory', async () => new MemoryStateStore());

const tmpFile = async () => join(await mkdtemp(join(tmpdir(), 'credwatch-state-')), 'state.json');
stateStoreContract('file', async () => new FileStateStore(await tmpFile()));

describe('file state store', () => {
  it('survives a torn temporary file from a process killed mid-write', async () => {
    const path = await tmpFile();
    const s = new FileStateStore(path);
    await s.writeCheckpoint('eks:a', { to: '2026-03-02T09:00:00.000Z', updatedAt: 'x' });
    await writeFile(`${path}.999.tmp`, '{"version":1,"checkp'); // what a kill leaves behind
    expect((await new FileStateStore(path).readCheckpoint('eks:a'))?.to).toBe('2026-03-02T09:00:00.000Z');
    expect(JSON.parse(await readFile(path, 'utf8')).version).toBe(1);
  });

  it('refuses a file that is not its own, saying how to recover', async () => {
    const path = await tmpFile();
    await writeFile(path, 'not json');
    const err = await new FileStateStore(path).readCheckpoint('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as StateError).code).toBe('state-corrupt');
    expect((err as Error).message).toContain('Move it away');
  });

  it('keeps keys such as __proto__ as plain data', async () => {
    const path = await tmpFile();
    const s = new FileStateStore(path);
    await s.writeCheckpoint('__proto__', { to: '2026-03-02T09:00:00.000Z', updatedAt: 'x' });
    expect((await new FileStateStore(path).readCheckpoint('__proto__'))?.to).toBe('2026-03-02T09:00:00.000Z');
    expect(({} as Record<string, unknown>)['to']).toBeUndefined();
  });

  /** The pid of a process that has exited (a run killed with -9 leaves exactly this behind). */
  const deadPid = (): number => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    return Number(child.stdout.toString());
  };

  it('takes over at once a lock file left by a process that is gone, instead of failing after 10 s', async () => {
    const path = await tmpFile();
    const s = new FileStateStore(path);
    await s.writeCheckpoint('eks:a', { to: '2026-03-02T09:00:00.000Z', updatedAt: 'x' });
    await writeFile(`${path}.lock`, JSON.stringify({ pid: deadPid(), host: hostname() }));
    const started = Date.now();
    await s.writeCheckpoint('eks:a', { to: '2026-03-02T09:05:00.000Z', updatedAt: 'x' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await s.readCheckpoint('eks:a'))?.to).toBe('2026-03-02T09:05:00.000Z');
  });

  it('still waits for a lock held by a live process', async () => {
    const path = await tmpFile();
    const s = new FileStateStore(path);
    await writeFile(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname() }));
    const err = await Promise.race([
      s.writeCheckpoint('eks:a', { to: '2026-03-02T09:05:00.000Z', updatedAt: 'x' }).then(() => 'written', (e: unknown) => e),
      new Promise((r) => setTimeout(() => r('waiting'), 500)),
    ]);
    expect(err).toBe('waiting');
  });

  it('takes over the lease of a watch process that is gone', async () => {
    const path = await tmpFile();
    const s = new FileStateStore(path);
    const now = new Date('2026-03-02T09:00:00Z');
    await writeFile(path, JSON.stringify({ version: 1, checkpoints: {}, alerts: {}, leases: { 'eks:a': { owner: 'killed-run', expiresAt: now.getTime() + 300_000, pid: deadPid(), host: hostname() } } }));
    const why: string[] = [];
    expect(await s.acquireLease('eks:a', 'next-run', new Date(now.getTime() + 1_000), 300_000, (w) => why.push(w))).toBe(true);
    expect(why[0]).toMatch(/was held by process \d+, which is gone: taken over/);
    // One held by this (live) process is honoured until it expires.
    expect(await s.acquireLease('eks:a', 'third-run', new Date(now.getTime() + 2_000), 300_000)).toBe(false);
  });

  it('names the file and source of a garbage checkpoint', async () => {
    const path = await tmpFile();
    await writeFile(path, JSON.stringify({ version: 1, checkpoints: { 'eks:a': { to: 'garbage', updatedAt: 'x' } }, leases: {}, alerts: {} }));
    const err = await new FileStateStore(path).readCheckpoint('eks:a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toContain(`The state file ${path} (checkpoints["eks:a"]) holds the checkpoint "garbage", which is not an ISO-8601 time`);
  });
});
