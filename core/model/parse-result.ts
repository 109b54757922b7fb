import type { AuditEvent, Origin } from './event.js';
import type { RuntimeEvent } from './runtime-event.js';

/**
 * A record that cannot become an event. The set of reasons is closed so summaries and tests can
 * count them; `detail` says what exactly was wrong (the path that did not match, the missing key).
 */
export const REJECTION_REASONS = Object.freeze([
  'malformed-json',
  'unknown-shape',
  'truncated',
  'unsupported-resource-path',
  'missing-field',
  'invalid-value',
  'too-large',
  /** Containers nested deeper than any real record (adapters/k8s/json-prefix.ts `MAX_NESTING_DEPTH`). */
  'too-deep',
  'decode-failed',
] as const);
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface Rejection {
  origin: Origin;
  reason: RejectionReason;
  detail: string;
}

/**
 * Records that are fine but are not Kubernetes audit events (klog text, other GKE logs…), and
 * (`not-needed`) audit lines the file prefilter showed no enabled rule can use, counted unparsed.
 */
export const SKIP_REASONS = Object.freeze([
  'not-audit',
  'other-category',
  'control-message',
  'empty',
  /** A runtime sensor's report about itself (Falco "Falco internal: syscall event drop"), not an event it saw. */
  'sensor-internal',
  'not-needed',
] as const);
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface Skip {
  origin: Origin;
  reason: SkipReason;
  detail?: string;
}

export type ParseOutcome =
  | { kind: 'event'; event: AuditEvent }
  /** A runtime sensor's event (Tracee, Falco): a kind of its own so audit-only consumers stay typed. */
  | { kind: 'runtime'; event: RuntimeEvent }
  | { kind: 'rejected'; rejection: Rejection }
  /** `count`: the lines of one source this one outcome stands for (default 1), all skipped for the same reason. */
  | { kind: 'skipped'; skip: Skip; count?: number };

export const parsed = (event: AuditEvent): ParseOutcome => ({ kind: 'event', event });
export const parsedRuntime = (event: RuntimeEvent): ParseOutcome => ({ kind: 'runtime', event });
export const rejected = (origin: Origin, reason: RejectionReason, detail: string): ParseOutcome => ({
  kind: 'rejected',
  rejection: { origin, reason, detail },
});
export const skipped = (origin: Origin, reason: SkipReason, detail?: string): ParseOutcome => ({
  kind: 'skipped',
  skip: detail === undefined ? { origin, reason } : { origin, reason, detail },
});

/** `count` lines of one source skipped for one reason, as one outcome (the prefilter drops most lines of a file). */
export const skippedLines = (origin: Origin, reason: SkipReason, count: number): ParseOutcome => ({ kind: 'skipped', skip: { origin, reason }, count });

/** The records an outcome stands for. */
export const recordsOf = (o: ParseOutcome): number => (o.kind === 'skipped' ? (o.count ?? 1) : 1);

/** Hints an adapter may use; an explicit `cluster` (CLI `--cluster`) wins over the envelope. */
export interface ParseHints {
  cluster?: string;
  /** The CloudWatch log group / Log Analytics resource / project the record came from. */
  logGroup?: string;
  ingestedAt?: string;
}
