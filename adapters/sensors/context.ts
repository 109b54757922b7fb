import { createHash } from 'node:crypto';
import type { Cloud, Origin } from '../../core/model/event.js';
import type { JsonObject } from '../k8s/parse.js';

/**
 * What the envelope around a sensor line tells (the log service, not the sensor): cloud, cluster,
 * the node the sensor's pod ran on (a DaemonSet pod watches its own node), when the line arrived.
 * The envelope's pod and container are the sensor's own and are never copied into the event.
 */
export interface RuntimeContext {
  cloud: Cloud;
  cluster?: string;
  node?: string;
  ingestedAt?: string;
  origin: Origin;
}

/** A stable id for a record that carries none: the same line read twice gets the same id. */
export function recordHash(record: JsonObject): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('hex').slice(0, 32);
}

/** Falco prints `<NA>` for a field it could not fill; both sensors print `""` for "none". */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== '<NA>' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

/** Linux open(2) access mode and the flags worth showing, from a number (Tracee) or `O_A|O_B` text. */
export function openFlags(v: unknown): { read: boolean; write: boolean; names: string[] } | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    const mode = v & 3;
    const names = [mode === 0 ? 'O_RDONLY' : mode === 1 ? 'O_WRONLY' : 'O_RDWR'];
    for (const [bit, name] of FLAG_BITS) if ((v & bit) !== 0) names.push(name);
    return { read: mode === 0 || mode === 2, write: mode === 1 || mode === 2, names };
  }
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return openFlags(Number(v.trim()));
  // Falco prints numeric flags as `1(O_WRONLY)`; the names inside decide.
  const names = v.replace(/^\d+\(|\)$/g, '').split('|').map((s) => s.trim()).filter((s) => s !== '');
  const rdwr = names.includes('O_RDWR');
  const wr = names.includes('O_WRONLY');
  // No access-mode name at all is O_RDONLY (0): Falco and Tracee print only the bits that are set.
  const rd = names.includes('O_RDONLY') || (!rdwr && !wr);
  return { read: rd || rdwr, write: wr || rdwr, names };
}

const FLAG_BITS: ReadonlyArray<readonly [number, string]> = [
  [0o100, 'O_CREAT'],
  [0o1000, 'O_TRUNC'],
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o2000000, 'O_CLOEXEC'],
];

/** ISO time from nanoseconds, milliseconds or seconds since the epoch, or an ISO string. */
export function isoTime(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) return undefined;
    // Keep sub-millisecond digits as printed: they order events of one burst.
    return /^\d{4}-\d\d-\d\dT/.test(v) ? v : new Date(ms).toISOString();
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return undefined;
  const ms = v > 1e16 ? v / 1e6 : v > 1e11 ? v : v * 1000;
  const d = new Date(Math.floor(ms));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
