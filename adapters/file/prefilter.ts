import type { AnyRule, RuleNeeds } from '../../core/model/rule.js';
import { parseResourceName } from '../gke/resource-name.js';

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
  /** The needs it was compiled from: plain data, so another thread can compile the same test. */
  readonly needs: readonly RuleNeeds[];
}

/** The resource and subresource (undefined: none) of the request, as the parser will read them. */
type Target = readonly [resource: string, subresource: string | undefined];

/** What a line says of its request, as far as it could be read with certainty. */
interface LineFacts {
  target: Target;
  /** `null`: not known. */
  verb: string | null;
  /** `null`: not known. Undefined: the request names no user. */
  user: string | undefined | null;
  /** Where the user agent is read from, only when an exclusion by user agent would drop the line. */
  userAgent: UserAgentAt;
}

/** How to find the user agent: in an Event between `user` and `objectRef`, or in a GKE entry. */
type UserAgentAt = { kind: 'event'; text: string; refKey: number; L: Level } | { kind: 'gke'; text: string; start: number; end: number };

interface Clause {
  resources: ReadonlySet<string>;
  subresources: ReadonlySet<string> | undefined;
  verbs: ReadonlySet<string> | undefined;
  userPrefixes: readonly string[] | undefined;
  excludeUserAgentPrefixes: readonly string[] | undefined;
}

/**
 * A fixed text, tested for at a position with a sticky RegExp: String#startsWith with a position
 * took about 0.6 µs a call here, more than half a line's JSON.parse; the RegExp a twentieth of that.
 */
class Literal {
  readonly length: number;
  private readonly re: RegExp;
  constructor(readonly text: string) {
    this.length = text.length;
    this.re = new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'y');
  }
  at(s: string, pos: number): boolean {
    if (pos < 0) return false;
    this.re.lastIndex = pos;
    return this.re.test(s);
  }
}

/**
 * `indexOf` of one key, remembering its last answer. A line asks where the key first is at or
 * after its start and then whether it occurs again before its end; that second search stops at
 * the next line's own occurrence, which is the next line's first answer. So a chunk of lines is
 * searched once for the key, where a search of each line's rest searched it twice.
 *
 * It searches for a rare part of the key (`anchor`, from a capital letter on) and then compares
 * the whole: V8's search looks for the pattern's first character first, and a key's first
 * character, a quote, is every few characters of JSON; measured, eight times slower.
 */
class KeySearch {
  readonly length: number;
  private readonly whole: Literal;
  private readonly offset: number;
  private text: string | undefined;
  private from = 0;
  private found = -1;

  constructor(
    readonly key: string,
    private readonly anchor: string,
  ) {
    this.length = key.length;
    this.whole = new Literal(key);
    this.offset = key.indexOf(anchor);
    if (this.offset < 0) throw new Error(`prefilter: ${anchor} is not part of ${key}`);
  }

  /** The first index of the key at or after `from` in all of `text`; -1 when none. */
  next(text: string, from: number): number {
    // The answer for an earlier start holds for any later start up to it (none: for any later start).
    if (text === this.text && from >= this.from && (this.found < 0 || from <= this.found)) return this.found;
    this.text = text;
    this.from = from;
    let hit = text.indexOf(this.anchor, from + this.offset);
    while (hit >= 0 && !this.whole.at(text, hit - this.offset)) hit = text.indexOf(this.anchor, hit + 1);
    this.found = hit < 0 ? -1 : hit - this.offset;
    return this.found;
  }
}

