import { AddressBook, type AddressChannel } from './address-book.js';
import { issuedCredentialId } from './csr.js';
import type { AuditEvent } from './event.js';
import type { EventHistory } from './rule.js';

/**
 * Estimated heap bytes of everything history holds. The estimate is an upper bound for V8's
 * layout of parsed JSON (bench/history-memory.ts measures it against the heap); 48 MB of it
 * keeps history with its index maps under 64 MB at any cluster size.
 */
export const DEFAULT_HISTORY_BYTES = 48 * 1024 * 1024;

/**
 * Recent events for correlation within one scan, bounded so that a long scan or a watch loop
 * never grows without limit: at most `perKey` events per object or user (oldest dropped first),
 * at most `maxKeys` keys per index (least recently written dropped first), and at most
 * `maxBytes` estimated bytes of events in all (least recently written keys dropped first).
 */
export class BoundedHistory implements EventHistory {
  private readonly byObject = new Map<string, AuditEvent[]>();
  private readonly byUser = new Map<string, AuditEvent[]>();
  private readonly byIssuedCredential = new Map<string, AuditEvent[]>();
  private readonly execsByPod = new Map<string, AuditEvent[]>();
  /** Client addresses of the events in `byUser`, kept in step with it. */
  private readonly addressBook = new AddressBook();
  /** What the last `push` pushed out (fields, not a returned object: push runs several times per event). */
  private droppedKey: string | undefined;
  private leftEvent: AuditEvent | undefined;
  /** Each held event once, with the number of index lists holding it (first-recorded order). */
  private readonly held = new Map<AuditEvent, { refs: number; bytes: number }>();
  private heldBytes = 0;
  /** Events carried in from an earlier run, with that run's id. */
  private readonly carried = new WeakMap<AuditEvent, string>();
  private readonly carriedIds = new Set<string>();
  /** Events whose client address a rule judged suspect: not in the address book. */
  private readonly suspects = new WeakSet<AuditEvent>();

  constructor(
    private readonly perKey = 128,
    private readonly maxKeys = 50_000,
    private readonly maxBytes = DEFAULT_HISTORY_BYTES,
  ) {}

  /** Estimated bytes of the events held now (each counted once). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Number of distinct events held now. */
  get size(): number {
    return this.held.size;
  }

  /** Every distinct event held, oldest recorded first. */
  events(): IterableIterator<AuditEvent> {
    return this.held.keys();
  }

  /** An event an earlier run saw and a rule kept: recorded as if seen, and marked as carried. */
  recordCarried(event: AuditEvent, run: string, suspect = false): void {
    this.carried.set(event, run);
    this.carriedIds.add(stageKey(event));
    this.record(event, suspect);
  }

  suspect(event: AuditEvent): boolean {
    return this.suspects.has(event);
  }

  /** True when this request, at this stage, came in with an earlier run's state (it was judged there). */
  wasCarried(event: AuditEvent): boolean {
    return this.carriedIds.size > 0 && this.carriedIds.has(stageKey(event));
  }

  earlierRun(event: AuditEvent): string | undefined {
    return this.carried.get(event);
  }

  sameObject(event: AuditEvent): readonly AuditEvent[] {
    return this.byObject.get(objectKey(event)) ?? [];
  }

  sameUser(event: AuditEvent): readonly AuditEvent[] {
    return this.byUser.get(userKey(event)) ?? [];
  }

  clientAddresses(event: AuditEvent, channel: AddressChannel): readonly string[] {
    return this.addressBook.addresses(userKey(event), event, channel);
  }

  certificateIssuedBy(cluster: string | undefined, credentialId: string): AuditEvent | undefined {
    return this.byIssuedCredential.get(`${cluster ?? ''}\u0000${credentialId}`)?.[0];
  }

  execsInPod(cluster: string | undefined, namespace: string, pod: string): readonly AuditEvent[] {
    return this.execsByPod.get(podKey(cluster, namespace, pod)) ?? [];
  }

  /** A pods/exec request, kept by pod for runtime correlation whether or not an audit rule wanted it. */
  recordExec(event: AuditEvent): void {
    const { namespace, name } = event.target;
    if (namespace === undefined || name === undefined) return;
    const list = this.execsByPod.get(podKey(event.cluster, namespace, name));
    // One request logged at two stages is one exec.
    if (list?.some((e) => e.id === event.id) === true) return;
    this.push(this.execsByPod, podKey(event.cluster, namespace, name), event);
  }

