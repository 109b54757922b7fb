import type { AuditEvent } from '../model/event.js';
import { forLastEvent } from './memo.js';
import { serviceAccountOf } from './identity.js';
import { singleNameRead } from './kubelet.js';
import {
  CONTROL_PLANE_SECRET_READERS,
  type ControlPlaneSecretReader,
  type SecretControllerEntry,
} from './secret-readers.js';

/**
 * Facts about a Secret read that the Secret rules share (docs/rules-secrets.md): how much it reads, whether it
 * was denied, whether a service-account token was used from its pod, and whether the caller is
 * trusted control plane or an allowlisted controller. Each fact says what the log could not show
 * instead of guessing.
 */

/** One object, a whole namespace, or every namespace. */
export type SecretScope = 'single' | 'namespace' | 'cluster';

export interface SecretRead {
  scope: SecretScope;
  namespace?: string;
  name?: string;
  /**
   * How a single name was established: a `get`, a `metadata.name` field selector in the query, or
   * the object name the API server put in the audit record for a list/watch (it does so only for
   * an exact `metadata.name` selector, so it stands in for the query where none is logged).
   */
  selector?: 'get' | 'field-selector' | 'object-name';
  /** What the log did not show that could have changed the verdict (shared: never changed by a caller). */
  readonly unverified: readonly string[];
}

export const UNVERIFIED = Object.freeze({
  fieldSelector: 'field selector not logged',
  userAgent: 'user agent not logged',
  sourceAddress: 'source address not logged',
  podClaim: 'pod-name claim not logged',
});

/**
 * Four rule paths ask this of every Secret read (three rules' verdicts and a rule's running count),
 * one after another for the event in hand, so the last answer is all that is kept: a WeakMap entry
 * per read (what `oncePerEvent` keeps) cost more than the question, and its ephemerons every full
 * collection. A later look at an older event works it out again, to an equal answer.
 */
export const secretRead: (event: AuditEvent) => SecretRead = forLastEvent((event) => readOf(event));

function readOf(event: AuditEvent): SecretRead {
  const t = event.target;
  if (event.verb === 'get' && t.name !== undefined) return read('single', t.namespace, t.name, 'get', NOTHING_UNVERIFIED);
  const selected = singleNameRead(event);
  if (selected !== undefined) return read('single', t.namespace, selected, 'field-selector', NOTHING_UNVERIFIED);
  const queryUnknown = event.query === undefined ? SELECTOR_UNVERIFIED : NOTHING_UNVERIFIED;
  if ((event.verb === 'list' || event.verb === 'watch') && t.name !== undefined) return read('single', t.namespace, t.name, 'object-name', queryUnknown);
  // A namespace or cluster read; where the query is not logged a label or field selector may have
  // narrowed it, but the caller was still allowed to read the whole scope.
  return read(t.namespace === undefined ? 'cluster' : 'namespace', t.namespace, undefined, undefined, event.verb === 'get' ? NOTHING_UNVERIFIED : queryUnknown);
}

/** The answers share these lists (a SecretRead is never changed by a caller). */
const NOTHING_UNVERIFIED: readonly string[] = Object.freeze([]);
const SELECTOR_UNVERIFIED: readonly string[] = Object.freeze([UNVERIFIED.fieldSelector]);

/** A SecretRead with its fields in one order (one hidden class for every answer). */
function read(scope: SecretScope, namespace: string | undefined, name: string | undefined, selector: SecretRead['selector'], unverified: readonly string[]): SecretRead {
  return { scope, namespace, name, selector, unverified };
}

/** Refused by authentication or authorization (401/403, or an explicit forbid decision). A 404 is not a denial. */
export function isDenied(event: AuditEvent): boolean {
  const code = event.outcome.code;
  return code === 401 || code === 403 || event.decision === 'forbid';
}

/** The client address as the API server saw it (first entry; later ones are proxies). */
export function clientAddress(event: AuditEvent): string | undefined {
  return event.sourceIPs[0];
}

export type PodBinding =
  | { state: 'bound'; podName: string }
  /** The log shows the token's claims (a bound token with a JTI) and no pod among them. */
  | { state: 'unbound' }
  /** The log carries no token claims at all (GKE, legacy token Secrets, older API servers). */
  | { state: 'not-logged' };

const CREDENTIAL_ID_KEY = 'authentication.kubernetes.io/credential-id';

/**
 * Whether a service-account token was bound to a pod. Only a record that logs the whole user
 * object can show a missing pod claim: its `extra` then carries the token's JTI (TokenRequest
 * tokens) and, whenever the token is bound to a pod, `pod-name` next to it. The user's groups are
 * the witness that the whole object was logged: GKE logs no groups and copies only the credential
 * id into its labels, so there a JTI without a pod name proves nothing.
 */
export function podBinding(event: AuditEvent): PodBinding {
  if (event.auth.podName !== undefined) return { state: 'bound', podName: event.auth.podName };
  const jti = event.user.extra?.[CREDENTIAL_ID_KEY]?.some((v) => v.startsWith('JTI=')) === true;
  return jti && event.user.groups !== undefined ? { state: 'unbound' } : { state: 'not-logged' };
}

/**
 * Clients that do not run in a pod: a workstation build of a Kubernetes client (client-go puts
 * `(<os>/<arch>)` in its user agent, and pods run Linux) or a browser.
 */
