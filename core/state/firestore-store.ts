import { createHash } from 'node:crypto';
import { Timestamp, type DocumentReference, type DocumentSnapshot, type Firestore } from '@google-cloud/firestore';
import { StateError } from '../errors.js';
import { claimDecision, type Checkpoint, type ClaimResult, type StateStore } from './store.js';

/** The collection the function keeps its state in unless CREDWATCH_FIRESTORE_COLLECTION says otherwise. */
export const FIRESTORE_DEFAULT_COLLECTION = 'credwatch';
/** The field a Firestore TTL policy on the collection deletes documents by; only clean-up, never correctness. */
export const FIRESTORE_TTL_FIELD = 'expiresAt';

/** gRPC status codes, as the client reports them in `err.code` on both transports. */
const CODE = { NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9, UNAUTHENTICATED: 16 } as const;

/** Leases and claims linger an hour past their expiry for operators before TTL clean-up. */
const LINGER_MS = 3_600_000;

type Kind = 'checkpoint' | 'lease' | 'alert';

/**
 * Document id of a state key. Keys hold `/` and `:` (`gke:acme-prod/cluster`) and can be long,
 * and Firestore ids may not contain `/` nor look like `__x__`: a hash with a kind prefix is
 * always valid; the key itself is kept in the `key` field for people reading the collection.
 */
