import type { ScanWindow } from '../model/source.js';
import type { Checkpoint } from './state/store.js';

export interface WindowSettings {
  /** First run: how far back to look (the 5-minute schedule plus a minute of slack). */
  firstRunLookbackMs: number;
  /**
   * Later runs re-read this much before the checkpoint. It must exceed the clock skew between
   * this process and the log service plus the delay before an ingested record becomes queryable;
   * the dedup store drops what the overlap reads twice.
   */
  overlapMs: number;
  /** Catch-up after missed runs is capped; older data is reported as skipped, not silently lost. */
  maxCatchUpMs: number;
}

export const DEFAULT_WINDOW_SETTINGS: WindowSettings = Object.freeze({
  firstRunLookbackMs: 6 * 60_000,
  overlapMs: 2 * 60_000,
  maxCatchUpMs: 24 * 60 * 60_000,
});

export interface PlannedWindow {
  window: ScanWindow;
  /** Set when catch-up was capped: the part of the timeline this run does not read. */
  skipped?: ScanWindow;
  firstRun: boolean;
}

/** The next window of a source, from its checkpoint (docs/architecture.md "Scheduled scans"). */
export function planWindow(checkpoint: Checkpoint | undefined, now: Date, s: WindowSettings): PlannedWindow | undefined {
  const to = now;
  if (checkpoint === undefined) {
    return { window: { from: new Date(to.getTime() - s.firstRunLookbackMs), to }, firstRun: true };
  }
  const last = Date.parse(checkpoint.to);
  let from = new Date(last - s.overlapMs);
  // A checkpoint in the future (our clock went back) has nothing new to read yet.
  if (from.getTime() >= to.getTime()) return undefined;
  let skipped: ScanWindow | undefined;
  if (to.getTime() - from.getTime() > s.maxCatchUpMs) {
    const capped = new Date(to.getTime() - s.maxCatchUpMs);
    skipped = { from, to: capped };
    from = capped;
  }
  return skipped === undefined ? { window: { from, to }, firstRun: false } : { window: { from, to }, skipped, firstRun: false };
}
