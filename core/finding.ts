import { createHash } from 'node:crypto';
import type { AuditEvent, Cloud, Origin, Target, UserInfo, Outcome } from './event.js';
import type { Severity } from './severity.js';

export interface Finding {
  /** Stable: hash(rule id, cluster, event id). Re-sent alerts carry the same key. */
  key: string;
  rule: string;
  title: string;
  severity: Severity;
  summary: string;
  cloud: Cloud;
  cluster?: string;
  time: string;
  event: AuditEvent;
  facts: Record<string, unknown>;
  mitre: readonly string[];
}

export function findingKey(ruleId: string, cluster: string | undefined, eventId: string): string {
  return createHash('sha256')
    .update(`${ruleId}\u0000${cluster ?? ''}\u0000${eventId}`)
    .digest('hex')
    .slice(0, 32);
}

/** The alert JSON of DESIGN.md "Alerts": what the CLI prints with --format jsonl and sinks send. */
export interface Alert {
  id: string;
  rule: string;
  title: string;
  severity: Severity;
  summary: string;
  cloud: Cloud;
  cluster: string | null;
  time: string;
  event: {
    id: string;
    verb: string;
    user: UserInfo;
    sourceIPs: string[];
    userAgent: string | null;
    target: Target;
    outcome: Outcome;
    origin: Origin;
  };
  facts: Record<string, unknown>;
  mitre: string[];
}

export function toAlert(f: Finding): Alert {
  const e = f.event;
  return {
    id: f.key,
    rule: f.rule,
    title: f.title,
    severity: f.severity,
    summary: f.summary,
    cloud: f.cloud,
    cluster: f.cluster ?? null,
    time: f.time,
    event: {
      id: e.id,
      verb: e.verb,
      user: e.user,
      sourceIPs: e.sourceIPs,
      userAgent: e.userAgent ?? null,
      target: e.target,
      outcome: e.outcome,
      origin: e.origin,
    },
    facts: f.facts,
    mitre: [...f.mitre],
  };
}
