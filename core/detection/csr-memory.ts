import type { AuditEvent } from '../model/event.js';

/** A CSR lives at most a day: the CSR cleaner removes pending ones after 24 h, decided ones after 1 h. */
export const CSR_LIFE_MS = 24 * 60 * 60_000;

/**
 * Rule memory of the CSR rules: each request on a CSR name for a day, the longest a CSR lives. A
 * deleted CSR's requests stay too: a later run that re-reads part of its life in the window
 * overlap must see all of it, or it could judge the partial chain by another decisive event.
 */
export function keepCsrRequest(e: AuditEvent): { forMs: number; key: string } | undefined {
  if (e.target.resource !== 'certificatesigningrequests' || e.target.name === undefined) return undefined;
  return { forMs: CSR_LIFE_MS, key: `${e.cluster ?? ''}\u0000${e.id}` };
}
