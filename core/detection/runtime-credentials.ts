import { posix } from 'node:path';
import * as z from 'zod';
import { correlateExec, DEFAULT_EXEC_SKEW_SECONDS, type ExecCorrelation } from './exec-correlation.js';
import { DEFAULT_EXEC_WINDOW_SECONDS } from '../model/runtime-event.js';
import type { RuleContext, RuntimeFindingDraft } from '../model/rule.js';
import type { Severity } from '../model/severity.js';
import type { RuntimeEvent } from '../model/runtime-event.js';
import { DEFAULT_HOST_MOUNT_PREFIXES, type PathMatch } from './sensitive-paths.js';

/**
 * What the two runtime credential rules share: the entries of core/detection/sensitive-paths.ts they watch,
 * the processes that own those files, and the exec-correlation options.
 */

/** The kubelet's own credentials: read from a container, Elastic's kubelet-certificate rule reports them. */
export const KUBELET_CREDENTIAL_ENTRIES: ReadonlySet<string> = new Set(['kubelet-pki', 'kubelet-kubeconfig', 'bootstrap-kubeconfigs']);
/** Node and control-plane PKI and kubeconfigs (TRC-1018 extended to kubeconfigs and AKS node certs). Tokens are read by every workload. */
export const NODE_CREDENTIAL_ENTRIES: ReadonlySet<string> = new Set([
  'control-plane-pki',
  'kubelet-pki',
  'aks-node-certs',
  'kubeadm-admin-kubeconfigs',
  'node-kubeconfigs',
  'kubelet-kubeconfig',
  'bootstrap-kubeconfigs',
]);

/**
 * Programs that read these files as their job. TRC-1018 lists kube-apiserver, kubelet,
 * kube-controller (the 15-character comm) and etcd; kube-scheduler reads scheduler.conf and
 * kubeadm writes and renews the PKI.
 */
export const DEFAULT_CREDENTIAL_OWNERS: readonly string[] = Object.freeze(['kube-apiserver', 'kubelet', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'kubeadm']);
/** Linux truncates the task name to 15 characters. */
const COMM_LENGTH = 15;

export const runtimeCredentialOptions = z.object({
  /** Executable base names allowed to open these files (matched on the real executable path). */
  allowedExecutables: z.array(z.string().min(1)).default([...DEFAULT_CREDENTIAL_OWNERS]),
  /** Mount points of the node filesystem inside pods: /host/var/lib/kubelet/pki is the node's kubelet PKI. */
  hostMountPrefixes: z.array(z.string().startsWith('/')).default([...DEFAULT_HOST_MOUNT_PREFIXES]),
  /** How long before a read a `kubectl exec` into the same container is taken as its origin. */
  execWindowSeconds: z.number().int().positive().default(DEFAULT_EXEC_WINDOW_SECONDS),
  /** Clock difference tolerated between node and API server (an exec logged slightly after the read). */
  execSkewSeconds: z.number().int().nonnegative().default(DEFAULT_EXEC_SKEW_SECONDS),
});
export type RuntimeCredentialOptions = z.infer<typeof runtimeCredentialOptions>;

/**
 * True when the process is one of the owners: the executable's base name when the sensor printed
 * it (so kube-controller-manager is recognised, unlike TRC-1018's current detector); otherwise the
 * task name, which may be the owner's name cut at 15 characters.
 */
export function isCredentialOwner(e: RuntimeEvent, allowed: readonly string[]): boolean {
  const exe = e.process.executable;
  if (exe !== undefined) return allowed.includes(posix.basename(exe));
  const comm = e.process.name;
  return allowed.some((a) => a === comm || (comm.length === COMM_LENGTH && a.startsWith(comm)));
}

/** The exec behind the event, and the facts a finding reports about it. */
export function execBehind(e: RuntimeEvent, ctx: RuleContext<RuntimeCredentialOptions>): ExecCorrelation {
  return correlateExec(e, ctx.history, { windowSeconds: ctx.options.execWindowSeconds, skewSeconds: ctx.options.execSkewSeconds });
}

