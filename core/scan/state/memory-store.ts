import { claimDecision, invalidLease, type AlertRecord, type Checkpoint, type CheckpointExpectation, type ClaimResult, type LeaseRecord, type StateStore } from './store.js';

/** In-process state: a one-shot CLI scan, and the reference the other stores are tested against. */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory';
  readonly checkpoints = new Map<string, Checkpoint>();
  readonly leases = new Map<string, LeaseRecord>();
  readonly alerts = new Map<string, AlertRecord>();

  async readCheckpoint(source: string): Promise<Checkpoint | undefined> {
    return this.checkpoints.get(source);
  }

  async writeCheckpoint(source: string, checkpoint: Checkpoint, expected?: CheckpointExpectation): Promise<boolean> {
    if (expected !== undefined && this.checkpoints.get(source)?.seq !== expected.seq) return false;
    this.checkpoints.set(source, checkpoint);
    return true;
  }

  async acquireLease(source: string, owner: string, now: Date, ttlMs: number, onInvalid?: (why: string) => void): Promise<boolean> {
    const lease = this.leases.get(source);
    const invalid = lease === undefined ? undefined : invalidLease(lease.expiresAt, now);
    if (invalid !== undefined) onInvalid?.(`the lease on ${source} held by ${lease!.owner} was taken over: ${invalid}`);
    else if (lease !== undefined && lease.owner !== owner && lease.expiresAt > now.getTime()) return false;
    this.leases.set(source, { owner, expiresAt: now.getTime() + ttlMs });
    return true;
  }

  async releaseLease(source: string, owner: string): Promise<void> {
    if (this.leases.get(source)?.owner === owner) this.leases.delete(source);
  }

  async claimAlert(key: string, owner: string, now: Date, claimTtlMs: number): Promise<ClaimResult> {
    const decision = claimDecision(this.alerts.get(key), now);
    if (decision === 'claimed') this.alerts.set(key, { state: 'claimed', owner, expiresAt: now.getTime() + claimTtlMs });
    return decision;
  }

  async completeAlert(key: string, owner: string, now: Date, retentionMs: number): Promise<void> {
    this.alerts.set(key, { state: 'sent', owner, expiresAt: now.getTime() + retentionMs });
  }

  async abandonAlert(key: string, owner: string): Promise<void> {
    const rec = this.alerts.get(key);
    if (rec?.state === 'claimed' && rec.owner === owner) this.alerts.delete(key);
  }
}