const RAW_PREFIX = new Literal('{"kind":"Event","apiVersion":"audit.k8s.io/');
const EKS_PREFIX = new Literal('{"logStreamName":"kube-apiserver-audit-');
const EKS_MESSAGE = new Literal('"message":"');
const AKS_PROPERTIES = new Literal('"properties":');
const AKS_LOG = new Literal('{"log":"');
const GKE_PAYLOAD = new Literal('"protoPayload":');
const GKE_JSON_PAYLOAD = new Literal('"jsonPayload":');
const GKE_AUDIT_TYPE = new Literal('{"@type":"type.googleapis.com/google.cloud.audit.AuditLog"');
const GKE_USER = new KeySearch('"authenticationInfo":{"principalEmail":', 'Email":');
const GKE_META = new KeySearch('"requestMetadata":{', 'Metadata":{');
const GKE_UA = new KeySearch('"callerSuppliedUserAgent":', 'UserAgent":');
const GKE_RESOURCE_NAME = new Literal('"resourceName":');
const GKE_METHOD = new Literal('"methodName":');

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
  const [resource, sub] = f.target;
  if (!c.resources.has(resource) || (c.subresources !== undefined && !c.subresources.has(sub ?? ''))) return false;
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
  return compileNeedsPrefilter(rules.map((r) => r.needs));
}

