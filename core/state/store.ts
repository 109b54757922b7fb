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
}

/**
 * `claimed`: this run owns the alert and must send it, then `completeAlert` or `abandonAlert`.
 * `sent`: some run already sent it; drop it. `busy`: another live run holds the claim.
 */
export type ClaimResult = 'claimed' | 'sent' | 'busy';

export interface StateStore {
  readonly kind: string;
  readCheckpoint(source: string): Promise<Checkpoint | undefined>;
  writeCheckpoint(source: string, checkpoint: Checkpoint): Promise<void>;
  /** True when `owner` now holds the lease (a free or expired lease is taken over). */
  acquireLease(source: string, owner: string, now: Date, ttlMs: number): Promise<boolean>;
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
}

/** The decision every store makes on a claim, given what it currently holds. */
export function claimDecision(existing: AlertRecord | undefined, now: Date): ClaimResult {
  if (existing === undefined) return 'claimed';
  if (existing.state === 'sent') return existing.expiresAt > now.getTime() ? 'sent' : 'claimed';
  return existing.expiresAt > now.getTime() ? 'busy' : 'claimed';
}
