/**
 * The subset of the Cloud Logging query language credwatch emits, parsed and evaluated the way the
 * service documents it (https://cloud.google.com/logging/docs/view/logging-query-language): `AND` / `OR` / `NOT` (upper case) with
 * parentheses, juxtaposition as AND, comparisons `=` `!=` `<` `<=` `>` `>=` `:` `=~` `!~` on dotted
 * field paths against double-quoted strings. `=` and `:` ignore case, `=~` is a case-sensitive
 * regular-expression search, `timestamp` / `receiveTimestamp` compare as times. Anything else is a
 * `QuerySyntaxError`, which the fake returns as INVALID_ARGUMENT, so a wrong filter fails a test.
 */

export class QuerySyntaxError extends Error {}

type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | ':' | '=~' | '!~';
export type QueryNode =
  | { kind: 'and' | 'or'; items: QueryNode[] }
  | { kind: 'not'; item: QueryNode }
  | { kind: 'cmp'; field: string; op: Op; value: string };

type Token = { t: 'word'; v: string } | { t: 'str'; v: string } | { t: 'op'; v: Op } | { t: '(' } | { t: ')' };

const OPS: readonly Op[] = ['=~', '!~', '!=', '<=', '>=', '=', '<', '>', ':'];
const TIME_FIELDS = new Set(['timestamp', 'receiveTimestamp']);

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({ t: c }); i++; continue; }
    if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new QuerySyntaxError('unterminated string');
        const d = text[i]!;
        if (d === '"') { i++; break; }
        if (d === '\\') {
          const n = text[i + 1];
          if (n !== '"' && n !== '\\') throw new QuerySyntaxError(`unsupported escape \\${n ?? ''}`);
          v += n; i += 2; continue;
        }
        v += d; i++;
      }
      out.push({ t: 'str', v });
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op !== undefined) { out.push({ t: 'op', v: op }); i += op.length; continue; }
    const m = /^[A-Za-z_@][A-Za-z0-9_.@/-]*/.exec(text.slice(i));
    if (m === null) throw new QuerySyntaxError(`unexpected character ${JSON.stringify(c)} at ${i}`);
    out.push({ t: 'word', v: m[0] });
    i += m[0].length;
  }
  return out;
}

export function parseQuery(text: string): QueryNode | undefined {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (w: string) => { const t = peek(); return t?.t === 'word' && t.v === w; };

  function primary(): QueryNode {
    const t = peek();
    if (t === undefined) throw new QuerySyntaxError('unexpected end of filter');
    if (t.t === '(') {
      pos++;
      const e = orExpr();
      if (peek()?.t !== ')') throw new QuerySyntaxError('missing )');
      pos++;
      return e;
    }
    if (t.t === 'word' && t.v === 'NOT') { pos++; return { kind: 'not', item: primary() }; }
    if (t.t !== 'word') throw new QuerySyntaxError(`expected a field, got ${t.t}`);
    if (t.v === 'AND' || t.v === 'OR') throw new QuerySyntaxError(`unexpected ${t.v}`);
    if (/^(and|or|not)$/.test(t.v)) throw new QuerySyntaxError(`operators must be upper case: ${t.v}`);
    pos++;
    const op = peek();
    if (op?.t !== 'op') throw new QuerySyntaxError(`expected a comparison after ${t.v}`);
    pos++;
    const value = peek();
    if (value?.t !== 'str') throw new QuerySyntaxError(`expected a quoted value after ${t.v}${op.v}`);
    pos++;
    if (TIME_FIELDS.has(t.v) && timeNs(value.v) === undefined) throw new QuerySyntaxError(`invalid timestamp ${value.v}`);
    if (op.v === '=~' || op.v === '!~') {
      try { new RegExp(value.v); } catch { throw new QuerySyntaxError(`invalid regular expression ${value.v}`); }
    }
    return { kind: 'cmp', field: t.v, op: op.v, value: value.v };
  }
  function andExpr(): QueryNode {
    const items = [primary()];
    for (;;) {
      if (isWord('AND')) { pos++; items.push(primary()); continue; }
      const t = peek();
      if (t === undefined || t.t === ')' || isWord('OR')) break;
      items.push(primary()); // juxtaposition
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }
  function orExpr(): QueryNode {
    const items = [andExpr()];
    while (isWord('OR')) { pos++; items.push(andExpr()); }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }
  if (tokens.length === 0) return undefined;
  const e = orExpr();
  if (pos !== tokens.length) throw new QuerySyntaxError('trailing input');
  return e;
}

/** RFC 3339 (UTC `Z` or offset) as nanoseconds since the epoch. */
export function timeNs(s: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

function fieldValue(entry: Record<string, unknown>, path: string): unknown {
  // Label keys contain dots and slashes (`labels."a.b/c"` is not emitted), so walk greedily.
  let cur: unknown = entry;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function compare(node: Extract<QueryNode, { kind: 'cmp' }>, actual: unknown): boolean {
  if (actual === undefined || actual === null) return false;
  const text = typeof actual === 'string' ? actual : typeof actual === 'number' || typeof actual === 'boolean' ? String(actual) : undefined;
  if (text === undefined) return false;
  if (TIME_FIELDS.has(node.field)) {
    const a = timeNs(text);
    const b = timeNs(node.value)!;
    if (a === undefined) return false;
    switch (node.op) {
      case '=': return a === b;
      case '!=': return a !== b;
      case '<': return a < b;
      case '<=': return a <= b;
      case '>': return a > b;
      case '>=': return a >= b;
      default: throw new QuerySyntaxError(`operator ${node.op} is not supported on ${node.field}`);
    }
  }
  const lower = text.toLowerCase();
  const want = node.value.toLowerCase();
  switch (node.op) {
    case '=': return lower === want;
    case '!=': return lower !== want;
    case ':': return lower.includes(want);
    case '=~': return new RegExp(node.value).test(text);
    case '!~': return !new RegExp(node.value).test(text);
    case '<': return lower < want;
    case '<=': return lower <= want;
    case '>': return lower > want;
    case '>=': return lower >= want;
  }
}

export function matchesQuery(node: QueryNode | undefined, entry: Record<string, unknown>): boolean {
  if (node === undefined) return true;
  switch (node.kind) {
    case 'and': return node.items.every((n) => matchesQuery(n, entry));
    case 'or': return node.items.some((n) => matchesQuery(n, entry));
    case 'not': return !matchesQuery(node.item, entry);
    case 'cmp': return compare(node, fieldValue(entry, node.field));
  }
}
