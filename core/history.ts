import { AddressBook, type AddressChannel } from './address-book.js';
import { issuedCredentialId } from './csr.js';
import type { AuditEvent } from './event.js';
import type { EventHistory } from './rule.js';

/**
 * Recent events for correlation within one scan, bounded so that a long scan or a watch loop
 * never grows without limit: at most `perKey` events per object or user (oldest dropped first),
 * and at most `maxKeys` keys per index (least recently written dropped first).
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

  constructor(
    private readonly perKey = 128,
    private readonly maxKeys = 50_000,
  ) {}

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

  record(event: AuditEvent): void {
    if (event.target.name !== undefined) this.push(this.byObject, objectKey(event), event);
    if (event.user.name !== undefined) {
      const key = userKey(event);
      this.push(this.byUser, key, event);
      if (this.droppedKey !== undefined) this.addressBook.drop(this.droppedKey);
      if (this.leftEvent !== undefined) this.addressBook.remove(key, this.leftEvent);
      this.addressBook.add(key, event);
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
          index.delete(oldest);
          this.droppedKey = oldest;
        }
      }
    } else {
      index.delete(key); // re-insert to mark as recently written
    }
    list.push(event);
    if (list.length > this.perKey) this.leftEvent = list.shift();
    index.set(key, list);
  }
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
