import { podKey } from '../detection/exec-correlation.js';
import { AddressBook } from '../detection/address-book.js';
import { forLastEvent } from '../detection/memo.js';
import type { AddressChannel } from '../model/rule.js';
import { issuedCredentialId } from '../detection/csr.js';
import type { AuditEvent } from '../model/event.js';
import type { EventHistory } from '../model/rule.js';

/**
 * Estimated heap bytes of everything history holds: events, index keys and lists, address book.
 * bench/history-memory.ts measures the real heap behind the estimate at 100,000 users and objects;
 * this bound keeps it under 64 MB at any cluster size.
 */
export const DEFAULT_HISTORY_BYTES = 44 * 1024 * 1024;

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
  /** Eviction cursors, one per index (see `oldestKey`). */
  private readonly cursors = new Map<Map<string, AuditEvent[]>, Iterator<string>>();
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
    /**
     * The resources whose objects are indexed for `sameObject` (undefined: all). The engine passes
     * those of the rules that read it (`Rule.readsSameObject`): a Secret read by name is otherwise
     * held a second time, by object, for nobody.
     */
    private readonly objectResources?: ReadonlySet<string>,
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
    const { name, resource } = event.target;
    if (name !== undefined && (this.objectResources === undefined || (resource !== undefined && this.objectResources.has(resource)))) {
      this.push(this.byObject, objectKey(event), event);
    }
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
      this.heldBytes += keyBytes(key);
      if (index.size >= this.maxKeys) {
        const oldest = this.oldestKey(index);
        if (oldest !== undefined) {
          this.dropKey(index, oldest);
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

  /**
   * The least recently written key of `index`, which the caller then deletes. A Map iterator is
   * live: kept across calls it stands on the oldest remaining key, where a fresh `keys().next()`
   * would walk past every hole earlier deletes left at the front (quadratic at the key bound).
   */
  private oldestKey(index: Map<string, AuditEvent[]>): string | undefined {
    let cursor = this.cursors.get(index);
    for (let fresh = false; ; fresh = true) {
      if (cursor === undefined) {
        cursor = index.keys();
        this.cursors.set(index, cursor);
      }
      const next = cursor.next();
      if (next.done !== true) {
        if (index.has(next.value)) return next.value;
        continue;
      }
      if (fresh) return undefined;
      cursor = undefined;
    }
  }

  private hold(event: AuditEvent): void {
    const h = this.held.get(event);
    if (h !== undefined) {
      h.refs++;
      return;
    }
    // Its entry in `held` and its share of the address book come with it.
    const bytes = estimateEventBytes(event) + HELD_OVERHEAD;
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
   * down to 90 % of the bound (one pass per index: Map iteration skips the holes deletes leave,
   * so evicting one key per event would rescan them every time); never the key just written.
   */
  private shed(current: Map<string, AuditEvent[]>, currentKey: string): void {
    const indexes = [this.byUser, this.byObject, this.byIssuedCredential, this.execsByPod];
    const target = this.maxBytes * 0.9;
    while (this.heldBytes > target) {
      const index = indexes.reduce((a, b) => (b.size > a.size ? b : a));
      if (index.size === 0 || (index === current && index.size === 1)) return;
      const oldest = this.oldestKey(index);
      if (oldest === undefined) return;
      if (index === current && oldest === currentKey) {
        // Written just now: back to the recent end, so the cursor finds it again in its turn.
        const list = index.get(oldest)!;
        index.delete(oldest);
        index.set(oldest, list);
        continue;
      }
      this.dropKey(index, oldest);
      if (index === this.byUser) this.addressBook.drop(oldest);
    }
  }

  private dropKey(index: Map<string, AuditEvent[]>, key: string): void {
    this.releaseList(index.get(key));
    index.delete(key);
    this.heldBytes -= keyBytes(key);
  }
}

/** Per held event: its `held` entry and record, list slots, and an address-book occurrence. */
const HELD_OVERHEAD = 200;

/** A key of an index: the key string, its list, and the Map entry (measured by bench/history-memory.ts). */
function keyBytes(key: string): number {
  return 180 + key.length;
}

function stageKey(e: AuditEvent): string {
  return `${e.cluster ?? ''}\u0000${e.id}\u0000${e.stage ?? ''}`;
}

/** V8's cost of a string (header plus one byte a character; two for the rare non-Latin-1). */
const str = (v: string | undefined): number => (v === undefined ? 0 : 20 + v.length);
// Indexed loops here: it runs for every recorded event, and its `for…of` loops left iterators the
// compiler did not remove (a sampled 1,000-node bench scan: 15 of the main thread's 370 MB allocated).
const strs = (v: readonly string[] | undefined): number => {
  if (v === undefined) return 0;
  let n = 16 + 8 * v.length;
  for (let i = 0; i < v.length; i++) n += str(v[i]);
  return n;
};
const dict = (v: Record<string, unknown> | undefined): number => {
  if (v === undefined) return 0;
  let n = 32;
  for (const k in v) {
    const x = v[k];
    n += 24 + str(k) + (typeof x === 'string' ? str(x) : Array.isArray(x) ? strs(x as string[]) : 16);
  }
  return n;
};

/**
 * Heap bytes of an event, over-estimated: every string is charged as the event's own, so the
 * estimate is further over where adapters share a user's name, groups, agent and addresses
 * between events (bench/history-memory.ts prints it beside the heap real events keep). Its known
 * fields field by field, and bodies (present on CSRs and RequestResponse logs) by a walk capped at
 * a few thousand nodes. Called once per recorded event, so it avoids a generic walk of the whole
 * event. History's keys, lists and address book are charged apart (`keyBytes`, HELD_OVERHEAD).
 */
export function estimateEventBytes(e: AuditEvent): number {
  let n = 360; // the event, user, auth, target, outcome and origin objects themselves
  n += str(e.id) + str(e.cluster) + str(e.time) + str(e.ingestedAt) + str(e.stage) + str(e.level) + str(e.verb) + str(e.userAgent) + str(e.requestURI);
  n += str(e.decision) + str(e.decisionReason);
  const u = e.user;
  n += str(u.name) + str(u.uid) + strs(u.groups) + dict(u.extra);
  if (e.impersonatedUser !== undefined) n += 64 + str(e.impersonatedUser.name) + strs(e.impersonatedUser.groups);
  n += str(e.auth.credentialId) + str(e.auth.podName) + str(e.auth.podUid) + str(e.auth.cloudPrincipal);
  n += strs(e.sourceIPs);
  const t = e.target;
  n += str(t.apiGroup) + str(t.apiVersion) + str(t.resource) + str(t.subresource) + str(t.namespace) + str(t.name);
  n += str(e.outcome.reason) + str(e.outcome.message);
  const q = e.query;
  if (q !== undefined) for (let i = 0; i < q.length; i++) n += 40 + str(q[i]![0]) + str(q[i]![1]);
  n += dict(e.annotations);
  n += str(e.origin.source) + str(e.origin.recordId);
  if (e.requestObject !== undefined) n += bodyBytes(e.requestObject);
  if (e.responseObject !== undefined) n += bodyBytes(e.responseObject);
  return n;
}

function bodyBytes(body: unknown): number {
  let n = 0;
  let budget = 4_000;
  const visit = (v: unknown): void => {
    if (budget-- <= 0) {
      n += 256; // past the cap, every node is charged as a long string
      return;
    }
    if (typeof v === 'string') n += 20 + v.length * (v.length > 0 && v.charCodeAt(0) > 255 ? 2 : 1);
    else if (typeof v !== 'object' || v === null) n += 16;
    else if (Array.isArray(v)) {
      n += 32 + 8 * v.length;
      for (const x of v) visit(x);
    } else {
      n += 56;
      for (const k in v) {
        n += 24 + k.length;
        visit((v as Record<string, unknown>)[k]);
      }
    }
  };
  visit(body);
  return n;
}

function objectKey(e: AuditEvent): string {
  const t = e.target;
  return `${e.cluster ?? ''}\u0000${t.apiGroup ?? ''}\u0000${t.resource ?? ''}\u0000${t.namespace ?? ''}\u0000${t.name ?? ''}`;
}

/**
 * Asked several times of each event (its record, its address book, a rule's look at the user's
 * requests): the last answer is kept, so the string is built and hashed once.
 */
const userKey = forLastEvent((e: AuditEvent): string => `${e.cluster ?? ''}\u0000${e.user.name ?? ''}`);
