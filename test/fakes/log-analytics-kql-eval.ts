import { KqlError, parseKql, type Expr, type NamedExpr, type Query } from './log-analytics-kql-parse.js';

/**
 * Evaluates the KQL subset of `log-analytics-kql-parse.ts` over an in-memory workspace. Column
 * references are checked against the schema (an unknown column or a member access on a
 * non-dynamic column is a SemanticError, as in the service), so a filter naming a wrong column
 * fails the test instead of silently matching nothing.
 */

export type ColumnType = 'bool' | 'datetime' | 'dynamic' | 'int' | 'long' | 'real' | 'string' | 'guid' | 'timespan';

export interface Column {
  name: string;
  type: ColumnType;
}

/** A stored row: column values (datetime as Date, dynamic as parsed JSON) plus its ingestion time. */
export interface StoredRow {
  values: Record<string, unknown>;
  ingestedAt: Date;
}

export interface StoredTable {
  columns: Column[];
  rows: StoredRow[];
}

export interface ResultTable {
  columns: Column[];
  rows: unknown[][];
}

/** Rows while they flow through the pipeline; `$ingest` survives where/extend, not project. */
interface Flow {
  values: Record<string, unknown>;
  ingest?: Date;
}

function ms(v: unknown): number | undefined {
  return v instanceof Date ? v.getTime() : undefined;
}

function tostring(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function terms(text: string): Set<string> {
  return new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((s) => s !== ''));
}

function hasTerm(haystack: unknown, needles: unknown[]): boolean {
  const wanted = needles.map((needle) => {
    const n = tostring(needle).toLowerCase();
    // Kusto treats a needle with delimiters as a phrase; the adapter never emits one, so refuse it.
    if (!/^[a-z0-9]+$/.test(n)) throw new KqlError('SemanticError', `fake supports only alphanumeric has terms, got '${n}'`);
    return n;
  });
  const found = terms(tostring(haystack));
  return wanted.some((n) => found.has(n));
}

function equal(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  const am = ms(a);
  const bm = ms(b);
  if (am !== undefined || bm !== undefined) return am === bm;
  return a === b;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const am = ms(a) ?? (typeof a === 'number' ? a : undefined);
  const bm = ms(b) ?? (typeof b === 'number' ? b : undefined);
  if (am === undefined || bm === undefined) {
    if (a === null || a === undefined || b === null || b === undefined) return false;
    throw new KqlError('SemanticError', `cannot compare ${typeof a} ${op} ${typeof b}`);
  }
  return op === '<' ? am < bm : op === '<=' ? am <= bm : op === '>' ? am > bm : am >= bm;
}

export class Evaluator {
  constructor(private readonly schema: Column[]) {}

  typeOf(e: Expr): ColumnType {
    switch (e.k) {
      case 'lit':
        return e.v instanceof Date ? 'datetime' : typeof e.v === 'number' ? 'long' : typeof e.v === 'boolean' ? 'bool' : 'string';
      case 'col': {
        const c = this.schema.find((s) => s.name === e.name);
        if (c === undefined) throw new KqlError('SemanticError', `'${e.name}' could not be resolved`);
        return c.type;
      }
      case 'member':
        if (this.typeOf(e.obj) !== 'dynamic') throw new KqlError('SemanticError', `member '${e.key}' of a non-dynamic expression`);
        return 'dynamic';
      case 'in':
        this.typeOf(e.l);
        for (const x of e.list) this.typeOf(x);
        return 'bool';
      case 'bin':
        this.typeOf(e.l);
        this.typeOf(e.r);
        return 'bool';
      case 'call':
        return this.callType(e.fn, e.args);
    }
  }

  private callType(fn: string, args: Expr[]): ColumnType {
    const arity = (n: number) => {
      if (args.length !== n) throw new KqlError('SemanticError', `${fn}() takes ${n} argument(s)`);
    };
    switch (fn) {
      case 'ingestion_time':
        arity(0);
        return 'datetime';
      case 'count':
        arity(0);
        return 'long';
      case 'tostring':
      case 'tolower':
        arity(1);
        this.typeOf(args[0]!);
        return 'string';
      case 'parse_json':
      case 'todynamic':
        arity(1);
        this.typeOf(args[0]!);
        return 'dynamic';
      case 'isempty':
      case 'isnotempty':
      case 'not':
        arity(1);
        this.typeOf(args[0]!);
        return 'bool';
      case 'column_ifexists': {
        arity(2);
        const name = args[0];
        if (name?.k !== 'lit' || typeof name.v !== 'string') throw new KqlError('SemanticError', 'column_ifexists needs a name literal');
        return this.schema.find((s) => s.name === name.v)?.type ?? this.typeOf(args[1]!);
      }
      default:
        throw new KqlError('SemanticError', `function '${fn}' is not supported by the fake`);
    }
  }

