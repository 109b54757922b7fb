/**
 * A parser for the small KQL subset the AKS adapter emits, for the Log Analytics fake. Anything
 * outside the subset is a `KqlError('SyntaxError')` so the fake rejects it loudly with a 400,
 * the way the service rejects malformed KQL, instead of guessing what a query meant.
 */

export class KqlError extends Error {
  constructor(
    readonly kind: 'SyntaxError' | 'SemanticError',
    message: string,
  ) {
    super(message);
  }
}

export type Expr =
  | { k: 'lit'; v: string | number | boolean | Date | null }
  | { k: 'col'; name: string }
  | { k: 'member'; obj: Expr; key: string }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'in'; op: 'in' | '!in' | 'in~' | 'has_any'; l: Expr; list: Expr[] };

export interface NamedExpr {
  name: string;
  expr: Expr;
}

export type Operator =
  | { op: 'where'; expr: Expr }
  | { op: 'extend'; items: NamedExpr[] }
  | { op: 'project'; items: NamedExpr[] }
  | { op: 'take'; n: number }
  | { op: 'summarize'; agg: NamedExpr; by: NamedExpr[] };

export interface Query {
  tables: string[];
  fuzzy: boolean;
  ops: Operator[];
}

type Tok = { t: 'id' | 'str' | 'num' | 'dt' | 'sym'; v: string };

const SYMBOLS = ['==', '!=', '=~', '<=', '>=', '!in', '|', ',', '(', ')', '=', '<', '>', '.', '[', ']'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') {
          const n = src[j + 1];
          if (n === undefined) break;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new KqlError('SyntaxError', `unterminated string at ${i}`);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(~)?/.exec(src.slice(i))!;
      const word = m[0];
      i += word.length;
      if (word === 'datetime' && src[i] === '(') {
        const end = src.indexOf(')', i);
        if (end < 0) throw new KqlError('SyntaxError', 'unterminated datetime literal');
        out.push({ t: 'dt', v: src.slice(i + 1, end).trim() });
        i = end + 1;
        continue;
      }
      out.push({ t: 'id', v: word });
      continue;
    }
    const sym = SYMBOLS.find((s) => src.startsWith(s, i));
    if (sym === undefined) throw new KqlError('SyntaxError', `unexpected character '${c}' at ${i}`);
    out.push({ t: 'sym', v: sym });
    i += sym.length;
  }
  return out;
}

