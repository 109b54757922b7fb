/**
 * Retry with exponential backoff while Cloud Logging's read quota is exhausted. The client's own
 * retry policy for ListLogEntries does not retry RESOURCE_EXHAUSTED (https://cloud.google.com/logging/quotas), and
 * the quota is per project per minute (60–120 reads), so waits grow towards the next minute.
 */

export interface QuotaBackoff {
  /** Calls in total, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injectable for tests, which record the delays instead of waiting. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_QUOTA_BACKOFF: QuotaBackoff = Object.freeze({
  attempts: 6,
  baseDelayMs: 2_000,
  maxDelayMs: 32_000,
  sleep: (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      }, { once: true });
    }),
});

export async function withQuotaBackoff<T>(
  call: () => Promise<T>,
  isQuota: (err: unknown) => boolean,
  options: Partial<QuotaBackoff> = {},
  signal?: AbortSignal,
): Promise<T> {
  const cfg: QuotaBackoff = { ...DEFAULT_QUOTA_BACKOFF, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isQuota(err) || attempt >= cfg.attempts) throw err;
      await cfg.sleep(Math.min(cfg.maxDelayMs, cfg.baseDelayMs * 2 ** (attempt - 1)), signal);
    }
  }
}
