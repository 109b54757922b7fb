import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Engine } from '../core/engine/engine.js';
import type { AuditEvent } from '../core/model/event.js';
import { BoundedHistory, DEFAULT_HISTORY_BYTES, estimateEventBytes } from '../core/engine/history.js';
import type { AnyRule } from '../core/model/rule.js';
import { encodeCorrelation, emptyCorrelation } from '../core/engine/carried-events.js';
import { RULES } from '../rules/index.js';

/**
 * History and correlation state at cluster scale: 100,000 distinct users, each reading Secrets
 * and CSRs of its own (100,000+ distinct objects), fed through the engine with every rule. Reports
 * history's estimated bytes (its bound), the heap it really keeps after a full GC, and the size
 * of the correlation state one source would carry to the next run (bounded for DynamoDB).
 */

export interface HistoryMemoryResult {
  users: number;
  events: number;
  /** Estimated bytes history holds at the end (bounded by DEFAULT_HISTORY_BYTES). */
  historyBytes: number;
  historyBoundBytes: number;
  /** Heap growth kept by the engine after a full GC: the real figure behind the estimate. */
  retainedHeapBytes: number;
  /** Events alone, held in an array: `estimateEventBytes` summed, and the heap they really keep. */
  eventsEstimatedBytes: number;
  eventsRetainedBytes: number;
  /** Events history still holds. */
  heldEvents: number;
  /** Events the rules' memory wants carried, before the byte budget. */
  carriedWanted: number;
  /** Compressed correlation state as saved with the checkpoint, and what the budget dropped. */
  stateBytes: number;
  stateJsonBytes: number;
  stateDroppedEvents: number;
}

const USERS = 100_000;
const PER_USER = 4;
/** About as many events as history holds at its bound. */
const EVENTS_ALONE = 20_000;

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function event(i: number, u: number, t: number): AuditEvent {
  const kubelet = u % 10 === 0;
  const user = kubelet ? `system:node:ip-10-${(u >> 8) & 255}-${u & 255}-${u % 7}.eu-west-1.compute.internal` : `system:serviceaccount:team-${u % 500}:app-${u}`;
  return {
    kind: 'audit',
    id: `0b7c4d2e-1f3a-4b5c-8d9e-${String(i).padStart(12, '0')}`,
    cloud: 'eks',
    cluster: 'bench-eks',
    time: new Date(t).toISOString(),
    ingestedAt: new Date(t + 2_000).toISOString(),
    stage: 'ResponseComplete',
    level: 'Metadata',
    verb: 'get',
    user: {
      name: user,
      groups: kubelet ? ['system:nodes', 'system:authenticated'] : ['system:serviceaccounts', `system:serviceaccounts:team-${u % 500}`, 'system:authenticated'],
      uid: `uid-${u}`,
      extra: kubelet
        ? { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${String(u).padStart(64, '0')}`] }
        : { 'authentication.kubernetes.io/pod-name': [`app-${u}-5b8c7d9f6-q7w8e`], 'authentication.kubernetes.io/pod-uid': [`pod-uid-${u}`], 'authentication.kubernetes.io/credential-id': [`JTI=${u}`] },
    },
    auth: kubelet ? { method: 'node' } : { method: 'serviceaccount-token', podName: `app-${u}-5b8c7d9f6-q7w8e`, podUid: `pod-uid-${u}` },
    sourceIPs: [`10.${(u >> 16) & 255}.${(u >> 8) & 255}.${u & 255}`],
    userAgent: kubelet ? 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350' : 'app/v1.0 (linux/amd64) kubernetes/$Format',
    target: { resource: 'secrets', apiVersion: 'v1', namespace: `team-${u % 500}`, name: `secret-${u}-${i % PER_USER}` },
    requestURI: `/api/v1/namespaces/team-${u % 500}/secrets/secret-${u}-${i % PER_USER}`,
    outcome: { result: 'success', code: 200 },
    decision: 'allow',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by RoleBinding "app/team"' },
    truncated: false,
    origin: { source: 'eks:bench-eks', page: 1 + (i >> 12), index: i & 4095, recordId: `${i}` },
  };
}

/** What `build` returns, and the heap it keeps after a full GC. */
function heapKept<T>(gc: () => void, build: () => T): { value: T; bytes: number } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const value = build();
  gc();
  return { value, bytes: process.memoryUsage().heapUsed - before };
}

export async function runHistoryMemoryBench(rules: readonly AnyRule[] = RULES): Promise<HistoryMemoryResult> {
  const gc = gcFunction();
  const start = Date.parse('2026-03-02T09:00:00Z');
  const total = USERS * PER_USER;
  const timeOf = (i: number) => start + Math.floor((i * 6 * 60_000) / total);
  // The events alone, first (nothing else on the heap yet): the per-event estimate against their heap.
  const alone = heapKept(gc, () => Array.from({ length: EVENTS_ALONE }, (_, i) => event(i, i % USERS, timeOf(i))));
  const eventsRetainedBytes = alone.bytes;
  const eventsEstimatedBytes = alone.value.reduce((n, e) => n + estimateEventBytes(e), 0);
  // History alone, as the engine keeps it: its estimate, and the heap it really holds.
  const { value: history, bytes: retained } = heapKept(gc, () => {
    const h = new BoundedHistory();
    // Round-robin over users so every user's key stays live until a bound pushes it out.
    for (let i = 0; i < total; i++) h.record(event(i, i % USERS, timeOf(i)));
    return h;
  });
  const historyBytes = history.bytes;
  const heldEvents = history.size;
  // The engine with every rule over the same traffic: what one source carries to its next run.
  const engine = new Engine({ rules });
  for (let i = 0; i < total; i++) engine.process(event(i, i % USERS, timeOf(i)));
  const carry = engine.carry(start + 6 * 60_000, 'bench-run');
  const encoded = encodeCorrelation({ ...emptyCorrelation(), events: carry });
  return {
    users: USERS,
    events: total,
    historyBytes,
    historyBoundBytes: DEFAULT_HISTORY_BYTES,
    retainedHeapBytes: retained,
    eventsEstimatedBytes,
    eventsRetainedBytes,
    heldEvents,
    carriedWanted: carry.length,
    stateBytes: encoded.bytes.length,
    stateJsonBytes: encoded.jsonBytes,
    stateDroppedEvents: encoded.droppedEvents,
  };
}
