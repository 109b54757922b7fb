import { createHash } from 'node:crypto';
import { Timestamp, type DocumentReference, type DocumentSnapshot, type Firestore } from '@google-cloud/firestore';
import { StateError } from '../../model/errors.js';
import { claimDecision, invalidLease, stateRequest, validCheckpointTime, type Checkpoint, type CheckpointExpectation, type ClaimResult, type StateStore } from './store.js';

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
    const ref = this.ref('checkpoint', source);
    const snap = await this.read(ref, 'read the checkpoint');
    if (!snap.exists) return undefined;
    const to = validCheckpointTime(snap.get('to') as unknown, `Firestore document ${this.collection}/${ref.id} (checkpoint of ${source}), field to`);
    const updatedAt = snap.get('updatedAt') as unknown;
    const runId = snap.get('runId') as unknown;
    const seq = snap.get('seq') as unknown;
    const correlation = snap.get('correlation') as unknown;
    const cp: Checkpoint = { to, updatedAt: typeof updatedAt === 'string' ? updatedAt : to };
    if (typeof runId === 'string') cp.runId = runId;
    if (typeof seq === 'number' && Number.isSafeInteger(seq)) cp.seq = seq;
    if (correlation instanceof Uint8Array) cp.correlation = new Uint8Array(correlation);
    return cp;
  }

  async writeCheckpoint(source: string, checkpoint: Checkpoint, expected?: CheckpointExpectation): Promise<boolean> {
    const data: Record<string, unknown> = { kind: 'checkpoint', key: source, to: checkpoint.to, updatedAt: checkpoint.updatedAt };
    if (checkpoint.runId !== undefined) data['runId'] = checkpoint.runId;
    if (checkpoint.seq !== undefined) data['seq'] = checkpoint.seq;
    // One document holds checkpoint and correlation state, so one write commits both.
    if (checkpoint.correlation !== undefined) data['correlation'] = Buffer.from(checkpoint.correlation);
    const ref = this.ref('checkpoint', source);
    if (expected === undefined) {
      await this.call('write the checkpoint', () => ref.set(data));
      return true;
    }
    const snap = await this.read(ref, 'read the checkpoint');
    const storedSeq = snap.exists && typeof snap.get('seq') === 'number' ? (snap.get('seq') as number) : undefined;
    if (storedSeq !== expected.seq) return false;
    if (!snap.exists || snap.updateTime === undefined) return this.createOnce(ref, data, 'write the checkpoint');
    // Replaced only if nobody wrote it since the read that checked its sequence.
    return this.replaceIfUnchanged(ref, snap.updateTime, data, 'write the checkpoint');
  }

  async acquireLease(source: string, owner: string, now: Date, ttlMs: number, onInvalid?: (why: string) => void): Promise<boolean> {
    const ref = this.ref('lease', source);
    const until = now.getTime() + ttlMs;
    const data = { kind: 'lease', key: source, owner, until, [FIRESTORE_TTL_FIELD]: Timestamp.fromMillis(until + LINGER_MS) };
    if (await this.createOnce(ref, data, 'take the lease')) return true;
    const snap = await this.read(ref, 'read the lease');
    // Released between our create and this read: the next run takes it.
    if (!snap.exists || snap.updateTime === undefined) return false;
    const held = snap.get('owner') === owner;
    const invalid = invalidLease(snap.get('until') as unknown, now);
    const expired = invalid === undefined && Number(snap.get('until')) < now.getTime();
    if (!held && !expired && invalid === undefined) return false;
    const took = await this.replaceIfUnchanged(ref, snap.updateTime, data, 'take over the lease');
    if (took && invalid !== undefined && !held) {
      onInvalid?.(`the lease on ${source} (Firestore document ${this.collection}/${ref.id}) held by ${String(snap.get('owner'))} was taken over: ${invalid}`);
    }
    return took;
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

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return stateRequest(what, fn, (w, err) => this.wrap(w, err));
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