export function firestoreDocId(kind: Kind, key: string): string {
  return `${kind}-${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

const codeOf = (err: unknown): number | undefined => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
};

/** A precondition write that lost a race: someone else created, changed or removed the document. */
const lostRace = (err: unknown): boolean => {
  const c = codeOf(err);
  return c === CODE.ALREADY_EXISTS || c === CODE.FAILED_PRECONDITION || c === CODE.NOT_FOUND;
};

/**
 * State in one Firestore collection. Leases and alert claims are `create()` (precondition: the
 * document does not exist) or, to take over an expired one, an update/delete with a
 * `lastUpdateTime` precondition on the version just read — so two concurrent runs can never both
 * own one source or one alert, and no correctness rests on the TTL policy.
 */
export class FirestoreStateStore implements StateStore {
  readonly kind = 'firestore';

  constructor(
    private readonly db: Firestore,
    readonly collection: string = FIRESTORE_DEFAULT_COLLECTION,
    /** For error messages only (the client's own project id is not public API). */
    private readonly projectId?: string,
  ) {}

  async readCheckpoint(source: string): Promise<Checkpoint | undefined> {
    const snap = await this.read(this.ref('checkpoint', source), 'read the checkpoint');
    const to = snap.get('to') as unknown;
    if (!snap.exists || typeof to !== 'string') return undefined;
    const updatedAt = snap.get('updatedAt') as unknown;
    const runId = snap.get('runId') as unknown;
    const cp: Checkpoint = { to, updatedAt: typeof updatedAt === 'string' ? updatedAt : to };
    if (typeof runId === 'string') cp.runId = runId;
    return cp;
  }

  async writeCheckpoint(source: string, checkpoint: Checkpoint): Promise<void> {
    const data: Record<string, unknown> = { kind: 'checkpoint', key: source, to: checkpoint.to, updatedAt: checkpoint.updatedAt };
    if (checkpoint.runId !== undefined) data['runId'] = checkpoint.runId;
    await this.call('write the checkpoint', () => this.ref('checkpoint', source).set(data));
  }

  async acquireLease(source: string, owner: string, now: Date, ttlMs: number): Promise<boolean> {
    const ref = this.ref('lease', source);
    const until = now.getTime() + ttlMs;
    const data = { kind: 'lease', key: source, owner, until, [FIRESTORE_TTL_FIELD]: Timestamp.fromMillis(until + LINGER_MS) };
    if (await this.createOnce(ref, data, 'take the lease')) return true;
    const snap = await this.read(ref, 'read the lease');
    // Released between our create and this read: the next run takes it.
    if (!snap.exists || snap.updateTime === undefined) return false;
    const held = snap.get('owner') === owner;
    const expired = Number(snap.get('until')) < now.getTime();
    if (!held && !expired) return false;
    return this.replaceIfUnchanged(ref, snap.updateTime, data, 'take over the lease');
  }

  async releaseLease(source: string, owner: string): Promise<void> {
    const ref = this.ref('lease', source);
    const snap = await this.read(ref, 'read the lease');
    if (!snap.exists || snap.updateTime === undefined || snap.get('owner') !== owner) return;
    await this.deleteIfUnchanged(ref, snap.updateTime, 'release the lease');
  }

  async claimAlert(key: string, owner: string, now: Date, claimTtlMs: number): Promise<ClaimResult> {
    const ref = this.ref('alert', key);
    const until = now.getTime() + claimTtlMs;
    const data = { kind: 'alert', key, state: 'claimed', owner, until, [FIRESTORE_TTL_FIELD]: Timestamp.fromMillis(until + LINGER_MS) };
    if (await this.createOnce(ref, data, 'claim the alert')) return 'claimed';
    const snap = await this.read(ref, 'read the alert claim');
    // Abandoned between our create and this read: leave it to the next run.
    if (!snap.exists || snap.updateTime === undefined) return 'busy';
    const state = snap.get('state') === 'sent' ? 'sent' : 'claimed';
    // Our own create whose answer was lost and retried by the client: we hold the claim.
    if (state === 'claimed' && snap.get('owner') === owner) return 'claimed';
    const decision = claimDecision({ state, owner: String(snap.get('owner')), expiresAt: Number(snap.get('until')) }, now);
    if (decision !== 'claimed') return decision;
    // An expired claim, or a sent record past its retention: take it over only if nobody else did.
    return (await this.replaceIfUnchanged(ref, snap.updateTime, data, 'take over the alert claim')) ? 'claimed' : 'busy';
  }

  async completeAlert(key: string, owner: string, now: Date, retentionMs: number): Promise<void> {
    const until = now.getTime() + retentionMs;
    await this.call('record the alert as sent', () =>
      this.ref('alert', key).set({ kind: 'alert', key, state: 'sent', owner, until, [FIRESTORE_TTL_FIELD]: Timestamp.fromMillis(until) }),
    );
  }

  async abandonAlert(key: string, owner: string): Promise<void> {
    const ref = this.ref('alert', key);
    const snap = await this.read(ref, 'read the alert claim');
    if (!snap.exists || snap.updateTime === undefined || snap.get('state') !== 'claimed' || snap.get('owner') !== owner) return;
    await this.deleteIfUnchanged(ref, snap.updateTime, 'give back the alert claim');
  }

  private ref(kind: Kind, key: string): DocumentReference {
    return this.db.collection(this.collection).doc(firestoreDocId(kind, key));
  }

  private async createOnce(ref: DocumentReference, data: Record<string, unknown>, what: string): Promise<boolean> {
    try {
      await ref.create(data);
      return true;
    } catch (err) {
      if (codeOf(err) === CODE.ALREADY_EXISTS) return false;
      throw this.wrap(what, err);
    }
  }

  /** Overwrites every field, provided nobody wrote the document since `version` was read. */
  private async replaceIfUnchanged(ref: DocumentReference, version: Timestamp, data: Record<string, unknown>, what: string): Promise<boolean> {
    try {
      await ref.update(data, { lastUpdateTime: version });
      return true;
    } catch (err) {
      if (lostRace(err)) return false;
      throw this.wrap(what, err);
    }
  }

  private async deleteIfUnchanged(ref: DocumentReference, version: Timestamp, what: string): Promise<void> {
    try {
      await ref.delete({ lastUpdateTime: version });
    } catch (err) {
      if (lostRace(err)) return;
      throw this.wrap(what, err);
    }
  }

  private read(ref: DocumentReference, what: string): Promise<DocumentSnapshot> {
    return this.call(what, () => ref.get());
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  private wrap(what: string, err: unknown): StateError {
    const code = codeOf(err);
    const detail = err instanceof Error ? err.message : String(err);
    const where = `collection ${this.collection} of database ${this.db.databaseId}${this.projectId === undefined ? '' : ` in project ${this.projectId}`}`;
    const hint =
      code === CODE.PERMISSION_DENIED
        ? ` Grant the function's service account roles/datastore.user (Cloud Datastore User) on the project.`
        : code === CODE.NOT_FOUND
          ? ` The Firestore database ${this.db.databaseId} does not exist: create it in Native mode (gcloud firestore databases create --database=${this.db.databaseId} --location=REGION --type=firestore-native) or set CREDWATCH_FIRESTORE_DATABASE to one that exists.`
          : code === CODE.UNAUTHENTICATED
            ? ' No valid Google credentials: run the function as a service account, or set GOOGLE_APPLICATION_CREDENTIALS locally.'
            : '';
    return new StateError('firestore-failed', `Firestore: could not ${what} in ${where} (${detail}).${hint}`, { cause: err });
  }
}