  value(e: Expr, row: Flow): unknown {
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'col':
        return row.values[e.name] ?? null;
      case 'member': {
        const o = this.value(e.obj, row);
        if (o === null || typeof o !== 'object' || Array.isArray(o) || o instanceof Date) return null;
        return (o as Record<string, unknown>)[e.key] ?? null;
      }
      case 'in': {
        const l = this.value(e.l, row);
        const list = e.list.map((x) => this.value(x, row));
        if (e.op === 'has_any') return hasTerm(l, list);
        if (e.op === 'in~') return list.some((x) => tostring(x).toLowerCase() === tostring(l).toLowerCase());
        const found = list.some((x) => equal(l, x));
        return e.op === 'in' ? found : !found;
      }
      case 'bin':
        return this.binary(e.op, e.l, e.r, row);
      case 'call':
        return this.call(e.fn, e.args, row);
    }
  }

  private binary(op: string, le: Expr, re: Expr, row: Flow): unknown {
    if (op === 'and') return this.value(le, row) === true && this.value(re, row) === true;
    if (op === 'or') return this.value(le, row) === true || this.value(re, row) === true;
    const l = this.value(le, row);
    const r = this.value(re, row);
    switch (op) {
      case '==':
        return equal(l, r);
      case '!=':
        return !equal(l, r);
      case '=~':
        return tostring(l).toLowerCase() === tostring(r).toLowerCase();
      case 'has':
        return hasTerm(l, [r]);
      case 'endswith':
        return tostring(l).toLowerCase().endsWith(tostring(r).toLowerCase());
      case 'endswith_cs':
        return tostring(l).endsWith(tostring(r));
      // `startswith` ignores case, `startswith_cs` does not (KQL string operators); a null or
      // missing value reads as "" and so starts with nothing but "".
      case 'startswith':
        return tostring(l).toLowerCase().startsWith(tostring(r).toLowerCase());
      case 'startswith_cs':
        return tostring(l).startsWith(tostring(r));
      default:
        return compare(op, l, r);
    }
  }

  private call(fn: string, args: Expr[], row: Flow): unknown {
    const a = (i: number) => this.value(args[i]!, row);
    switch (fn) {
      case 'ingestion_time':
        return row.ingest ?? null;
      case 'tostring':
        return tostring(a(0));
      case 'tolower':
        return tostring(a(0)).toLowerCase();
      case 'parse_json':
      case 'todynamic': {
        const v = a(0);
        if (typeof v !== 'string') return v;
        try {
          return JSON.parse(v) as unknown;
        } catch {
          return v;
        }
      }
      case 'isempty':
        return tostring(a(0)) === '';
      case 'isnotempty':
        return tostring(a(0)) !== '';
      case 'not':
        return a(0) !== true;
      case 'column_ifexists': {
        const name = (args[0] as { v: string }).v;
        return this.schema.some((s) => s.name === name) ? (row.values[name] ?? null) : a(1);
      }
      default:
        throw new KqlError('SemanticError', `function '${fn}' is not supported by the fake`);
    }
  }
}

function unionSchema(tables: StoredTable[]): Column[] {
  const out: Column[] = [];
  for (const t of tables) for (const c of t.columns) if (!out.some((o) => o.name === c.name)) out.push(c);
  return out;
}

function named(ev: Evaluator, items: NamedExpr[]): Column[] {
  return items.map((it) => ({ name: it.name, type: ev.typeOf(it.expr) }));
}

/** Runs a query; `inWindow` applies the request's timespan to each table's TimeGenerated. */
export function runKql(
  source: string,
  workspace: ReadonlyMap<string, StoredTable>,
  inWindow: (row: StoredRow) => boolean,
): ResultTable {
  const q: Query = parseKql(source);
  const tables: StoredTable[] = [];
  for (const name of q.tables) {
    const t = workspace.get(name);
    if (t === undefined) {
      if (q.fuzzy) continue;
      throw new KqlError('SemanticError', `'${name}' could not be resolved`);
    }
    tables.push(t);
  }
  if (tables.length === 0) throw new KqlError('SemanticError', `none of ${q.tables.join(', ')} could be resolved`);
  let schema = unionSchema(tables);
  let rows: Flow[] = tables.flatMap((t) => t.rows.filter(inWindow).map((r) => ({ values: r.values, ingest: r.ingestedAt })));
  for (const op of q.ops) {
    const ev = new Evaluator(schema);
    switch (op.op) {
      case 'where': {
        if (ev.typeOf(op.expr) !== 'bool') throw new KqlError('SemanticError', 'where needs a boolean expression');
        rows = rows.filter((r) => ev.value(op.expr, r) === true);
        break;
      }
      case 'extend': {
        const cols = named(ev, op.items);
        rows = rows.map((r) => {
          const values = { ...r.values };
          for (const it of op.items) values[it.name] = ev.value(it.expr, r);
          return r.ingest === undefined ? { values } : { values, ingest: r.ingest };
        });
        schema = [...schema.filter((s) => !cols.some((c) => c.name === s.name)), ...cols];
        break;
      }
      case 'project': {
        const cols = named(ev, op.items);
        rows = rows.map((r) => ({ values: Object.fromEntries(op.items.map((it) => [it.name, ev.value(it.expr, r)])) }));
        schema = cols;
        break;
      }
      case 'take':
        rows = rows.slice(0, op.n);
        break;
      case 'summarize': {
        const cols = named(ev, op.by);
        const groups = new Map<string, { key: unknown[]; n: number }>();
        for (const r of rows) {
          const key = op.by.map((b) => ev.value(b.expr, r));
          const id = JSON.stringify(key);
          const g = groups.get(id) ?? { key, n: 0 };
          g.n++;
          groups.set(id, g);
        }
        schema = [...cols, { name: op.agg.name, type: 'long' }];
        rows = [...groups.values()].map((g) => ({
          values: Object.fromEntries([...cols.map((c, i) => [c.name, g.key[i]]), [op.agg.name, g.n]]),
        }));
        break;
      }
    }
  }
  return { columns: schema, rows: rows.map((r) => schema.map((c) => r.values[c.name] ?? null)) };
}
