import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import { claimDecision, type AlertRecord, type Checkpoint, type ClaimResult, type LeaseRecord, type StateStore } from './store.js';

interface FileState {
  version: 1;
  checkpoints: Record<string, Checkpoint>;
  leases: Record<string, LeaseRecord>;
  alerts: Record<string, AlertRecord>;
}

// Null-prototype maps: keys come from sources and files and must never reach Object.prototype.
const dict = <T>(from?: Record<string, T>): Record<string, T> => Object.assign(Object.create(null) as Record<string, T>, from);
const empty = (): FileState => ({ version: 1, checkpoints: dict(), leases: dict(), alerts: dict() });

/** A lock older than this belongs to a process that died while holding it. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/**
 * The CLI's state: one JSON file. Every change is a read-modify-write under an exclusive lock
 * file (so two `credwatch watch` processes sharing a file stay correct), written to a temporary
 * file, flushed, and renamed over the old one, so a process killed mid-write leaves either the
 * old or the new state, never a torn file.
 */
export class FileStateStore implements StateStore {
  readonly kind = 'file';

  constructor(readonly path: string) {}

  async readCheckpoint(source: string): Promise<Checkpoint | undefined> {
    return (await this.load()).checkpoints[source];
  }

  async writeCheckpoint(source: string, checkpoint: Checkpoint): Promise<void> {
    await this.update((s) => {
      s.checkpoints[source] = checkpoint;
    });
  }

  async acquireLease(source: string, owner: string, now: Date, ttlMs: number): Promise<boolean> {
    return this.update((s) => {
      const lease = s.leases[source];
      if (lease !== undefined && lease.owner !== owner && lease.expiresAt > now.getTime()) return false;
      s.leases[source] = { owner, expiresAt: now.getTime() + ttlMs };
      return true;
    });
  }

  async releaseLease(source: string, owner: string): Promise<void> {
    await this.update((s) => {
      if (s.leases[source]?.owner === owner) delete s.leases[source];
    });
  }

  async claimAlert(key: string, owner: string, now: Date, claimTtlMs: number): Promise<ClaimResult> {
    return this.update((s) => {
      const decision = claimDecision(s.alerts[key], now);
      if (decision === 'claimed') s.alerts[key] = { state: 'claimed', owner, expiresAt: now.getTime() + claimTtlMs };
      return decision;
    });
  }

  async completeAlert(key: string, owner: string, now: Date, retentionMs: number): Promise<void> {
    await this.update((s) => {
      s.alerts[key] = { state: 'sent', owner, expiresAt: now.getTime() + retentionMs };
      // Forget what has expired, so the file stays as small as the retention window.
      for (const [k, rec] of Object.entries(s.alerts)) if (rec.expiresAt <= now.getTime()) delete s.alerts[k];
    });
  }

  async abandonAlert(key: string, owner: string): Promise<void> {
    await this.update((s) => {
      const rec = s.alerts[key];
      if (rec?.state === 'claimed' && rec.owner === owner) delete s.alerts[key];
    });
  }

  private async load(): Promise<FileState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty();
      throw new StateError('state-unreadable', `Cannot read the state file ${this.path}: check its permissions.`, { cause: err });
    }
    try {
      const parsed = JSON.parse(text) as Partial<FileState>;
      if (parsed.version !== 1) throw new Error(`unknown version ${String(parsed.version)}`);
      return { version: 1, checkpoints: dict(parsed.checkpoints), leases: dict(parsed.leases), alerts: dict(parsed.alerts) };
    } catch (err) {
      throw new StateError(
        'state-corrupt',
        `The state file ${this.path} is not a credwatch state file (${(err as Error).message}). Move it away to start fresh; the next scan then looks back the first-run lookback only.`,
        { cause: err },
      );
    }
  }

  private async update<T>(change: (s: FileState) => T): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true });
    const release = await this.lock();
    try {
      const state = await this.load();
      const result = change(state);
      await this.write(state);
      return result;
    } finally {
      await release();
    }
  }

  private async write(state: FileState): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
  }

  private async lock(): Promise<() => Promise<void>> {
    const lockPath = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.close();
        return () => rm(lockPath, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StateError('state-lock-failed', `Cannot create the lock file ${lockPath}.`, { cause: err });
        }
        const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_LOCK_MS) {
          await rm(lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new StateError('state-locked', `The state file ${this.path} stayed locked for ${LOCK_WAIT_MS / 1000}s by another credwatch process; if none is running, delete ${lockPath}.`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