  /** `suspect`: a rule judged its client address suspect, so it is no known address of its user. */
  record(event: AuditEvent, suspect = false): void {
    if (suspect) this.suspects.add(event);
    if (event.target.name !== undefined) this.push(this.byObject, objectKey(event), event);
    if (event.user.name !== undefined) {
      const key = userKey(event);
      this.push(this.byUser, key, event);
      if (this.droppedKey !== undefined) this.addressBook.drop(this.droppedKey);
      if (this.leftEvent !== undefined) this.addressBook.remove(key, this.leftEvent);
      if (!suspect) this.addressBook.add(key, event);
    }
    if (event.target.resource === 'certificatesigningrequests') {
      const issued = issuedCredentialId(event);
      if (issued !== undefined) this.push(this.byIssuedCredential, `${event.cluster ?? ''}\u0000${issued}`, event);
    }
  }

  /** Adds `event` under `key`; `droppedKey` and `leftEvent` then tell what the bounds pushed out. */
  private push(index: Map<string, AuditEvent[]>, key: string, event: AuditEvent): void {
    this.droppedKey = undefined;
    this.leftEvent = undefined;
    let list = index.get(key);
    if (list === undefined) {
      list = [];
      if (index.size >= this.maxKeys) {
        const oldest = index.keys().next().value;
        if (oldest !== undefined) {
          this.releaseList(index.get(oldest));
          index.delete(oldest);
          this.droppedKey = oldest;
        }
      }
    } else {
      index.delete(key); // re-insert to mark as recently written
    }
    list.push(event);
    this.hold(event);
    if (list.length > this.perKey) {
      this.leftEvent = list.shift();
      if (this.leftEvent !== undefined) this.release(this.leftEvent);
    }
    index.set(key, list);
    if (this.heldBytes > this.maxBytes) this.shed(index, key);
  }

  private hold(event: AuditEvent): void {
    const h = this.held.get(event);
    if (h !== undefined) {
      h.refs++;
      return;
    }
    const bytes = estimateEventBytes(event);
    this.held.set(event, { refs: 1, bytes });
    this.heldBytes += bytes;
  }

  private release(event: AuditEvent): void {
    const h = this.held.get(event);
    if (h === undefined) return;
    if (--h.refs > 0) return;
    this.held.delete(event);
    this.heldBytes -= h.bytes;
  }

  private releaseList(list: readonly AuditEvent[] | undefined): void {
    if (list !== undefined) for (const e of list) this.release(e);
  }

  /**
   * Over the byte bound: drops least recently written keys, from the index holding the most keys,
   * until under it; never the key just written (its owner is being evaluated).
   */
  private shed(current: Map<string, AuditEvent[]>, currentKey: string): void {
    const indexes = [this.byUser, this.byObject, this.byIssuedCredential, this.execsByPod];
    while (this.heldBytes > this.maxBytes) {
      const index = indexes.reduce((a, b) => (b.size > a.size ? b : a));
      const oldest = index.keys().next().value;
      if (oldest === undefined || (index === current && oldest === currentKey && index.size === 1)) return;
      if (index === current && oldest === currentKey) {
        // Keep the key being written: move it to the recent end and drop the next oldest.
        const list = index.get(oldest)!;
        index.delete(oldest);
        index.set(oldest, list);
        continue;
      }
      this.releaseList(index.get(oldest));
      index.delete(oldest);
      if (index === this.byUser) this.addressBook.drop(oldest);
    }
  }
}

function stageKey(e: AuditEvent): string {
  return `${e.cluster ?? ''}\u0000${e.id}\u0000${e.stage ?? ''}`;
}

/**
 * Heap bytes of an event as V8 lays out parsed JSON, over-estimated: a string costs its length
 * plus a header, an object a header plus a slot per property. Bodies are walked up to a few
 * thousand nodes (CSR bodies are small; anything bigger is charged as if every node were a
 * long string).
 */
export function estimateEventBytes(e: AuditEvent): number {
  let n = 24;
  let budget = 4_000;
  const visit = (v: unknown): void => {
    if (budget-- <= 0) {
      n += 256;
      return;
    }
    if (typeof v === 'string') n += 24 + v.length * (v.length > 0 && v.charCodeAt(0) > 255 ? 2 : 1);
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) n += 16;
    else if (Array.isArray(v)) {
      n += 32 + 8 * v.length;
      for (const x of v) visit(x);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v);
      n += 56 + 24 * keys.length;
      for (const k of keys) visit((v as Record<string, unknown>)[k]);
    }
  };
  visit(e);
  return n;
}

function objectKey(e: AuditEvent): string {
  const t = e.target;
  return `${e.cluster ?? ''}\u0000${t.apiGroup ?? ''}\u0000${t.resource ?? ''}\u0000${t.namespace ?? ''}\u0000${t.name ?? ''}`;
}

export function podKey(cluster: string | undefined, namespace: string, pod: string): string {
  return `${cluster ?? ''}\u0000${namespace}\u0000${pod}`;
}

function userKey(e: AuditEvent): string {
  return `${e.cluster ?? ''}\u0000${e.user.name ?? ''}`;
}
