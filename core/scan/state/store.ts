import { StateError } from '../../model/errors.js';

/**
 * What a scheduled scan remembers between runs (docs/architecture.md "Scheduled scans"): one checkpoint per source,
 * one lease per source (so overlapping invocations do not scan the same source at once), and one
 * record per alert key (so overlap, retries and concurrent runs never send an alert twice).
 *
 * Correctness rests on create-once writes (conditional puts), never on TTL expiry: TTL only
 * cleans up (dynalite, for one, never expires items).
 */
export interface Checkpoint {
  /** End of the last fully processed window on the ingestion-time axis (ISO-8601). */
  to: string;
  /** When it was written, for operators. */
  updatedAt: string;
  runId?: string;
  /**
   * Bumped by every commit. A commit names the sequence it read (`expected`), so a run whose
   * lease expired under it, or a concurrent run, cannot overwrite a newer checkpoint and fork
   * the correlation state kept with it.
   */
  seq?: number;
  /**
   * What the rules carry to the next run (core/engine/carried-events.ts): an opaque, versioned,
   * compressed blob saved in the same write as the checkpoint, bounded in bytes by its producer.
   */
  correlation?: Uint8Array;
}

/** The sequence a conditional checkpoint write expects to replace (undefined: no checkpoint yet). */
export interface CheckpointExpectation {
  seq: number | undefined;
}

/** A lease is never held longer than this: a stored expiry beyond it is invalid (a bad clock or a hand edit). */
export const MAX_LEASE_MS = 60 * 60_000;

/** Why a stored lease is not honoured, or undefined when it is a valid lease. */
export function invalidLease(until: unknown, now: Date): string | undefined {
  if (typeof until !== 'number' || !Number.isFinite(until)) return `its expiry ${JSON.stringify(until)} is not a time`;
  if (until > now.getTime() + MAX_LEASE_MS) return `its expiry ${new Date(until).toISOString()} is more than ${MAX_LEASE_MS / 60_000} minutes ahead`;
  return undefined;
}

/** A checkpoint `to` as stored; throws a message naming `where` when it is not a time. */
export function validCheckpointTime(to: unknown, where: string): string {
  if (typeof to !== 'string' || !Number.isFinite(Date.parse(to))) {
    throw new StateError(
      'checkpoint-invalid',
      `${where} holds the checkpoint ${JSON.stringify(to)}, which is not an ISO-8601 time: fix or delete it (the next run then starts as a first run).`,
    );
  }
  return to;
}

/**
 * `claimed`: this run owns the alert and must send it, then `completeAlert` or `abandonAlert`.
 * `sent`: some run already sent it; drop it. `busy`: another live run holds the claim.
 */
export type ClaimResult = 'claimed' | 'sent' | 'busy';

export interface StateStore {
  readonly kind: string;
  /**
   * The source's checkpoint; throws a StateError naming the file or item when its `to` is not a
   * time (`validCheckpointTime`). A correlation blob is returned as stored.
   */
  readCheckpoint(source: string): Promise<Checkpoint | undefined>;
  /**
   * Writes the checkpoint (with its correlation blob, in one write). With `expected`, only if
   * the stored sequence is still `expected.seq`; false when it was not (nothing written).
   */
  writeCheckpoint(source: string, checkpoint: Checkpoint, expected?: CheckpointExpectation): Promise<boolean>;
  /**
   * True when `owner` now holds the lease (a free or expired lease is taken over, and so is one
   * whose stored expiry is invalid: `invalidLease`, reported through `onInvalid`).
   */
  acquireLease(source: string, owner: string, now: Date, ttlMs: number, onInvalid?: (why: string) => void): Promise<boolean>;
  releaseLease(source: string, owner: string): Promise<void>;
  claimAlert(key: string, owner: string, now: Date, claimTtlMs: number): Promise<ClaimResult>;
  /** Records the alert as sent; kept for `retentionMs` so later overlapping scans drop it. */
  completeAlert(key: string, owner: string, now: Date, retentionMs: number): Promise<void>;
  /** Gives a claim back after a failed send, so the next run retries the alert. */
  abandonAlert(key: string, owner: string): Promise<void>;
  close?(): Promise<void>;
}

/** One alert record as every store keeps it. */
export interface AlertRecord {
  state: 'claimed' | 'sent';
  owner: string;
  /** Epoch ms after which a claim may be taken over, or a sent record forgotten. */
  expiresAt: number;
}

export interface LeaseRecord {
  owner: string;
  expiresAt: number;
  /** The holder's process and host (file store): a lease whose process is gone is taken over at once. */
  pid?: number;
  host?: string;
}

/** The decision every store makes on a claim, given what it currently holds. */
export function claimDecision(existing: AlertRecord | undefined, now: Date): ClaimResult {
  if (existing === undefined) return 'claimed';
  if (existing.state === 'sent') return existing.expiresAt > now.getTime() ? 'sent' : 'claimed';
  return existing.expiresAt > now.getTime() ? 'busy' : 'claimed';
}

/**
 * One request to a cloud state store: a failure becomes the StateError `describe` makes of it,
 * which says what was being done and what to check.
 */
export async function stateRequest<T>(what: string, fn: () => Promise<T>, describe: (what: string, err: unknown) => StateError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw describe(what, err);
  }
}
