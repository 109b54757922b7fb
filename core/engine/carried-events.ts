import { gunzipSync, gzipSync } from 'node:zlib';
import type { AuditEvent } from '../model/event.js';
import type { Alert } from '../model/finding.js';
import { StateError } from '../model/errors.js';

/**
 * What one scheduled run hands to the next for a source, saved in the same conditional write as
 * its checkpoint (store.ts): the events the rules declared they keep (`Rule.memory`), each until
 * it stops being useful, and the alerts that could not be delivered yet. A new format gets a new
 * `v`; a blob of an unknown version is reported and ignored (the run starts without memory).
 */
export const CORRELATION_FORMAT = 1;

/**
 * Compressed bytes one source's state may take. DynamoDB items are at most 400 KB including
 * attribute names and the checkpoint's other fields; Firestore documents 1 MiB.
 */
export const DEFAULT_CORRELATION_BUDGET_BYTES = 300_000;

export interface CarriedEvent {
  /** The event as kept: bodies only where a rule reads them (CSRs). */
  event: AuditEvent;
  /** Epoch ms after which no rule needs it. */
  until: number;
  /** The run that first saw it. */
  run: string;
  /** A rule judged its client address suspect (never a baseline). */
  suspect?: true;
}

export interface PendingAlert {
  /** The alert as it will be sent (JSON text), or a reduced form when the full one did not serialise. */
  alert: string;
  key: string;
  rule: string;
  attempts: number;
  firstFailedAt: string;
  lastError: string;
}

export interface CorrelationState {
  v: typeof CORRELATION_FORMAT;
  savedAt: string;
  events: CarriedEvent[];
  pending: PendingAlert[];
}

export const emptyCorrelation = (): CorrelationState => ({ v: CORRELATION_FORMAT, savedAt: new Date(0).toISOString(), events: [], pending: [] });

export interface EncodedCorrelation {
  bytes: Uint8Array;
  /** Events left out to stay within the budget (oldest first). */
  droppedEvents: number;
  /** Pending alerts left out (only when they alone exceed the budget). */
  droppedPending: number;
  /** Uncompressed JSON size of what was kept. */
  jsonBytes: number;
}

/**
 * Compressed JSON within `budgetBytes`: pending alerts first, then the newest events; the oldest
 * events are dropped until it fits (an active node's baseline is refreshed by its newest request,
 * so what goes first is what has not been seen for longest).
 */
export function encodeCorrelation(state: CorrelationState, budgetBytes = DEFAULT_CORRELATION_BUDGET_BYTES): EncodedCorrelation {
  let events = [...state.events].sort((a, b) => a.event.time.localeCompare(b.event.time));
  let pending = state.pending;
  let droppedEvents = 0;
  let droppedPending = 0;
  for (;;) {
    const json = JSON.stringify({ ...state, events, pending });
    const bytes = gzipSync(json);
    if (bytes.length <= budgetBytes) return { bytes: new Uint8Array(bytes), droppedEvents, droppedPending, jsonBytes: Buffer.byteLength(json) };
    if (events.length > 0) {
      // Proportional cut (recompressing once per event would be quadratic); at least one.
      const keep = Math.min(events.length - 1, Math.floor((events.length * budgetBytes * 0.9) / bytes.length));
      droppedEvents += events.length - keep;
      events = events.slice(events.length - keep);
    } else {
      const keep = Math.min(pending.length - 1, Math.floor((pending.length * budgetBytes * 0.9) / bytes.length));
      droppedPending += pending.length - keep;
      pending = pending.slice(pending.length - keep);
    }
  }
}

/** The state in `bytes`; throws a StateError naming `where` when it is not a credwatch correlation blob. */
export function decodeCorrelation(bytes: Uint8Array, where: string): CorrelationState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(gunzipSync(bytes).toString('utf8'));
  } catch (err) {
    throw new StateError('correlation-corrupt', `${where}: the correlation state is not readable (${(err as Error).message}); this run starts without what earlier runs kept.`, { cause: err });
  }
  const s = parsed as Partial<CorrelationState> | null;
  if (s === null || typeof s !== 'object' || s.v !== CORRELATION_FORMAT || !Array.isArray(s.events) || !Array.isArray(s.pending)) {
    const v = s !== null && typeof s === 'object' ? String((s as { v?: unknown }).v) : typeof s;
    throw new StateError('correlation-version', `${where}: correlation state of unknown format (v=${v}); this run starts without what earlier runs kept.`);
  }
  const events = s.events.filter(
    (c): c is CarriedEvent => typeof c === 'object' && c !== null && typeof c.until === 'number' && typeof c.event?.id === 'string' && typeof c.event.time === 'string' && c.event.kind === 'audit',
  );
  const pending = s.pending.filter((p): p is PendingAlert => typeof p === 'object' && p !== null && typeof p.alert === 'string' && typeof p.key === 'string' && typeof p.attempts === 'number');
  return { v: CORRELATION_FORMAT, savedAt: typeof s.savedAt === 'string' ? s.savedAt : new Date(0).toISOString(), events, pending };
}

/** The event as kept between runs: request and response bodies only on CSRs (the chain and trust rules decode them). */
export function slimEvent(e: AuditEvent): AuditEvent {
  const { requestObject, responseObject, origin, ...rest } = e;
  const slim: AuditEvent = { ...rest, origin: { source: origin.source, ...(origin.recordId === undefined ? {} : { recordId: origin.recordId }) } };
  if (e.target.resource === 'certificatesigningrequests') {
    if (requestObject !== undefined) slim.requestObject = requestObject;
    if (responseObject !== undefined) slim.responseObject = responseObject;
  }
  return slim;
}

/** JSON text of an alert; when it does not serialise, a reduced alert that says why (facts and event body left out). */
export function alertText(alert: Alert): { text: string; reduced?: string } {
  try {
    return { text: JSON.stringify(alert) };
  } catch (err) {
    const why = (err as Error).message;
    const reduced = {
      id: alert.id,
      rule: alert.rule,
      title: alert.title,
      severity: alert.severity,
      summary: alert.summary,
      cloud: alert.cloud,
      cluster: alert.cluster,
      time: alert.time,
      event: { id: alert.event.id },
      facts: { undeliverable: `the full alert could not be serialised (${why}); facts and event body left out` },
      mitre: alert.mitre,
    };
    return { text: JSON.stringify(reduced), reduced: why };
  }
}
