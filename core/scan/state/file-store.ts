import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { StateError } from '../../model/errors.js';
import {
  claimDecision,
  invalidLease,
  validCheckpointTime,
  type AlertRecord,
  type Checkpoint,
  type CheckpointExpectation,
  type ClaimResult,
  type LeaseRecord,
  type StateStore,
} from './store.js';

/** A checkpoint as the file keeps it: the correlation blob in base64. */
type StoredCheckpoint = Omit<Checkpoint, 'correlation'> & { correlation?: string };

interface FileState {
  version: 1;
  checkpoints: Record<string, StoredCheckpoint>;
  leases: Record<string, LeaseRecord>;
  alerts: Record<string, AlertRecord>;
}

// Null-prototype maps: keys come from sources and files and must never reach Object.prototype.
const dict = <T>(from?: Record<string, T>): Record<string, T> => Object.assign(Object.create(null) as Record<string, T>, from);
const empty = (): FileState => ({ version: 1, checkpoints: dict(), leases: dict(), alerts: dict() });

/** A lock older than this belongs to a process that died while holding it (when its pid cannot tell). */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

const HOST = hostname();

/** False only when `pid` is certainly not a running process on this host (ESRCH); EPERM means it runs. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A lease or lock written by a process of this host that no longer runs. */
const holderGone = (pid: number | undefined, host: string | undefined): boolean => pid !== undefined && host === HOST && !processAlive(pid);

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
    const stored = (await this.load()).checkpoints[source];
    if (stored === undefined) return undefined;
    const where = `The state file ${this.path} (checkpoints[${JSON.stringify(source)}])`;
    const { correlation, ...rest } = stored;
    const cp: Checkpoint = { ...rest, to: validCheckpointTime(stored.to, where) };
    if (typeof correlation === 'string') cp.correlation = new Uint8Array(Buffer.from(correlation, 'base64'));
    return cp;
  }

  async writeCheckpoint(source: string, checkpoint: Checkpoint, expected?: CheckpointExpectation): Promise<boolean> {
    return this.update((s) => {
      if (expected !== undefined && s.checkpoints[source]?.seq !== expected.seq) return false;
      const { correlation, ...rest } = checkpoint;
      s.checkpoints[source] = correlation === undefined ? rest : { ...rest, correlation: Buffer.from(correlation).toString('base64') };
      return true;
    });
  }

  async acquireLease(source: string, owner: string, now: Date, ttlMs: number, onInvalid?: (why: string) => void): Promise<boolean> {
    return this.update((s) => {
      const lease = s.leases[source];
      if (lease !== undefined && lease.owner !== owner) {
        const invalid = invalidLease(lease.expiresAt, now);
        const gone = holderGone(lease.pid, lease.host);
        if (invalid !== undefined) onInvalid?.(`the lease on ${source} in ${this.path} held by ${lease.owner} was taken over: ${invalid}`);
        else if (gone) onInvalid?.(`the lease on ${source} in ${this.path} was held by process ${lease.pid}, which is gone: taken over`);
        else if (lease.expiresAt > now.getTime()) return false;
      }
      s.leases[source] = { owner, expiresAt: now.getTime() + ttlMs, pid: process.pid, host: HOST };
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
        try {
          // Who holds it: a later process that finds this lock can tell a dead holder at once.
          await handle.writeFile(JSON.stringify({ pid: process.pid, host: HOST }));
        } finally {
          await handle.close();
        }
        return () => rm(lockPath, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StateError('state-lock-failed', `Cannot create the lock file ${lockPath}.`, { cause: err });
        }
        const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_LOCK_MS || (await lockHolderGone(lockPath, age))) {
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

/**
 * The lock's holder is a process of this host that is gone (killed during a state write). A lock
 * whose content cannot be read yet is being written: only an old one is judged by its age.
 */
async function lockHolderGone(lockPath: string, ageMs: number): Promise<boolean> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === undefined || text === '') return ageMs > 1_000;
  try {
    const holder = JSON.parse(text) as { pid?: unknown; host?: unknown };
    return typeof holder.pid === 'number' && typeof holder.host === 'string' && holderGone(holder.pid, holder.host);
  } catch {
    return ageMs > 1_000;
  }
}
