/**
 * One copy of the values that repeat from record to record: user names, user agents, groups,
 * addresses, resources, namespaces, decisions, and the query of a request URI seen before (a
 * kubelet renews the same watch every few minutes, at two stages each time). An event keeps every
 * value it was built with for as long as history holds it, so a thousand copies of one user agent
 * were a third of a scan's retained heap, and copying them into the old generation much of its
 * collection time. Events never change once parsed, so sharing a value is invisible to a reader;
 * the shared query lists are frozen all the same.
 *
 * Both tables are bounded: full, they start again empty (a record of unique values only costs a
 * lookup), and values already handed out stay valid.
 */

const MAX_SHARED_CHARS = 256;
const MAX_VALUES = 16_384;
const MAX_QUERIES = 4_096;

const values = new Map<string, string>();

/** The one copy of `s` (itself the first time it is seen). */
export function shared(s: string): string;
export function shared(s: string | undefined): string | undefined;
export function shared(s: string | undefined): string | undefined {
  if (s === undefined || s.length > MAX_SHARED_CHARS) return s;
  const known = values.get(s);
  if (known !== undefined) return known;
  if (values.size >= MAX_VALUES) values.clear();
  values.set(s, s);
  return s;
}

/** `list` with its strings replaced by their one copy, in place (a list the parser made). */
export function sharedStrings(list: string[]): string[] {
  for (let i = 0; i < list.length; i++) list[i] = shared(list[i]!);
  return list;
}

export type QueryPairs = Array<[string, string]>;
const queries = new Map<string, { uri: string; query: QueryPairs }>();

/** The request URI's one copy and its query, parsed by `parse` the first time. */
export function sharedQuery(requestURI: string, parse: (uri: string) => QueryPairs): { uri: string; query: QueryPairs } {
  const known = queries.get(requestURI);
  if (known !== undefined) return known;
  const query = parse(requestURI);
  for (const pair of query) {
    pair[0] = shared(pair[0]);
    pair[1] = shared(pair[1]);
    Object.freeze(pair);
  }
  const entry = { uri: requestURI, query: Object.freeze(query) as QueryPairs };
  if (queries.size >= MAX_QUERIES) queries.clear();
  queries.set(requestURI, entry);
  return entry;
}
