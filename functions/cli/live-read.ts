import { SourceError } from '../../core/model/errors.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { withDeadline } from './live-credentials.js';
import { describeSourceFailure, LiveSourceError, apiName, type Cloud } from './source-failure.js';

/**
 * A live source as the CLI reads it: the first page must arrive within a deadline (an endpoint
 * that accepts connections but never answers otherwise holds the scan for the SDK's whole retry
 * budget, minutes), every request still in flight is cancelled when the read ends either way, and
 * a failure is one line saying what to do. The SDKs' own connect and request timeouts stay the
 * bound for later pages, which a working endpoint has already shown it answers.
 */

/** Default for `--timeout`: long enough for a busy workspace's first query, short enough to wait for. */
export const FIRST_PAGE_TIMEOUT_MS = 20_000;

export interface LiveReadOptions {
  cloud: Cloud;
  /** The plan's label (`eks:c1`), used when the source's own name is not known. */
  label: string;
  firstPageTimeoutMs: number;
  /** Called for each page with the running totals (progress display). */
  onPage?: (pages: number, events: number, records: number) => void;
}

export function guardedSource(source: LogSource, opts: LiveReadOptions): LogSource {
  const fail = (err: unknown): SourceError => {
    const line = describeSourceFailure(err, opts.cloud, opts.label, source.name);
    const retryable = err instanceof SourceError ? err.retryable : true;
    const code = err instanceof SourceError || err instanceof LiveSourceError ? err.code : 'live-source-failed';
    // No `cause`: the line already says what the chain said, and the summaries print causes.
    return new SourceError(code, line, { retryable });
  };
  async function* read(window: ScanWindow, options: ReadOptions): AsyncGenerator<SourcePage> {
    const abort = new AbortController();
    const outer = options.signal;
    const onOuterAbort = (): void => abort.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const pages = source.read(window, { ...options, signal: abort.signal })[Symbol.asyncIterator]();
    let count = 0;
    let records = 0;
    let events = 0;
    let done = false;
    try {
      for (;;) {
        const next = pages.next();
        const step =
          count === 0
            ? await withDeadline(next, opts.firstPageTimeoutMs, () =>
                `no answer from the ${apiName(opts.cloud)} within ${opts.firstPageTimeoutMs / 1000} s (endpoint unreachable or not responding; raise --timeout for a slow first query); nothing of the window was read.`,
              )
            : await next;
        if (step.done === true) {
          done = true;
          return;
        }
        count++;
        records += step.value.outcomes.length;
        for (const o of step.value.outcomes) if (o.kind === 'event' || o.kind === 'runtime') events++;
        opts.onPage?.(count, events, records);
        yield step.value;
      }
    } catch (err) {
      throw fail(err);
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
      // Cancels requests still in flight (the SDKs honour the signal), so no socket or retry timer
      // outlives the read.
      abort.abort(new Error('read ended'));
      if (!done) void Promise.resolve(pages.return?.()).catch(() => undefined);
    }
  }
  return {
    name: source.name,
    cloud: source.cloud,
    ...(source.cluster === undefined ? {} : { cluster: source.cluster }),
    read,
    ...(source.notices === undefined ? {} : { notices: () => source.notices?.() ?? [] }),
  };
}
