import type { AnyRule, RuleNeeds } from '../../core/rule.js';

/**
 * A test on the text of one input line, before it is parsed, that keeps every line some enabled
 * rule could want. Most of an audit log (leases, status updates, watches, events) can never reach
 * a rule, and skipping their JSON.parse is most of a file scan's time (docs/cli.md "Prefilter").
 *
 * It drops a line only when it could read the request with certainty and what it read fails every
 * rule's needs; everything else is parsed as before. Certainty comes from the shapes log services
 * write one request per line in:
 * - a raw audit.k8s.io Event (`{"kind":"Event","apiVersion":"audit.k8s.io/…`);
 * - an EKS CloudWatch Logs event of a `kube-apiserver-audit-*` stream, the Event a JSON string in
 *   `message`;
 * - an AKS diagnostic record, the Event a JSON string in `properties.log`;
 * - a GKE LogEntry whose `protoPayload` is an AuditLog.
 * A key counts only where it is structural at the Event's nesting level: its quotes escaped exactly
 * as that level's are, the closing one followed by `:`. A client-chosen string (a URI, a user agent,
 * a name) can hold the same letters but never such a quote: in it every quote is escaped once more. The API server opens `user` and then
 * `objectRef` before any request or response body, and writes `verb` right before `user` and
 * `userAgent` right before `objectRef`, so nothing a client sent can stand in for them. In a GKE
 * entry a key counts when it occurs once in the line.
 * Whatever it cannot be sure of keeps the line: a key it does not find where it belongs, or finds
 * twice; a value or objectRef with an escape in it; every other shape (sensor lines, batches, CLI
 * arrays, Pub/Sub and subscription wrappers, Log Analytics rows). It assumes what every writer of
 * these shapes does: the API server's key order, keys without escapes, no key twice in one object
 * (JSON.parse would keep the last). `credwatch scan --validate` parses every line instead.
 *
 * It reads the line where it lies in a larger text (a decoded chunk of the file), so that a line
 * it drops is never copied out.
 */
export interface LinePrefilter {
  /** True when text[start, end) must be parsed: some enabled rule could use what it holds. */
  keep(text: string, start: number, end: number): boolean;
}

/**
 * A resource and its subresource (undefined: none) the request may target: one for an Event; for a
 * GKE entry, each segment of `resourceName` with the segment two further on (the parser's target
 * is one of them: `…/<resource>/<name>/<subresource>`).
 */
type Target = readonly [resource: string, subresource: string | undefined];

/** What a line says of its request, as far as it could be read with certainty. */
interface LineFacts {
  targets: readonly Target[];
  /** `null`: not known. */
  verb: string | null;
  /** `null`: not known. Undefined: the request names no user. */
  user: string | undefined | null;
  /** Where the user agent is read from, only when an exclusion by user agent would drop the line. */
  userAgent: UserAgentAt;
}

/** How to find the user agent: in an Event between `user` and `objectRef`, or in a GKE entry. */
type UserAgentAt = { kind: 'event'; text: string; from: number; refKey: number; L: Level } | { kind: 'gke'; text: string; start: number; end: number };

interface Clause {
  resources: ReadonlySet<string>;
  subresources: ReadonlySet<string> | undefined;
  verbs: ReadonlySet<string> | undefined;
  userPrefixes: readonly string[] | undefined;
  excludeUserAgentPrefixes: readonly string[] | undefined;
}

const RAW_PREFIX = '{"kind":"Event","apiVersion":"audit.k8s.io/';
const EKS_PREFIX = '{"logStreamName":"kube-apiserver-audit-';
const EKS_MESSAGE = '"message":"';
const AKS_PROPERTIES = '"properties":';
const AKS_LOG = '{"log":"';
const GKE_PAYLOAD = '"protoPayload":';
const GKE_JSON_PAYLOAD = '"jsonPayload":';
const GKE_AUDIT_TYPE = '{"@type":"type.googleapis.com/google.cloud.audit.AuditLog"';
const GKE_USER = '"authenticationInfo":{"principalEmail":';
const GKE_META = '"requestMetadata":{';
const GKE_UA = '"callerSuppliedUserAgent":';
const GKE_RESOURCE_NAME = '"resourceName":';
const GKE_METHOD = '"methodName":';

