import { createHash } from 'node:crypto';
import type { AuditEvent, Cloud, Origin, Target, UserInfo, Outcome } from './event.js';
import { ruleDocsLink } from './rule-docs.js';
import type { DetectionEvent, RuntimeEvent } from './runtime-event.js';
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
  /** The event that decided the verdict: an audit request, or a runtime sensor event. */
  event: DetectionEvent;
  /** For a runtime finding: the pods/exec request that started the process, when one was tied to it. */
  exec?: AuditEvent;
  facts: Record<string, unknown>;
  mitre: readonly string[];
}

export function findingKey(ruleId: string, cluster: string | undefined, eventId: string): string {
  return createHash('sha256')
    .update(`${ruleId}\u0000${cluster ?? ''}\u0000${eventId}`)
    .digest('hex')
    .slice(0, 32);
}

/** The alert JSON of docs/architecture.md "Alerts": what the CLI prints with --format jsonl and sinks send. */
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
    /** Runtime findings only: what the sensor saw (the rest of `event` is projected from it). */
    runtime?: RuntimeAlertBlock;
  };
  facts: Record<string, unknown>;
  mitre: string[];
  /**
   * The rule's reference section (what it means, false positives, runbook), relative to the
   * repository root: `docs/rules-<family>.md#reference-<rule>`. Absent for a rule without docs.
   */
  docs?: string;
}

export interface RuntimeAlertBlock {
  sensor: RuntimeEvent['sensor'];
  process: RuntimeEvent['process'];
  processUser: string | null;
  container: RuntimeEvent['container'] | null;
  node: string | null;
  file: RuntimeEvent['file'] | null;
  rename: RuntimeEvent['rename'] | null;
  time: string;
}

/**
 * A runtime event in the alert's audit-shaped `event` block: `verb` is the operation, `user` the
 * Kubernetes user of the exec behind it when one was found (else the process's Linux user),
 * `sourceIPs`/`userAgent` the exec's, `target` the pod.
 */
function runtimeAlertEvent(e: RuntimeEvent, exec: AuditEvent | undefined): Alert['event'] {
  const processUser = e.user?.name ?? (e.user?.uid === undefined ? undefined : `uid:${e.user.uid}`);
  const target: Target = { resource: 'pods' };
  if (e.namespace !== undefined) target.namespace = e.namespace;
  if (e.pod !== undefined) target.name = e.pod;
  return {
    id: e.id,
    verb: e.verb,
    user: exec?.user ?? (processUser === undefined ? {} : { name: processUser }),
    sourceIPs: exec?.sourceIPs ?? [],
    userAgent: exec?.userAgent ?? null,
    target,
    outcome: { result: e.outcome },
    origin: e.origin,
    runtime: {
      sensor: e.sensor,
      process: e.process,
      processUser: processUser ?? null,
      container: e.container ?? null,
      node: e.node ?? null,
      file: e.file ?? null,
      rename: e.rename ?? null,
      time: e.time,
    },
  };
}

export function toAlert(f: Finding): Alert {
  const e = f.event;
  const event: Alert['event'] =
    e.kind === 'runtime'
      ? runtimeAlertEvent(e, f.exec)
      : {
          id: e.id,
          verb: e.verb,
          user: e.user,
          sourceIPs: e.sourceIPs,
          userAgent: e.userAgent ?? null,
          target: e.target,
          outcome: e.outcome,
          origin: e.origin,
        };
  return {
    id: f.key,
    rule: f.rule,
    title: f.title,
    severity: f.severity,
    summary: f.summary,
    cloud: f.cloud,
    cluster: f.cluster ?? null,
    time: f.time,
    event,
    facts: f.facts,
    mitre: [...f.mitre],
    ...docsOf(f.rule),
  };
}

function docsOf(rule: string): { docs?: string } {
  const docs = ruleDocsLink(rule);
  return docs === undefined ? {} : { docs };
}