/** The prefilter for these needs (what `compilePrefilter` compiles its rules' needs to). */
export function compileNeedsPrefilter(all: readonly RuleNeeds[]): LinePrefilter {
  // Only the audit fields: a runtime rule's needs carry more than another thread is sent.
  const needs = all.map(({ resources, subresources, verbs, userPrefixes, excludeUserAgentPrefixes }): RuleNeeds => ({
    resources,
    ...(subresources === undefined ? {} : { subresources }),
    ...(verbs === undefined ? {} : { verbs }),
    ...(userPrefixes === undefined ? {} : { userPrefixes }),
    ...(excludeUserAgentPrefixes === undefined ? {} : { excludeUserAgentPrefixes }),
  }));
  const clauses = needs.map(clauseOf);
  const anyResource = new Set(needs.flatMap((n) => n.resources));
  return {
    needs,
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
  if (RAW_PREFIX.at(text, start)) return eventFacts(text, start, end, LEVELS[0], anyResource);
  if (text.charCodeAt(start) !== 0x7b /* { */) return undefined;
  // The first `{` after the line's own opens the Event (EKS) or the properties (AKS).
  const open = text.indexOf('{', start + 1);
  if (open < 0 || open >= end) return undefined;
  if (EKS_PREFIX.at(text, start)) {
    return EKS_MESSAGE.at(text, open - EKS_MESSAGE.length) ? eventFacts(text, open, end, LEVELS[1], anyResource) : undefined;
  }
  const props = open - AKS_PROPERTIES.length;
  if (AKS_PROPERTIES.at(text, props) && AKS_LOG.at(text, open)) {
    return eventFacts(text, open + AKS_LOG.length, end, LEVELS[1], anyResource);
  }
  // A GKE entry opens a few objects (labels, operation) before protoPayload; an AuditLog inside a
  // jsonPayload would be a container's own output, not the entry's payload.
  for (let i = open, n = 0; i >= 0 && i < end && n < 4; i = text.indexOf('{', i + 1), n++) {
    if (GKE_PAYLOAD.at(text, i - GKE_PAYLOAD.length)) {
      return GKE_AUDIT_TYPE.at(text, i) ? gkeFacts(text, start, end, anyResource) : undefined;
    }
    if (GKE_JSON_PAYLOAD.at(text, i - GKE_JSON_PAYLOAD.length)) return undefined;
  }
  return undefined;
}

/** Literals of an Event at one nesting level (0: the line itself, 1: a JSON string in the line). */
interface Level {
  /** A string's quote. */
  q: Literal;
  user: Literal;
  objectRef: Literal;
  verbKey: Literal;
  username: Literal;
  userAgentKey: Literal;
  resource: Literal;
  subresource: Literal;
}

function literals(level: 0 | 1): Level {
  const q = level === 0 ? '"' : '\\"';
  return {
    q: new Literal(q),
    user: new Literal(`,${q}user${q}:`),
    objectRef: new Literal(`,${q}objectRef${q}:`),
    verbKey: new Literal(`,${q}verb${q}:${q}`),
    username: new Literal(`{${q}username${q}:${q}`),
    userAgentKey: new Literal(`,${q}userAgent${q}:${q}`),
    resource: new Literal(`{${q}resource${q}:${q}`),
    subresource: new Literal(`,${q}subresource${q}:${q}`),
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
  // The key's last letter sits just before `"`/`\"` and `:`; only where it fits is the key compared.
  for (let n = 0; i >= 0 && i < end && n <= MAX_OPENS_BEFORE_OBJECT_REF; n++, i = text.indexOf('{', i + 1)) {
    const letter = text.charCodeAt(i - L.q.length - 2);
    if (letter === 0x72 /* r */ && userOpen < 0 && L.user.at(text, i - L.user.length)) userOpen = i;
    else if (letter === 0x66 /* f */ && L.objectRef.at(text, i - L.objectRef.length)) {
      refOpen = i;
      break;
    }
  }
  // No objectRef where the API server writes it: a non-resource request, a cut record, or another order.
  if (refOpen < 0 || userOpen < 0 || !L.resource.at(text, refOpen)) return undefined;
  const resourceAt = refOpen + L.resource.length;
  const resource = plainUntilQuote(text, resourceAt, end, L);
  if (resource === null) return undefined;
  if (!anyResource.has(resource)) return NOT_NEEDED;
  const target = objectRefOf(text, refOpen, end, L, resource);
  if (target === undefined) return undefined;
  return {
    target,
    verb: valueBefore(text, userOpen - L.user.length, L.verbKey, L),
    user: L.username.at(text, userOpen) ? plainUntilQuote(text, userOpen + L.username.length, end, L) : null,
    userAgent: { kind: 'event', text, refKey: refOpen - L.objectRef.length, L },
  };
}

/** The user agent; null when absent or not certain (neither excludes a request). */
function userAgentOf(at: UserAgentAt): string | null {
  if (at.kind === 'gke') return gkeUserAgent(at.text, at.start, at.end);
  return valueBefore(at.text, at.refKey, at.L.userAgentKey, at.L);
}

/** The plain string value of `key` whose closing quote ends right at `end`; null otherwise. */
function valueBefore(text: string, end: number, key: Literal, L: Level): string | null {
  const valueEnd = end - L.q.length;
  if (!L.q.at(text, valueEnd)) return null;
  const at = text.lastIndexOf(key.text, valueEnd);
  if (at < 0) return null;
  return plain(text.slice(at + key.length, valueEnd));
}

/** A run of characters that are neither a quote nor a backslash (a RegExp scans it natively, four times faster than a loop of charCodeAt). */
const PLAIN_RUN = /[^"\\]*/y;

/** A string's text from `from` to its closing quote (before `end`), when it holds no escape; null otherwise. */
function plainUntilQuote(text: string, from: number, end: number, L: Level): string | null {
  // (Past the end a sticky RegExp fails and goes back to 0: never asked.)
  if (from >= end) return null;
  // A backslash ends the run: the closing quote at level 1 (`\"`), an escape otherwise.
  PLAIN_RUN.lastIndex = from;
  PLAIN_RUN.test(text);
  const i = PLAIN_RUN.lastIndex;
  return i < end && L.q.at(text, i) ? text.slice(from, i) : null;
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
  if (close < 0 || close >= end || !L.q.at(text, close - L.q.length) || text.charCodeAt(close - L.q.length - 1) === 0x5c /* \ */) return undefined;
  const body = text.slice(at, close);
  if (body.includes('\\u')) return undefined;
  const sub = body.indexOf(L.subresource.text);
  if (sub < 0) return [resource, undefined];
  if (body.indexOf(L.subresource.text, sub + 1) >= 0) return undefined;
  const subresource = plainUntilQuote(body, sub + L.subresource.length, body.length, L);
  return subresource === null ? undefined : [resource, subresource];
}

/** Index of the key in text[start, end) when it occurs there exactly once; -1 otherwise. */
function onlyKeyAt(text: string, start: number, end: number, key: KeySearch): number {
  const at = key.next(text, start);
  if (at < 0 || at >= end) return -1;
  const again = key.next(text, at + 1);
  return again >= 0 && again < end ? -1 : at;
}

/** The plain string value right after `key` at `at` (its index); null otherwise. */
function stringAfter(text: string, at: number, key: string, end: number): string | null {
  const v = at + key.length;
  return text.charCodeAt(v) === 0x22 /* " */ ? plainUntilQuote(text, v + 1, end, LEVELS[0]) : null;
}

/**
 * Where `resourceName` and `methodName` are, each when it occurs exactly once (-1 otherwise). Both
 * are found by hopping between the line's few capital Ns (a one-character search is the fast one).
 */
function gkeNameKeys(text: string, start: number, end: number): { name: number; method: number } {
  let name = -1;
  let nameCount = 0;
  let method = -1;
  let methodCount = 0;
  for (let i = text.indexOf('N', start); i >= 0 && i < end; i = text.indexOf('N', i + 1)) {
    // Both keys spell `Name`; most other capital Ns (NOTICE) are not followed by an `a`.
    if (text.charCodeAt(i + 1) !== 0x61 /* a */) continue;
    if (GKE_RESOURCE_NAME.at(text, i - 9)) {
      name = i - 9;
      nameCount++;
    } else if (GKE_METHOD.at(text, i - 7)) {
      method = i - 7;
      methodCount++;
    }
  }
  return { name: nameCount === 1 ? name : -1, method: methodCount === 1 ? method : -1 };
}

/** The `n`th (from 0) `/`-separated segment of `path`; undefined when it has fewer. */
function segment(path: string, n: number): string | undefined {
  let from = 0;
  for (let i = 0; i < n; i++) {
    const slash = path.indexOf('/', from);
    if (slash < 0) return undefined;
    from = slash + 1;
  }
  const to = path.indexOf('/', from);
  return to < 0 ? path.slice(from) : path.slice(from, to);
}

/** A GKE AuditLog entry: the target is read from `resourceName`, the verb is `methodName`'s last part. */
function gkeFacts(text: string, start: number, end: number, anyResource: ReadonlySet<string>): LineFacts | typeof NOT_NEEDED | undefined {
  const keys = gkeNameKeys(text, start, end);
  const resourceName = keys.name < 0 ? null : stringAfter(text, keys.name, GKE_RESOURCE_NAME.text, end);
  if (resourceName === null) return undefined;
  // The resource is the third segment, or under `namespaces/<ns>/` the fifth, unless the path ends
  // there (the namespace itself or its status): when no candidate is one a rule names, the table
  // need not be asked (resource-name.ts).
  // (Segments found by indexOf: a split cost a sixth of a GKE line's test.)
  const third = segment(resourceName, 2);
  const wanted =
    third !== 'namespaces'
      ? third !== undefined && anyResource.has(third)
      : anyResource.has(segment(resourceName, 4) ?? '') || (segment(resourceName, 5) === undefined && anyResource.has('namespaces'));
  if (!wanted) return NOT_NEEDED;
  // The GKE parser's own reading of the path, so the two can never disagree.
  const m = parseResourceName(resourceName);
  if (m.kind !== 'resource' || m.target.resource === undefined) return undefined;
  if (!anyResource.has(m.target.resource)) return NOT_NEEDED;
  const target: Target = [m.target.resource, m.target.subresource];
  const method = keys.method < 0 ? null : stringAfter(text, keys.method, GKE_METHOD.text, end);
  if (method === null) return undefined;
  // authenticationInfo starts with principalEmail; once, so not a copy inside a body.
  const userAt = onlyKeyAt(text, start, end, GKE_USER);
  return {
    target,
    verb: method.slice(method.lastIndexOf('.') + 1),
    user: userAt < 0 ? null : stringAfter(text, userAt, GKE_USER.key, end),
    userAgent: { kind: 'gke', text, start, end },
  };
}

/**
 * `requestMetadata.callerSuppliedUserAgent`, when it is certainly that one: `requestMetadata`
 * once in the line (GKE writes it on every entry, so a copy in a body shows as a second one), and
 * only its `callerIp` (an address) between it and the user agent.
 */
function gkeUserAgent(text: string, start: number, end: number): string | null {
  const meta = onlyKeyAt(text, start, end, GKE_META);
  if (meta < 0) return null;
  const at = GKE_UA.next(text, meta);
  if (at < 0 || at >= end) return null;
  const between = text.slice(meta + GKE_META.length, at);
  if (between.includes('{') || between.includes('}')) return null;
  return stringAfter(text, at, GKE_UA.key, end);
}