/** A request on a resource no rule names: dropped without reading more of it. */
const NOT_NEEDED = Symbol('not needed');

function clauseOf(needs: RuleNeeds): Clause {
  return {
    resources: new Set(needs.resources),
    subresources: needs.subresources === undefined ? undefined : new Set(needs.subresources),
    verbs: needs.verbs === undefined ? undefined : new Set(needs.verbs),
    userPrefixes: needs.userPrefixes,
    excludeUserAgentPrefixes: needs.excludeUserAgentPrefixes,
  };
}

/** The engine's `matchesNeeds` on what the text shows; anything not known is taken to match. */
function admits(c: Clause, f: LineFacts): boolean {
  let target = false;
  for (const [resource, sub] of f.targets) {
    if (c.resources.has(resource) && (c.subresources === undefined || c.subresources.has(sub ?? ''))) target = true;
  }
  if (!target) return false;
  if (c.verbs !== undefined && f.verb !== null && !c.verbs.has(f.verb)) return false;
  if (c.userPrefixes !== undefined && f.user !== null) {
    const user = f.user;
    if (user === undefined || !c.userPrefixes.some((p) => user.startsWith(p))) return false;
  }
  const excluded = c.excludeUserAgentPrefixes;
  if (excluded !== undefined) {
    const ua = userAgentOf(f.userAgent);
    if (typeof ua === 'string' && excluded.some((p) => ua.startsWith(p))) return false;
  }
  return true;
}

/**
 * The prefilter for these rules: their needs (for runtime rules, the audit requests they are
 * correlated with). Sensor lines are never in a shape it drops, so runtime events always pass.
 */
export function compilePrefilter(rules: readonly AnyRule[]): LinePrefilter {
  const clauses = rules.map((r) => clauseOf(r.needs));
  const anyResource = new Set(rules.flatMap((r) => r.needs.resources));
  return {
    keep(text: string, start: number, end: number): boolean {
      const facts = factsOf(text, start, end, anyResource);
      if (facts === undefined) return true;
      if (facts === NOT_NEEDED) return false;
      for (const c of clauses) if (admits(c, facts)) return true;
      return false;
    },
  };
}

/**
 * The shapes are told apart by where they open objects, found by searching for `{` alone: a
 * one-character search runs several times faster than a search for a key, and these lines open
 * few objects before the parts read here.
 */
function factsOf(text: string, start: number, end: number, anyResource: ReadonlySet<string>): LineFacts | typeof NOT_NEEDED | undefined {
  if (text.startsWith(RAW_PREFIX, start)) return eventFacts(text, start, end, LEVELS[0], anyResource);
  if (text.charCodeAt(start) !== 0x7b /* { */) return undefined;
  // The first `{` after the line's own opens the Event (EKS) or the properties (AKS).
  const open = text.indexOf('{', start + 1);
  if (open < 0 || open >= end) return undefined;
  if (text.startsWith(EKS_PREFIX, start)) {
    return text.startsWith(EKS_MESSAGE, open - EKS_MESSAGE.length) ? eventFacts(text, open, end, LEVELS[1], anyResource) : undefined;
  }
  const props = open - AKS_PROPERTIES.length;
  if (text.startsWith(AKS_PROPERTIES, props) && text.startsWith(AKS_LOG, open)) {
    return eventFacts(text, open + AKS_LOG.length, end, LEVELS[1], anyResource);
  }
  // A GKE entry opens a few objects (labels, operation) before protoPayload; an AuditLog inside a
  // jsonPayload would be a container's own output, not the entry's payload.
  for (let i = open, n = 0; i >= 0 && i < end && n < 4; i = text.indexOf('{', i + 1), n++) {
    if (text.startsWith(GKE_PAYLOAD, i - GKE_PAYLOAD.length)) {
      return text.startsWith(GKE_AUDIT_TYPE, i) ? gkeFacts(text, start, end, anyResource) : undefined;
    }
    if (text.startsWith(GKE_JSON_PAYLOAD, i - GKE_JSON_PAYLOAD.length)) return undefined;
  }
  return undefined;
}

