import type { AuditEvent } from './event.js';

/**
 * `compute` worked out once per event: several rules ask the same question of one event, and an
 * event never changes once parsed. The answers are shared, so callers must not change them; an
 * answer of `undefined` is worked out again each time.
 */
export function oncePerEvent<T>(compute: (event: AuditEvent) => T): (event: AuditEvent) => T {
  const answers = new WeakMap<AuditEvent, T>();
  return (event) => {
    let answer = answers.get(event);
    if (answer === undefined) {
      answer = compute(event);
      answers.set(event, answer);
    }
    return answer;
  };
}
