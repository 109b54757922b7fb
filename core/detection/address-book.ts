import type { AddressChannel } from '../model/rule.js';
import type { AuditEvent } from '../model/event.js';
import { isKubeletUserAgent } from './kubelet.js';
import { getOrMake } from './memo.js';
import { clientAddress, userAgentOutsidePod } from './secret-scope.js';


/**
 * The reference answer: distinct client addresses of the `earlier` requests in `channel`, in the
 * order they first appear, leaving out every stage of the `current` request (same id).
 * `AddressBook.addresses` gives exactly this for the events its owner keeps.
 */
export function addressesIn(earlier: readonly AuditEvent[], current: AuditEvent, channel: AddressChannel): string[] {
  const key = channelKey(channel);
  const out = new Set<string>();
  for (const e of earlier) {
    if (e.id === current.id) continue;
    const addr = clientAddress(e);
    if (addr === undefined) continue;
    if (key === KUBELET ? isKubelet(e) : podChannelOf(e) === key) out.add(addr);
  }
  return [...out];
}

interface Occurrence {
  /** Order of recording, across all users: sorts addresses by first appearance. */
  seq: number;
  event: AuditEvent;
  /**
   * The event's id, held here too: asked of the first occurrence for nearly every Secret read,
   * where reaching it through the event (an old object, rarely in cache) was most of the cost.
   */
  id: string;
}

/** Per channel key, per address, the recorded requests from it (oldest first). */
type UserBook = Map<string, Map<string, Occurrence[]>>;

/**
 * Addresses by (history key, channel). The owner keeps a bounded window of events per key and
 * tells the book what enters (`add`) and what leaves (`remove`: always the key's oldest event,
 * `drop`: the whole key), so the book holds exactly the window's addresses.
 */
export class AddressBook {
  private readonly byKey = new Map<string, UserBook>();
  private seq = 0;

  add(key: string, event: AuditEvent): void {
    const addr = clientAddress(event);
    if (addr === undefined) return;
    const kubelet = isKubelet(event);
    const pod = podChannelOf(event);
    if (!kubelet && pod === undefined) return;
    let book = this.byKey.get(key);
    if (book === undefined) {
      book = new Map();
      this.byKey.set(key, book);
    }
    const occurrence: Occurrence = { seq: this.seq++, event, id: event.id };
    if (kubelet) occurrencesOf(book, KUBELET, addr).push(occurrence);
    if (pod !== undefined) occurrencesOf(book, pod, addr).push(occurrence);
  }

  /**
   * `event` left the key's window; it is the oldest the key still holds, so it heads the lists it
   * was added to (found from the event again: its address, user agent and pod do not change).
   */
  remove(key: string, event: AuditEvent): void {
    const addr = clientAddress(event);
    if (addr === undefined) return;
    const book = this.byKey.get(key);
    if (book === undefined) return;
    if (isKubelet(event)) removeHead(book, KUBELET, addr, event);
    const pod = podChannelOf(event);
    if (pod !== undefined) removeHead(book, pod, addr, event);
    if (book.size === 0) this.byKey.delete(key);
  }

  drop(key: string): void {
    this.byKey.delete(key);
  }

  /** As `addressesIn(window of key, current, channel)`. */
  addresses(key: string, current: AuditEvent, channel: AddressChannel): string[] {
    const addrs = this.byKey.get(key)?.get(channelKey(channel));
    if (addrs === undefined) return [];
    if (addrs.size === 1) {
      // Nearly every node and pod uses one address: nothing to order. Asked for nearly every Secret
      // read, so without the entry arrays and the closure of `for…of` and `some`.
      for (const addr of addrs.keys()) return occursBesides(addrs.get(addr)!, current) ? [addr] : [];
    }
    const firsts: Array<{ addr: string; seq: number }> = [];
    for (const [addr, list] of addrs) {
      // Every stage of the current request is left out: the first occurrence from another request.
      for (const o of list) {
        if (o.id === current.id) continue;
        firsts.push({ addr, seq: o.seq });
        break;
      }
    }
    if (firsts.length > 1) firsts.sort((a, b) => a.seq - b.seq);
    return firsts.map((f) => f.addr);
  }
}

const KUBELET = 'kubelet';

/** True when some occurrence in `list` is of another request than `current` (another stage of it does not count). */
function occursBesides(list: readonly Occurrence[], current: AuditEvent): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.id !== current.id) return true;
  return false;
}

function channelKey(channel: AddressChannel): string {
  return channel === KUBELET ? KUBELET : `pod\u0000${channel.pod}`;
}

function isKubelet(e: AuditEvent): boolean {
  return isKubeletUserAgent(e.userAgent);
}

/** The pod channel key of a request made with a pod-bound token from a client that may run in a pod. */
function podChannelOf(e: AuditEvent): string | undefined {
  const pod = e.auth.podName;
  if (pod === undefined || userAgentOutsidePod(e.userAgent)) return undefined;
  return `pod\u0000${pod}`;
}

const newChannel = (): Map<string, Occurrence[]> => new Map();
const newOccurrences = (): Occurrence[] => [];

function occurrencesOf(book: UserBook, channel: string, addr: string): Occurrence[] {
  return getOrMake(getOrMake(book, channel, newChannel), addr, newOccurrences);
}

function removeHead(book: UserBook, channel: string, addr: string, event: AuditEvent): void {
  const addrs = book.get(channel);
  const list = addrs?.get(addr);
  if (addrs === undefined || list === undefined || list[0]?.event !== event) return;
  list.shift();
  if (list.length > 0) return;
  addrs.delete(addr);
  if (addrs.size === 0) book.delete(channel);
}

/** How long a node's or a pod's known client addresses are kept between runs: node addresses are stable for the node's life. */
export const ADDRESS_BASELINE_MS = 3 * 24 * 60 * 60_000;

/**
 * The memory key of a request that gives a user's address in a channel (kubelet or a bound pod),
 * or undefined when it gives none: one request per (cluster, user, channel, address) is kept.
 */
export function addressBaselineKey(e: AuditEvent, channel: 'kubelet' | 'pod'): string | undefined {
  const addr = clientAddress(e);
  if (addr === undefined || e.user.name === undefined) return undefined;
  const ch = channel === 'kubelet' ? (isKubelet(e) ? KUBELET : undefined) : podChannelOf(e);
  return ch === undefined ? undefined : `${e.cluster ?? ''}\u0000${e.user.name}\u0000${ch}\u0000${addr}`;
}

/** For each address in `addrs`, the earliest of `earlier` that showed it in `channel` (the evidence behind a baseline). */
export function addressEvidence(earlier: readonly AuditEvent[], current: AuditEvent, channel: AddressChannel, addrs: readonly string[]): AuditEvent[] {
  const key = channelKey(channel);
  const wanted = new Set(addrs);
  const out: AuditEvent[] = [];
  for (const e of earlier) {
    if (e.id === current.id) continue;
    const addr = clientAddress(e);
    if (addr === undefined || !wanted.has(addr)) continue;
    if (key === KUBELET ? isKubelet(e) : podChannelOf(e) === key) {
      out.push(e);
      wanted.delete(addr);
    }
  }
  return out;
}