/** Literals of an Event at one nesting level (0: the line itself, 1: a JSON string in the line). */
interface Level {
  /** A string's quote. */
  q: string;
  user: string;
  objectRef: string;
  verbKey: string;
  username: string;
  userAgentKey: string;
  resource: string;
  subresource: string;
}

function literals(level: 0 | 1): Level {
  const q = level === 0 ? '"' : '\\"';
  return {
    q,
    user: `,${q}user${q}:`,
    objectRef: `,${q}objectRef${q}:`,
    verbKey: `,${q}verb${q}:${q}`,
    username: `{${q}username${q}:${q}`,
    userAgentKey: `,${q}userAgent${q}:${q}`,
    resource: `{${q}resource${q}:${q}`,
    subresource: `,${q}subresource${q}:${q}`,
  };
}
const LEVELS = [literals(0), literals(1)] as const;

/** The `{` of objectRef comes after at most this many others (the Event's own, user, extra, impersonatedUser). */
const MAX_OPENS_BEFORE_OBJECT_REF = 8;

/**
 * A raw Event whose `{` is at or after `from`. It hops from `{` to `{` to `user` and `objectRef`,
 * reads the resource first (most lines end there: no rule names leases or events), then the rest.
 */
function eventFacts(text: string, from: number, end: number, L: Level, anyResource: ReadonlySet<string>): LineFacts | typeof NOT_NEEDED | undefined {
  let userOpen = -1;
  let refOpen = -1;
  let i = text.indexOf('{', from);
  for (let n = 0; i >= 0 && i < end && n <= MAX_OPENS_BEFORE_OBJECT_REF; n++, i = text.indexOf('{', i + 1)) {
    if (userOpen < 0 && text.startsWith(L.user, i - L.user.length)) userOpen = i;
    else if (text.startsWith(L.objectRef, i - L.objectRef.length)) {
      refOpen = i;
      break;
    }
  }
  // No objectRef where the API server writes it: a non-resource request, a cut record, or another order.
  if (refOpen < 0 || userOpen < 0 || !text.startsWith(L.resource, refOpen)) return undefined;
  const resourceAt = refOpen + L.resource.length;
  const resource = plainUntilQuote(text, resourceAt, end, L);
  if (resource === null) return undefined;
  if (!anyResource.has(resource)) return NOT_NEEDED;
  const target = objectRefOf(text, refOpen, end, L, resource);
  if (target === undefined) return undefined;
  return {
    targets: [target],
    verb: valueBefore(text, userOpen - L.user.length, L.verbKey, L),
    user: text.startsWith(L.username, userOpen) ? plainUntilQuote(text, userOpen + L.username.length, end, L) : null,
    userAgent: { kind: 'event', text, from: userOpen, refKey: refOpen - L.objectRef.length, L },
  };
}

function userAgentOf(at: UserAgentAt): string | undefined | null {
  if (at.kind === 'gke') return gkeUserAgent(at.text, at.start, at.end);
  // userAgent is optional: absent when no such key stands between user and objectRef.
  if (at.text.lastIndexOf(at.L.userAgentKey, at.refKey) < at.from) return undefined;
  return valueBefore(at.text, at.refKey, at.L.userAgentKey, at.L);
}

/** The plain string value of `key` whose closing quote ends right at `end`; null otherwise. */
function valueBefore(text: string, end: number, key: string, L: Level): string | null {
  const valueEnd = end - L.q.length;
  if (!text.startsWith(L.q, valueEnd)) return null;
  const at = text.lastIndexOf(key, valueEnd);
  if (at < 0) return null;
  return plain(text.slice(at + key.length, valueEnd));
}

/** A string's text from `from` to its closing quote (before `end`), when it holds no escape; null otherwise. */
function plainUntilQuote(text: string, from: number, end: number, L: Level): string | null {
  let i = from;
  // A backslash ends the scan: the closing quote at level 1 (`\"`), an escape otherwise.
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */ || c === 0x5c /* \ */) break;
  }
  return i < end && text.startsWith(L.q, i) ? text.slice(from, i) : null;
}

