export const SEVERITIES = Object.freeze(['info', 'low', 'medium', 'high', 'critical'] as const);
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function atLeast(s: Severity, min: Severity): boolean {
  return severityRank(s) >= severityRank(min);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

export function isSeverity(v: unknown): v is Severity {
  return typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v);
}

/** Medium and above page a person (docs/architecture.md "Rules"). */
export function isAlertSeverity(s: Severity): boolean {
  return atLeast(s, 'medium');
}