const COMPARISONS = new Set(['==', '!=', '=~', '<', '<=', '>', '>=', 'has', 'endswith', 'endswith_cs', 'startswith', 'startswith_cs']);

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private isSym(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'sym' && t.v === v;
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'id' && t.v === v;
  }
  private expectSym(v: string): void {
    if (!this.isSym(v)) throw new KqlError('SyntaxError', `expected '${v}' near token ${this.i} (${this.peek()?.v ?? 'end'})`);
    this.i++;
  }
  private ident(): string {
    const t = this.peek();
    if (t?.t !== 'id') throw new KqlError('SyntaxError', `expected a name near token ${this.i} (${t?.v ?? 'end'})`);
    this.i++;
    return t.v;
  }

  query(): Query {
    let tables: string[];
    let fuzzy = false;
    if (this.isWord('union')) {
      this.i++;
      if (this.isWord('isfuzzy')) {
        this.i++;
        this.expectSym('=');
        const v = this.ident();
        if (v !== 'true' && v !== 'false') throw new KqlError('SyntaxError', 'isfuzzy must be true or false');
        fuzzy = v === 'true';
      }
      tables = [this.ident()];
      while (this.isSym(',')) {
        this.i++;
        tables.push(this.ident());
      }
    } else tables = [this.ident()];
    const ops: Operator[] = [];
    while (this.isSym('|')) {
      this.i++;
      ops.push(this.operator());
    }
    if (this.peek() !== undefined) throw new KqlError('SyntaxError', `unexpected '${this.peek()!.v}' near token ${this.i}`);
    return { tables, fuzzy, ops };
  }

  private operator(): Operator {
    const word = this.ident();
    switch (word) {
      case 'where':
        return { op: 'where', expr: this.expr() };
      case 'extend':
        return { op: 'extend', items: this.items(true) };
      case 'project':
        return { op: 'project', items: this.items(false) };
      case 'take':
      case 'limit': {
        const t = this.peek();
        if (t?.t !== 'num') throw new KqlError('SyntaxError', `${word} needs a number`);
        this.i++;
        return { op: 'take', n: Number(t.v) };
      }
      case 'summarize': {
        const agg = this.item(false);
        if (agg.expr.k !== 'call' || agg.expr.fn !== 'count') throw new KqlError('SyntaxError', 'only count() is supported');
        if (agg.name === 'count') agg.name = 'count_';
        const by: NamedExpr[] = [];
        if (this.isWord('by')) {
          this.i++;
          by.push(...this.items(false));
        }
        return { op: 'summarize', agg, by };
      }
      default:
        throw new KqlError('SyntaxError', `operator '${word}' is not supported`);
    }
  }

  private items(named: boolean): NamedExpr[] {
    const out = [this.item(named)];
    while (this.isSym(',')) {
      this.i++;
      out.push(this.item(named));
    }
    return out;
  }

  private item(named: boolean): NamedExpr {
    const t = this.peek();
    const n = this.toks[this.i + 1];
    if (t?.t === 'id' && n?.t === 'sym' && n.v === '=') {
      this.i += 2;
      return { name: t.v, expr: this.expr() };
    }
    if (named) throw new KqlError('SyntaxError', 'extend needs Name = expression');
    const expr = this.expr();
    if (expr.k === 'col') return { name: expr.name, expr };
    if (expr.k === 'call') return { name: expr.fn, expr };
    throw new KqlError('SyntaxError', 'an expression in project/by needs a name');
  }

  expr(): Expr {
    let l = this.andExpr();
    while (this.isWord('or')) {
      this.i++;
      l = { k: 'bin', op: 'or', l, r: this.andExpr() };
    }
    return l;
  }

  private andExpr(): Expr {
    let l = this.comparison();
    while (this.isWord('and')) {
      this.i++;
      l = { k: 'bin', op: 'and', l, r: this.comparison() };
    }
    return l;
  }

  private comparison(): Expr {
    const l = this.primary();
    const t = this.peek();
    if (t === undefined) return l;
    if ((t.t === 'id' && (t.v === 'in' || t.v === 'in~' || t.v === 'has_any')) || (t.t === 'sym' && t.v === '!in')) {
      this.i++;
      this.expectSym('(');
      const list = [this.expr()];
      while (this.isSym(',')) {
        this.i++;
        list.push(this.expr());
      }
      this.expectSym(')');
      return { k: 'in', op: t.v, l, list };
    }
    if (COMPARISONS.has(t.v) && (t.t === 'sym' || t.t === 'id')) {
      this.i++;
      return { k: 'bin', op: t.v, l, r: this.primary() };
    }
    return l;
  }

  private primary(): Expr {
    const t = this.peek();
    if (t === undefined) throw new KqlError('SyntaxError', 'unexpected end of query');
    let e: Expr;
    if (t.t === 'str') {
      this.i++;
      e = { k: 'lit', v: t.v };
    } else if (t.t === 'num') {
      this.i++;
      e = { k: 'lit', v: Number(t.v) };
    } else if (t.t === 'dt') {
      this.i++;
      const d = new Date(t.v);
      if (Number.isNaN(d.getTime())) throw new KqlError('SyntaxError', `bad datetime literal ${t.v}`);
      e = { k: 'lit', v: d };
    } else if (t.t === 'sym' && t.v === '(') {
      this.i++;
      e = this.expr();
      this.expectSym(')');
    } else if (t.t === 'id') {
      this.i++;
      if (t.v === 'true' || t.v === 'false') e = { k: 'lit', v: t.v === 'true' };
      else if (this.isSym('(')) {
        this.i++;
        const args: Expr[] = [];
        if (!this.isSym(')')) {
          args.push(this.expr());
          while (this.isSym(',')) {
            this.i++;
            args.push(this.expr());
          }
        }
        this.expectSym(')');
        e = { k: 'call', fn: t.v, args };
      } else e = { k: 'col', name: t.v };
    } else throw new KqlError('SyntaxError', `unexpected '${t.v}' near token ${this.i}`);
    for (;;) {
      if (this.isSym('.')) {
        this.i++;
        e = { k: 'member', obj: e, key: this.ident() };
      } else if (this.isSym('[')) {
        this.i++;
        const key = this.peek();
        if (key?.t !== 'str') throw new KqlError('SyntaxError', "expected ['name']");
        this.i++;
        this.expectSym(']');
        e = { k: 'member', obj: e, key: key.v };
      } else return e;
    }
  }
}

export function parseKql(src: string): Query {
  return new Parser(tokenize(src)).query();
}