/** A value with no escape and no quote in it, as found between two structural quotes. */
function plain(value: string): string | null {
  return value.includes('\\') || value.includes('"') ? null : value;
}

/**
 * `objectRef`'s subresource, read up to the first `}`; undefined when that `}` does not close the
 * object right after a string value (one inside a name, say), or the object holds an escape.
 */
function objectRefOf(text: string, at: number, end: number, L: Level, resource: string): Target | undefined {
  const close = text.indexOf('}', at);
  if (close < 0 || close >= end || !text.startsWith(L.q, close - L.q.length) || text.charCodeAt(close - L.q.length - 1) === 0x5c /* \ */) return undefined;
  const body = text.slice(at, close);
  if (body.includes('\\u')) return undefined;
  const sub = body.indexOf(L.subresource);
  if (sub < 0) return [resource, undefined];
  if (body.indexOf(L.subresource, sub + 1) >= 0) return undefined;
  const subresource = plainUntilQuote(body, sub + L.subresource.length, body.length, L);
  return subresource === null ? undefined : [resource, subresource];
}

/** Index of `literal` in text[start, end) when it occurs there exactly once; -1 otherwise. */
function onlyKeyAt(text: string, start: number, end: number, literal: string): number {
  const at = text.indexOf(literal, start);
  if (at < 0 || at >= end) return -1;
  const last = text.lastIndexOf(literal, end - literal.length);
  return last === at ? at : -1;
}

/** The plain string value right after `key` at `at` (its index); null otherwise. */
function stringAfter(text: string, at: number, key: string, end: number): string | null {
  const v = at + key.length;
  return text.charCodeAt(v) === 0x22 /* " */ ? plainUntilQuote(text, v + 1, end, LEVELS[0]) : null;
}

/** A GKE AuditLog entry: the target is read from `resourceName`, the verb is `methodName`'s last part. */
function gkeFacts(text: string, start: number, end: number, anyResource: ReadonlySet<string>): LineFacts | typeof NOT_NEEDED | undefined {
  const nameAt = onlyKeyAt(text, start, end, GKE_RESOURCE_NAME);
  const resourceName = nameAt < 0 ? null : stringAfter(text, nameAt, GKE_RESOURCE_NAME, end);
  if (resourceName === null) return undefined;
  const segments = resourceName.split('/');
  const targets: Target[] = [];
  for (let k = 0; k < segments.length; k++) {
    const r = segments[k]!;
    if (anyResource.has(r)) targets.push([r, segments[k + 2]]);
  }
  if (targets.length === 0) return NOT_NEEDED;
  const methodAt = onlyKeyAt(text, start, end, GKE_METHOD);
  const method = methodAt < 0 ? null : stringAfter(text, methodAt, GKE_METHOD, end);
  if (method === null) return undefined;
  // authenticationInfo starts with principalEmail; once, so not a copy inside a body.
  const userAt = onlyKeyAt(text, start, end, GKE_USER);
  return {
    targets,
    verb: method.slice(method.lastIndexOf('.') + 1),
    user: userAt < 0 ? null : stringAfter(text, userAt, GKE_USER, end),
    userAgent: { kind: 'gke', text, start, end },
  };
}

/**
 * `requestMetadata.callerSuppliedUserAgent`, when it is certainly that one: `requestMetadata`
 * once in the line (GKE writes it on every entry, so a copy in a body shows as a second one), and
 * only its `callerIp` (an address) between it and the user agent.
 */
function gkeUserAgent(text: string, start: number, end: number): string | undefined | null {
  const meta = onlyKeyAt(text, start, end, GKE_META);
  if (meta < 0) return null;
  const at = text.indexOf(GKE_UA, meta);
  if (at < 0 || at >= end) return null;
  const between = text.slice(meta + GKE_META.length, at);
  if (between.includes('{') || between.includes('}')) return null;
  return stringAfter(text, at, GKE_UA, end);
}
