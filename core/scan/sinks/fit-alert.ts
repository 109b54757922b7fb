import type { Alert } from '../../model/finding.js';

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

/** Longest string kept in facts when an alert must shrink; long PEMs and step lists go first. */
const TRIMMED_STRING = 512;

/**
 * Shrinks an alert until its JSON fits `maxBytes` by trimming evidence, never by dropping it:
 * first long strings in `facts`, then `facts` detail beyond the top-level keys, then the user's
 * `extra`. The verdict (rule, severity, summary, ids, target, user name) always survives.
 * Returns the alert and what was trimmed (recorded in `facts.trimmed` too).
 */
export function fitAlert(alert: Alert, maxBytes: number): { alert: Alert; trimmed: string[] } {
  if (bytes(alert) <= maxBytes) return { alert, trimmed: [] };
  const trimmed: string[] = [];
  let out: Alert = { ...alert, facts: truncateStrings(alert.facts, TRIMMED_STRING) as Record<string, unknown> };
  trimmed.push(`facts strings cut to ${TRIMMED_STRING} chars`);
  const withNote = (a: Alert): Alert => ({ ...a, facts: { ...a.facts, trimmed: [...trimmed] } });
  if (bytes(withNote(out)) <= maxBytes) return { alert: withNote(out), trimmed };
  out = { ...out, facts: { keys: Object.keys(alert.facts) } };
  trimmed.push('facts reduced to their keys');
  if (bytes(withNote(out)) <= maxBytes) return { alert: withNote(out), trimmed };
  const { extra: _dropped, ...user } = out.event.user;
  out = { ...out, event: { ...out.event, user, sourceIPs: out.event.sourceIPs.slice(0, 4) } };
  trimmed.push('user.extra and all but 4 source IPs dropped');
  if (bytes(withNote(out)) <= maxBytes) return { alert: withNote(out), trimmed };
  out = { ...out, summary: out.summary.slice(0, 1024), event: { ...out.event, userAgent: out.event.userAgent?.slice(0, 256) ?? null } };
  trimmed.push('summary and user agent cut');
  return { alert: withNote(out), trimmed };
}

function truncateStrings(value: unknown, max: number, depth = 0): unknown {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max)}…[${value.length - max} more chars]` : value;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const kept = value.slice(0, 50).map((v) => truncateStrings(v, max, depth + 1));
    return value.length > 50 ? [...kept, `…[${value.length - 50} more items]`] : kept;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = truncateStrings(v, max, depth + 1);
  return out;
}
