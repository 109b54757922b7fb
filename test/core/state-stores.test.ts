import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../core/errors.js';
import { FileStateStore } from '../../core/state/file-store.js';
import { MemoryStateStore } from '../../core/state/memory-store.js';
import { stateStoreContract } from '../helpers/state-store-contract.js';

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
});
