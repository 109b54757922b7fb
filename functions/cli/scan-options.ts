import { ConfigError } from '../../core/model/errors.js';
import type { AnyRule } from '../../core/model/rule.js';
import { selectRules as selectFromRegistry, splitIds } from '../../core/engine/rule-selection.js';
import type { ScanWindow } from '../../core/model/source.js';

/**
 * Validation of `scan` flags that commander cannot check by itself. Each error is a ConfigError
 * whose message names the flag, so the CLI can print it and exit 2.
 */

/** Default look-back for live sources when no window flag is given. */
export const DEFAULT_SINCE = '1h';

const DURATION_PART = /(\d+)(ms|s|m|h|d)/g;
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `2h`, `1h30m`, `7d` → milliseconds. */
export function parseDuration(flag: string, text: string): number {
  if (!DURATION.test(text)) {
    throw new ConfigError('invalid-duration', `${flag} ${JSON.stringify(text)} is not a duration: use e.g. 30m, 2h, 1h30m or 7d.`);
  }
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  if (ms <= 0) throw new ConfigError('invalid-duration', `${flag} ${text} must be longer than zero.`);
  return ms;
}

// Date.parse accepts far more than ISO-8601 (e.g. "March 2"); insist on the ISO form.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseIsoTime(flag: string, text: string): Date {
  const ms = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ConfigError('invalid-time', `${flag} ${JSON.stringify(text)} is not an ISO-8601 time: use e.g. 2026-03-02T09:00Z.`);
  }
  return new Date(ms);
}

export interface WindowFlags {
  since?: string;
  from?: string;
  to?: string;
}

/** The ingestion-time window of a live scan: `--since` back from now, or `--from`/`--to`. */
export function resolveWindow(flags: WindowFlags, now: Date): ScanWindow {
  if (flags.since !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new ConfigError('invalid-window', 'Use either --since or --from/--to, not both.');
  }
  if (flags.to !== undefined && flags.from === undefined) {
    throw new ConfigError('invalid-window', '--to needs --from.');
  }
  if (flags.from !== undefined) {
    const from = parseIsoTime('--from', flags.from);
    const to = flags.to === undefined ? now : parseIsoTime('--to', flags.to);
    if (from.getTime() >= to.getTime()) {
      throw new ConfigError('invalid-window', `--from ${from.toISOString()} must be before --to ${to.toISOString()}.`);
    }
    return { from, to };
  }
  const back = parseDuration('--since', flags.since ?? DEFAULT_SINCE);
  return { from: new Date(now.getTime() - back), to: now };
}

/** `--rules a,b` → the rules in registry order; an unknown id is an error that names it. */
export function selectRules(all: readonly AnyRule[], list: string | undefined): AnyRule[] {
  return selectFromRegistry(all, list === undefined ? undefined : splitIds(list), '--rules');
}

/** Collects a repeatable flag; commas split too, so `--gke a,b` equals `--gke a --gke b`. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...splitIds(value)];
}
