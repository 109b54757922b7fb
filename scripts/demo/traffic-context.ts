import type { K8sEventInit } from '../../examples/audit-records.js';
import type { DemoCluster } from './clusters.js';
import { auditTime, Prng } from './prng.js';

/** What every traffic generator writes through: the cluster, a seeded PRNG and the event sink. */
export interface TrafficContext {
  cluster: DemoCluster;
  rng: Prng;
  /** Audit time of an offset (ms) from the start of the demo window. */
  time(offsetMs: number): string;
  emit(init: K8sEventInit): void;
}

export interface TimedEvent {
  init: K8sEventInit;
  /** Milliseconds since the epoch of `init.time`, for ordering. */
  ms: number;
}

/** A context that collects events (audit IDs drawn from the PRNG so identical requests stay distinct). */
export function collectingContext(cluster: DemoCluster, seed: number, baseMs: number, out: TimedEvent[]): TrafficContext {
  const rng = new Prng(seed);
  return {
    cluster,
    rng,
    time: (offsetMs) => auditTime(baseMs, Math.floor(offsetMs), rng.int(1000)),
    emit(init) {
      const time = init.time ?? auditTime(baseMs, 0);
      out.push({ init: { ...init, time, auditID: init.auditID ?? rng.uuid() }, ms: Date.parse(time) });
    },
  };
}
