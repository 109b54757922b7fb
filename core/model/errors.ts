/**
 * One small error hierarchy. Every error has a stable `code`, chains its
 * `cause`, and its message names the context (cluster, window, rule, file:line) and what to do.
 */
export class CredwatchError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad configuration or CLI usage; raised at start-up, names the option. */
export class ConfigError extends CredwatchError {}

/** A log source (file or cloud API) failed; carries how far it got when known. */
export class SourceError extends CredwatchError {
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(code, message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** Checkpoint / dedup store failures. */
export class StateError extends CredwatchError {}

/** Alert delivery failures; the alert is retried by the next run. */
export class SinkError extends CredwatchError {}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause === undefined ? '' : ` (cause: ${describeError(err.cause)})`;
    return `${err.message}${cause}`;
  }
  return String(err);
}
