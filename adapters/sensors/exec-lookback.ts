import { DEFAULT_EXEC_WINDOW_SECONDS, isExecRequest } from '../../core/model/runtime-event.js';
import type { ParseOutcome } from '../../core/model/parse-result.js';
import type { NeedsUnion } from '../../core/model/needs.js';
import type { LogSource, ScanWindow, SourcePage } from '../../core/model/source.js';

/**
 * The audit side of a runtime source: the cluster's pods/exec requests, read before the sensor's
 * lines so the engine that sees a file read already knows the `kubectl exec` behind it. Shared by
 * the EKS, GKE and AKS runtime sources.
 */

/** Only the requests correlation needs from the audit log. */
export const EXEC_NEEDS: NeedsUnion = { resources: new Map([['pods', { subresources: new Set(['exec']), verbs: new Set(['create', 'get']) }]]) };

export interface ExecLookback {
  /** The cluster's audit source. */
  audit: LogSource;
  /** How far before the window execs are looked for (default: the rules' 15-minute exec window). */
  lookbackMs?: number;
  /**
   * Read only [from − lookbackMs, from): the caller feeds the audit source's own window to the
   * same engine (`credwatch scan`), so the window's execs would otherwise be counted twice.
   */
  marginOnly?: boolean;
}

/**
 * The exec window of a runtime read of `window`: ingestion times [from − lookback, to), or only
 * the margin before `from`. Undefined when there is nothing to read.
 */
export function execWindow(window: ScanWindow, x: ExecLookback): ScanWindow | undefined {
  const lookbackMs = x.lookbackMs ?? DEFAULT_EXEC_WINDOW_SECONDS * 1000;
  const from = new Date(window.from.getTime() - lookbackMs);
  const to = x.marginOnly === true ? window.from : window.to;
  return from.getTime() < to.getTime() ? { from, to } : undefined;
}

/** The audit pages of the exec window, numbered from 1; the caller continues the numbering. */
export async function* readExecs(window: ScanWindow, x: ExecLookback | undefined, signal?: AbortSignal): AsyncGenerator<SourcePage> {
  if (x === undefined) return;
  const w = execWindow(window, x);
  if (w === undefined) return;
  let page = 0;
  for await (const p of x.audit.read(w, { needs: EXEC_NEEDS, ...(signal === undefined ? {} : { signal }) })) {
    page++;
    yield { outcomes: p.outcomes, page };
  }
}

/** What every cloud's runtime source takes beside its cloud's options. */
export interface RuntimeOptions {
  /** Container names of the sensor pods (default tracee and falco). */
  sensorContainers?: readonly string[];
  /**
   * The cluster's audit source: its pods/exec requests are read first (from `execLookbackMs`
   * before the window) so every read can be tied to the exec behind it in the same engine.
   */
  audit?: LogSource;
  execLookbackMs?: number;
  /** Read only the exec margin before the window: the caller scans the audit window in the same engine. */
  execMarginOnly?: boolean;
}

/** A lookback config from a runtime source's options, or undefined without an audit source. */
export function lookbackOf(opts: RuntimeOptions): ExecLookback | undefined {
  if (opts.audit === undefined) return undefined;
  return {
    audit: opts.audit,
    ...(opts.execLookbackMs === undefined ? {} : { lookbackMs: opts.execLookbackMs }),
    ...(opts.execMarginOnly === undefined ? {} : { marginOnly: opts.execMarginOnly }),
  };
}

/** The pods/exec requests among `outcomes` that reached the log service inside `window`. */
export function execsIn(outcomes: readonly ParseOutcome[], window: ScanWindow): number {
  const from = window.from.getTime();
  const to = window.to.getTime();
  let n = 0;
  for (const o of outcomes) {
    if (o.kind !== 'event' || !isExecRequest(o.event)) continue;
    const at = Date.parse(o.event.ingestedAt ?? o.event.time);
    if (at >= from && at < to) n++;
  }
  return n;
}

/** How many pods/exec requests the audit log holds for `window` (one extra read, only when asked). */
export async function countExecs(window: ScanWindow, audit: LogSource, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const p of audit.read(window, { needs: EXEC_NEEDS, ...(signal === undefined ? {} : { signal }) })) n += execsIn(p.outcomes, window);
  return n;
}