/** A refused attempt read nothing (medium); a private key read is critical, any other credential high. */
export function credentialReadSeverity(failed: boolean, privateKey: boolean): Severity {
  return failed ? 'medium' : privateKey ? 'critical' : 'high';
}

/**
 * A credential-read finding as both runtime credential rules give it: severity from the outcome
 * and the key, the summary completed with where it ran (then `afterWhere`) and the exec behind
 * it, the facts every such finding carries around the rule's own, and the exec it names.
 */
export function credentialReadFinding(
  e: RuntimeEvent,
  c: ExecCorrelation,
  f: { failed: boolean; privateKey: boolean; summary: string; afterWhere?: string; facts: Record<string, unknown> },
): RuntimeFindingDraft {
  return {
    severity: credentialReadSeverity(f.failed, f.privateKey),
    summary: `${f.summary} ${describeWhere(e)}${f.afterWhere ?? ''}${describeExec(c)}`,
    facts: { operation: e.verb, outcome: e.outcome, ...f.facts, ...accessFacts(e), ...processFacts(e), ...c.facts },
    ...execLink(c),
  };
}

/** The exec a runtime finding names, and whether the engine holds the finding for one still to arrive. */
export function execLink(c: ExecCorrelation): Pick<RuntimeFindingDraft, 'exec' | 'awaitsExec'> {
  return { ...(c.exec === undefined ? {} : { exec: c.exec }), awaitsExec: c.canStillArrive };
}

export function describeWhere(e: RuntimeEvent): string {
  const where = e.pod === undefined ? (e.container === undefined ? 'on the host' : `in container ${e.container.name ?? e.container.id}`) : `in pod ${e.namespace ?? '?'}/${e.pod}`;
  return `${where}${e.node === undefined ? '' : ` on node ${e.node}`}${e.cluster === undefined ? '' : ` in cluster ${e.cluster}`}`;
}

export function describeExec(c: ExecCorrelation): string {
  const by = c.facts.execBy;
  if (by === null) return '';
  return `, started by ${by.user ?? 'an unknown user'}'s kubectl exec from ${by.sourceIPs[0] ?? 'an unknown address'}`;
}

export function pathFacts(m: PathMatch): Record<string, unknown> {
  return { path: m.path, nodePath: m.nodePath, hostPrefix: m.hostPrefix ?? null, kind: m.kind, entry: m.entry, privateKey: m.privateKey };
}

export function processFacts(e: RuntimeEvent): Record<string, unknown> {
  return {
    sensor: e.sensor,
    process: e.process.name,
    executable: e.process.executable ?? null,
    args: e.process.args,
    parent: e.process.parent?.name ?? null,
    tty: e.process.tty ?? null,
    processUser: e.user?.name ?? (e.user?.uid === undefined ? null : `uid:${e.user.uid}`),
    container: e.container?.name ?? null,
    containerId: e.container?.id ?? null,
    image: e.container?.image ?? null,
    pod: e.pod === undefined ? null : `${e.namespace ?? '?'}/${e.pod}`,
    node: e.node ?? null,
  };
}

export const POSSIBLE_READ_NOTE =
  'the sensor did not say whether the file was opened for reading or for writing (no open flags, no read/write field, no stock rule that selects one): reported as a possible read';

/**
 * How an open's read intent is known (`facts.openAccess`), and when it is not, the finding says so
 * (`facts.uncertainty`). Undefined for events that are not opens.
 */
export function accessFacts(e: RuntimeEvent): Record<string, unknown> {
  if (e.verb !== 'open-read' && e.verb !== 'open-write') return {};
  const from = e.file?.accessFrom ?? 'flags';
  return from === 'unknown' ? { openAccess: from, uncertainty: POSSIBLE_READ_NOTE } : { openAccess: from };
}

/** True when the open may not have been a read at all. */
export function possibleReadOnly(e: RuntimeEvent): boolean {
  return e.verb === 'open-read' && e.file?.accessFrom === 'unknown';
}
