/**
 * One copy of the values that repeat from record to record: user names, user agents, groups,
 * addresses, target parts, decisions, and the query of a request URI seen before (a kubelet renews
 * the same watch every few minutes, at two stages each time). An event keeps every value it was
 * built with for as long as history holds it, so a thousand copies of one user agent were a third
 * of a scan's retained heap, and copying them into the old generation much of its collection time.
 * Events never change once parsed, so sharing a value is invisible to a reader; the shared query
 * lists are frozen all the same.
 *
 * Each cache is direct-mapped: a value goes to one slot, chosen from its length and a few of its
 * characters, and replaces what was there. A value seen for the first time (most names and URIs of
 * a busy log) then costs a few comparisons, where a hash table hashed all of it and grew.
 */

const MAX_SHARED_CHARS = 256;
const SLOTS = 8192;

/** The slot of a non-empty string: cheap, and different for values that differ in length or at its probes. */
function slotOf(s: string): number {
  const n = s.length;
  const h = n * 31 + s.charCodeAt(0) * 7 + s.charCodeAt(n >> 2) * 13 + s.charCodeAt(n >> 1) * 17 + s.charCodeAt(n - (n >> 2) - 1) * 19 + s.charCodeAt(n - 1) * 23;
  return h & (SLOTS - 1);
}

const values: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);

/** The one copy of `s` held now (`s` itself, and kept, when it is not). */
export function shared(s: string): string;
export function shared(s: string | undefined): string | undefined;
export function shared(s: string | undefined): string | undefined {
  if (s === undefined || s.length === 0 || s.length > MAX_SHARED_CHARS) return s;
  const slot = slotOf(s);
  const known = values[slot];
  if (known === s) return known;
  values[slot] = s;
  return s;
}

/** `list` with its strings replaced by their one copy, in place (a list the parser made). */
export function sharedStrings(list: string[]): string[] {
  for (let i = 0; i < list.length; i++) list[i] = shared(list[i]!);
  return list;
}

export type QueryPairs = Array<[string, string]>;
interface SharedQuery {
  uri: string;
  query: QueryPairs;
  /** Frozen once it is shared: a query seen once (most of a busy log's) is never frozen. */
  frozen: boolean;
}
const NO_QUERY = Object.freeze([]) as unknown as QueryPairs;
const queries: Array<SharedQuery | undefined> = new Array<SharedQuery | undefined>(SLOTS).fill(undefined);

/** The request URI's one copy and its query, parsed by `parse` when it is not held. */
export function sharedQuery(requestURI: string, parse: (uri: string) => QueryPairs): { uri: string; query: QueryPairs } {
  // Most requests carry no query (a get, a create): one empty list for all, and nothing kept.
  if (!requestURI.includes('?')) return { uri: requestURI, query: NO_QUERY };
  const slot = requestURI.length === 0 ? 0 : slotOf(requestURI);
  const known = queries[slot];
  if (known !== undefined && known.uri === requestURI) {
    if (!known.frozen) {
      for (const pair of known.query) Object.freeze(pair);
      Object.freeze(known.query);
      known.frozen = true;
    }
    return known;
  }
  const query = parse(requestURI);
  for (const pair of query) {
    pair[0] = shared(pair[0]);
    pair[1] = shared(pair[1]);
  }
  const entry: SharedQuery = { uri: requestURI, query, frozen: false };
  queries[slot] = entry;
  return entry;
}
