/**
 * The one event model every adapter produces (docs/architecture.md "The event model"). Rules read only this.
 * A field the log did not carry is undefined: adapters never invent values.
 */

export type Cloud = 'eks' | 'aks' | 'gke' | 'k8s';
export const CLOUDS: readonly Cloud[] = Object.freeze(['eks', 'aks', 'gke', 'k8s']);

/** How the caller proved who it is, as far as the log tells. */
export type AuthMethod =
  | 'x509'
  | 'serviceaccount-token'
  | 'node'
  | 'cloud-iam'
  | 'anonymous'
  | 'unknown';

export interface UserInfo {
  name?: string;
  /** Undefined when the log does not carry groups (GKE); an empty array when it says "none". */
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface AuthInfo {
  method: AuthMethod;
  /** `authentication.kubernetes.io/credential-id`, e.g. `X509SHA256=<hex>` or `JTI=<uuid>`. */
  credentialId?: string;
  /** Pod the service-account token was bound to (`authentication.kubernetes.io/pod-name`). */
  podName?: string;
  podUid?: string;
  /** EKS: the IAM principal behind the Kubernetes user. */
  cloudPrincipal?: string;
}

export interface Target {
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type OutcomeResult = 'success' | 'failure' | 'unknown';

export interface Outcome {
  result: OutcomeResult;
  /** HTTP status (GKE gRPC codes are mapped to HTTP by the adapter). */
  code?: number;
  reason?: string;
  message?: string;
}

/** Where an event came from, precise enough to find the raw record again. */
export interface Origin {
  /** A file path, `-` for stdin, or a live source name such as `eks:prod-1`. */
  source: string;
  line?: number;
  /** Position inside an envelope (CloudWatch export `events[i]`, AKS `records[i]`). */
  index?: number;
  page?: number;
  /** The cloud's own id of the record: CloudWatch eventId, GKE insertId, … */
  recordId?: string;
}

/**
 * `origin` with more fields: what `{ ...origin, ...more }` gives. Object.assign, because V8 (Node
 * 20) takes a slow path for a spread that adds a property its source lacks (about 0.8 µs, against
 * 0.05), and adapters do it for nearly every record (`recordId`, `index`).
 */
export function originWith(origin: Origin, more: Partial<Origin>): Origin {
  return Object.assign({}, origin, more);
}

export interface AuditEvent {
  kind: 'audit';
  id: string;
  cloud: Cloud;
  cluster?: string;
  /** ISO-8601, when the API server saw the request. */
  time: string;
  /** ISO-8601, when the log service received it, when known. */
  ingestedAt?: string;
  stage?: string;
  level?: string;
  verb: string;
  user: UserInfo;
  auth: AuthInfo;
  impersonatedUser?: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
  target: Target;
  requestURI?: string;
  /** Query parameters in order, repeated keys kept, `+` decoded as space. */
  query?: Array<[string, string]>;
  /** The log service records no query strings (GKE): an absent `query` says nothing about the request. */
  queryUnlogged?: true;
  outcome: Outcome;
  /** `authorization.k8s.io/decision` (allow / forbid). */
  decision?: string;
  decisionReason?: string;
  annotations?: Record<string, string>;
  requestObject?: unknown;
  responseObject?: unknown;
  /** The log service cut the record, or replaced a body with a size marker. */
  truncated: boolean;
  origin: Origin;
}

/**
 * Adapters build events and their parts with these: every field of the model, in one order, the
 * optional ones undefined until set. V8 then gives the events of every cloud one hidden class. Built
 * field by field as each log carries them, events of each cloud (and of each kind of request) had
 * their own, and every rule and helper that reads them went polymorphic, deoptimised and was compiled
 * again at each change of shape: in a file that mixes clouds, most of a scan's compile work.
 * (An undefined field is what an absent one is to every reader and to JSON.)
 */
export function newAuditEvent(
  fields: Pick<AuditEvent, 'id' | 'cloud' | 'time' | 'verb' | 'user' | 'auth' | 'sourceIPs' | 'target' | 'outcome' | 'truncated' | 'origin'>,
): AuditEvent {
  return {
    kind: 'audit',
    id: fields.id,
    cloud: fields.cloud,
    cluster: undefined,
    time: fields.time,
    ingestedAt: undefined,
    stage: undefined,
    level: undefined,
    verb: fields.verb,
    user: fields.user,
    auth: fields.auth,
    impersonatedUser: undefined,
    sourceIPs: fields.sourceIPs,
    userAgent: undefined,
    target: fields.target,
    requestURI: undefined,
    query: undefined,
    queryUnlogged: undefined,
    outcome: fields.outcome,
    decision: undefined,
    decisionReason: undefined,
    annotations: undefined,
    requestObject: undefined,
    responseObject: undefined,
    truncated: fields.truncated,
    origin: fields.origin,
  };
}

/** A target with every field, none set (see `newAuditEvent`). */
export function newTarget(): Target {
  return { apiGroup: undefined, apiVersion: undefined, resource: undefined, subresource: undefined, namespace: undefined, name: undefined };
}

/** User info with every field, none set (see `newAuditEvent`). */
export function newUserInfo(): UserInfo {
  return { name: undefined, groups: undefined, uid: undefined, extra: undefined };
}

/** An outcome with every field (see `newAuditEvent`). */
export function newOutcome(result: OutcomeResult): Outcome {
  return { result, code: undefined, reason: undefined, message: undefined };
}

/** Auth info with every field (see `newAuditEvent`). */
export function newAuthInfo(method: AuthMethod): AuthInfo {
  return { method, credentialId: undefined, podName: undefined, podUid: undefined, cloudPrincipal: undefined };
}

/** The marker Kubernetes / AKS put in place of a body that was too large to log. */
export const SKIPPED_BODY_MARKER = 'skipped-too-big-size-object';

/** First value of a `user.extra` key, or undefined. */
export function extraValue(user: UserInfo, key: string): string | undefined {
  return user.extra?.[key]?.[0];
}

/** The query parameter values for `key`, in order. */
export function queryValues(event: AuditEvent, key: string): string[] {
  return (event.query ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

export function eventTimeMs(event: AuditEvent): number {
  return Date.parse(event.time);
}

/**
 * Gives every field of the model's objects each kind of value it will ever hold, once, when this
 * module loads. V8 tracks each field of a hidden class: its representation (small integer, double,
 * object), the class of the objects in it, and whether it was ever written after creation. A field
 * that is undefined in every event until, minutes into a scan, one event sets it (the first
 * impersonated request, the first CSR body, the first GKE record) changes what V8 knows of it, and
 * every optimised function that relied on that is thrown away and compiled again: waves of a dozen
 * functions at a time. Generalised now, before anything is optimised, these fields start no such
 * wave (on the 1,000-node bench file, 63 of them became 40; most of the rest follow V8's
 * pretenuring decisions, docs/cli.md).
 */
function primeFieldKinds(): void {
  const values: unknown[] = ['x', 1, 1.5, true, {}, [], undefined];
  const prime = (o: object): void => {
    for (const key of Object.keys(o)) {
      const record = o as Record<string, unknown>;
      const original = record[key];
      for (const v of values) record[key] = v;
      record[key] = original;
    }
  };
  const target = newTarget();
  const user = newUserInfo();
  const outcome = newOutcome('unknown');
  const auth = newAuthInfo('unknown');
  prime(target);
  prime(user);
  prime(outcome);
  prime(auth);
  const event = newAuditEvent({ id: 'x', cloud: 'k8s', time: 'x', verb: 'x', user, auth, sourceIPs: [], target, outcome, truncated: false, origin: { source: 'x' } });
  prime(event);
}
primeFieldKinds();