const NOT_A_POD_UA = /\((darwin|windows)\/[\w-]+\)|^Mozilla\//;

export function userAgentOutsidePod(userAgent: string | undefined): boolean {
  if (userAgent === undefined) return false;
  // Asked of every earlier request of a service account (up to the history bound per event), over
  // a handful of distinct user agents: the answers are kept, within a bound.
  let outside = outsidePodAnswers.get(userAgent);
  if (outside === undefined) {
    outside = NOT_A_POD_UA.test(userAgent);
    if (outsidePodAnswers.size >= OUTSIDE_POD_ANSWERS_KEPT) outsidePodAnswers.clear();
    outsidePodAnswers.set(userAgent, outside);
  }
  return outside;
}
const OUTSIDE_POD_ANSWERS_KEPT = 4096;
const outsidePodAnswers = new Map<string, boolean>();

/** Tools an attacker reaches for; a kubelet, controller or operator never sends these. */
const INTERACTIVE_UA = /^(kubectl|curl|wget|python|Python|Go-http-client|Wget|PowerShell|perl|java|node-fetch|axios|okhttp)\b/;

export function isInteractiveClient(userAgent: string | undefined): boolean {
  return userAgent !== undefined && INTERACTIVE_UA.test(userAgent);
}

/** The control-plane entry that trusts this request, when its name and user agent both fit. */
export function controlPlaneReader(
  event: AuditEvent,
  table: readonly ControlPlaneSecretReader[] = CONTROL_PLANE_SECRET_READERS,
): ControlPlaneSecretReader | undefined {
  const name = event.user.name;
  if (name === undefined) return undefined;
  const entries = entriesByUser(table).get(name);
  return entries?.find((r) => r.userAgentPrefix === undefined || (event.userAgent?.startsWith(r.userAgentPrefix) ?? false));
}

/** A table's entries by user name, in table order: asked of every Secret read, a scan of the table was a visible share. */
function entriesByUser(table: readonly ControlPlaneSecretReader[]): Map<string, ControlPlaneSecretReader[]> {
  let index = tableIndexes.get(table);
  if (index === undefined) {
    index = new Map();
    for (const r of table) {
      const list = index.get(r.user);
      if (list === undefined) index.set(r.user, [r]);
      else list.push(r);
    }
    tableIndexes.set(table, index);
  }
  return index;
}
const tableIndexes = new WeakMap<readonly ControlPlaneSecretReader[], Map<string, ControlPlaneSecretReader[]>>();

/** A control-plane name used with a user agent that does not fit it: trust refused, worth saying. */
export function impersonatesControlPlane(
  event: AuditEvent,
  table: readonly ControlPlaneSecretReader[] = CONTROL_PLANE_SECRET_READERS,
): ControlPlaneSecretReader | undefined {
  if (controlPlaneReader(event, table) !== undefined) return undefined;
  return table.find((r) => r.user === event.user.name);
}

export type ControllerMatch =
  | { allowed: true; entry: SecretControllerEntry; via: 'pod-name' | 'user-agent' }
  /** `entry` is set when the service account is allowlisted but this request did not fit the binding. */
  | { allowed: false; entry?: SecretControllerEntry; why?: string };

/** Whether an allowlisted controller made this request from its own pod. */
export function matchController(event: AuditEvent, entries: readonly SecretControllerEntry[]): ControllerMatch {
  const sa = serviceAccountOf(event.user.name);
  if (sa === undefined) return { allowed: false };
  const candidates = entries.filter((e) => e.serviceAccount === `${sa.namespace}:${sa.name}`);
  const first = candidates[0];
  if (first === undefined) return { allowed: false };
  const binding = podBinding(event);
  if (binding.state === 'bound') {
    const entry = candidates.find((e) => binding.podName.startsWith(e.podNamePrefix));
    if (entry !== undefined) return { allowed: true, entry, via: 'pod-name' };
    return { allowed: false, entry: first, why: `pod-name claim ${binding.podName} does not start with ${first.podNamePrefix}` };
  }
  if (binding.state === 'unbound') {
    return { allowed: false, entry: first, why: 'allowlisted service account used with a token not bound to a pod' };
  }
  const ua = event.userAgent;
  const byAgent = candidates.find((e) => e.userAgentPrefix !== undefined && ua?.startsWith(e.userAgentPrefix) === true);
  if (byAgent !== undefined) return { allowed: true, entry: byAgent, via: 'user-agent' };
  return {
    allowed: false,
    entry: first,
    why: `${UNVERIFIED.podClaim} and no userAgentPrefix of the allowlist entry matches`,
  };
}

/** `secret ns/name`, `every secret in namespace ns`, `secrets in all namespaces`. */
export function describeRead(read: SecretRead): string {
  if (read.scope === 'single') return `secret ${read.namespace ?? '(cluster)'}/${read.name ?? '?'}`;
  if (read.scope === 'namespace') return `every secret in namespace ${read.namespace ?? '?'}`;
  return 'secrets in all namespaces';
}

/** `from 10.0.1.23 with kubelet/v1.30.2 …`, or what was not logged. */
export function describeClient(event: AuditEvent): string {
  const addr = clientAddress(event) ?? 'an unlogged address';
  return `from ${addr} with ${event.userAgent ?? 'no logged user agent'}`;
}
