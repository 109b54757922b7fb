import type { AuditEvent } from '../model/event.js';

/**
 * The value a map holds under `key`, made by `make` and stored the first time it is asked for:
 * what rules and their helpers keep per options object or per user, built once. `make` is best a
 * function defined once, so a hot path allocates nothing when the value is already there.
 */
export function getOrMake<K, V>(map: { get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, make: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    map.set(key, value);
  }
  return value;
}

/**
 * `compute` worked out once per event: several rules ask the same question of one event, and an
 * event never changes once parsed. The answers are shared, so callers must not change them; an
 * answer of `undefined` is kept only while its event is the last one asked about.
 */
export function oncePerEvent<T>(compute: (event: AuditEvent) => T): (event: AuditEvent) => T {
  const answers = new WeakMap<AuditEvent, T>();
  return forLastEvent((event) => getOrMake(answers, event, compute));
}

/**
 * `compute` with its answer for the last event kept: the engine hands rules one event at a time,
 * so a question asked several times of it is answered by a comparison (a WeakMap lookup cost more
 * than some of the questions). For pure questions about an event only.
 */
export function forLastEvent<T>(compute: (event: AuditEvent) => T): (event: AuditEvent) => T {
  let lastEvent: AuditEvent | undefined;
  let lastAnswer: T | undefined;
  return (event) => {
    if (event !== lastEvent) {
      lastAnswer = compute(event);
      lastEvent = event;
    }
    return lastAnswer as T;
  };
}
