import { queryValues, type AuditEvent } from '../model/event.js';
import { execCommand } from './exec-command.js';
import type { EventHistory } from '../model/rule.js';
import type { RuntimeEvent } from '../model/runtime-event.js';

/**
 * Ties a process a runtime sensor saw in a container to the `kubectl exec` (pods/exec request in
 * the audit log) that started it: same cluster, namespace, pod and container, the exec shortly
 * before the process event. This is the join users ask for (falcosecurity/falco#2895,
 * falcosecurity/plugins#313): the Kubernetes user, source IP and user agent behind a file read.
 */

/** Node and API-server clocks differ a little; an exec logged this far after the read still counts. */
export const DEFAULT_EXEC_SKEW_SECONDS = 60;

export const NO_EXEC_NOTE = 'no kubectl exec found in the scan: a compromised workload, not a person at a shell';
export const HOST_PROCESS_NOTE = 'a process on the node, outside any pod: no kubectl exec can start it';

/** The key execs and runtime events of one pod share. */
export function podKey(cluster: string | undefined, namespace: string, pod: string): string {
  return `${cluster ?? ''}\u0000${namespace}\u0000${pod}`;
}

export function podKeyOfExec(e: AuditEvent): string | undefined {
  const { namespace, name } = e.target;
  return namespace === undefined || name === undefined ? undefined : podKey(e.cluster, namespace, name);
}

export function podKeyOfRuntime(e: RuntimeEvent): string | undefined {
  return e.namespace === undefined || e.pod === undefined ? undefined : podKey(e.cluster, e.namespace, e.pod);
}

export interface ExecWindow {
  windowSeconds: number;
  skewSeconds: number;
}

/** The exec's facts as the finding reports them (`facts.execBy`). */
export interface ExecFacts {
  user: string | null;
  groups: string[] | null;
  sourceIPs: string[];
  userAgent: string | null;
  auditId: string;
  time: string;
  command: string[] | null;
  container: string | null;
  tty: boolean | null;
}

export interface ExecCorrelation {
  exec?: AuditEvent;
  facts: { execBy: ExecFacts | null; note?: string; otherExecUsers?: string[] };
  /** True when an exec could still arrive later in the input (a process in a pod, none found yet). */
  canStillArrive: boolean;
}

function containerOf(exec: AuditEvent): string | undefined {
  return queryValues(exec, 'container')[0];
}

function execFacts(exec: AuditEvent): ExecFacts {
  const tty = queryValues(exec, 'tty')[0];
  return {
    user: exec.user.name ?? null,
    groups: exec.user.groups ?? null,
    sourceIPs: exec.sourceIPs,
    userAgent: exec.userAgent ?? null,
    auditId: exec.id,
    time: exec.time,
    command: execCommand(exec)?.argv ?? null,
    container: containerOf(exec) ?? null,
    tty: tty === undefined ? null : tty === 'true',
  };
}

/**
 * The latest successful exec into the event's pod and container within the window before it (or
 * up to `skewSeconds` after). A container name missing on either side matches: GKE logs no query
 * string, and a sensor without CRI metadata prints no container name.
 */
export function correlateExec(event: RuntimeEvent, history: EventHistory, window: ExecWindow): ExecCorrelation {
  if (event.pod === undefined || event.namespace === undefined) {
    return { facts: { execBy: null, note: event.container === undefined ? HOST_PROCESS_NOTE : NO_EXEC_NOTE }, canStillArrive: false };
  }
  const at = Date.parse(event.time);
  const execs = (history.execsInPod?.(event.cluster, event.namespace, event.pod) ?? []).filter((x) => {
    if (x.outcome.result === 'failure') return false;
    const c = containerOf(x);
    if (c !== undefined && event.container?.name !== undefined && c !== event.container.name) return false;
    const t = Date.parse(x.time);
    return t >= at - window.windowSeconds * 1000 && t <= at + window.skewSeconds * 1000;
  });
  if (execs.length === 0) return { facts: { execBy: null, note: NO_EXEC_NOTE }, canStillArrive: true };
  // The exec closest before the event started its session; a later one (clock skew) only if none before.
  const sorted = [...execs].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const before = sorted.filter((x) => Date.parse(x.time) <= at);
  const exec = before.length > 0 ? before[before.length - 1]! : sorted[0]!;
  const others = [...new Set(execs.filter((x) => x !== exec).map((x) => x.user.name ?? 'unknown'))].filter((u) => u !== exec.user.name);
  return {
    exec,
    facts: { execBy: execFacts(exec), ...(others.length > 0 ? { otherExecUsers: others } : {}) },
    canStillArrive: false,
  };
}
