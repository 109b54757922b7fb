/**
 * The JSON subset of the CloudWatch Logs filter-pattern language, and its term patterns for
 * unstructured events, evaluated for real by the fake so a wrong pattern fails a test. Semantics follow the user guide ("Filter and pattern syntax",
 * JSON log events): selectors `$.a.b[0]`; `=`/`!=` on strings (quoted or bare, `*` wildcard) and
 * numbers; `< > <= >=` on numbers; `IS NULL`, `NOT EXISTS`, `EXISTS`, `IS TRUE`, `IS FALSE`;
 * `&&`, `||`, parentheses, precedence `()` > `&&` > `||`; a selector that points at an object or
 * an array never matches. Anything else (text terms, regex `%…%`) is rejected loudly, so a pattern
 * the fake does not understand can never pass a test by accident.
 */

/**
 * `message` is the event's message parsed as JSON (undefined when it is not JSON, which no JSON
 * pattern matches); `raw` its text, which term patterns search (defaults to `message` serialised).
 */
export type Matcher = (message: unknown, raw?: string) => boolean;

/**
 * A term pattern (user guide, "Using filter patterns to match terms in unstructured log events"):
 * terms are case-sensitive and separated by spaces; every plain term must appear (AND); terms
 * prefixed `?` match when any of them appears (OR); a term prefixed `-` must not appear. A term
 * holding anything but letters and digits must be in double quotes, and a quoted term is an exact
 * phrase (its spaces, brackets and dots included). The guide's examples match a term wherever it
 * occurs in the message, which is what this does. Mixing `?` terms with the others is not
 * modelled and is refused, as are regex terms.
 */
function compileTerms(src: string): Matcher {
  const all: string[] = [];
  const any: string[] = [];
  const none: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let into = all;
    if (c === '?' || c === '-') {
      into = c === '?' ? any : none;
      i++;
    }
    let term: string;
    if (src[i] === '"') {
      const end = src.indexOf('"', i + 1);
      if (end < 0) throw new PatternSyntaxError(`unterminated phrase at ${i}`);
      term = src.slice(i + 1, end);
      i = end + 1;
    } else {
      const m = /^\S+/.exec(src.slice(i));
      term = m?.[0] ?? '';
      if (term.startsWith('%')) throw new PatternSyntaxError('regex terms are not supported by the fake');
      if (!/^[A-Za-z0-9]+$/.test(term)) throw new PatternSyntaxError(`term ${term} has characters other than letters and digits: it must be quoted`);
      i += term.length;
    }
    if (term === '') throw new PatternSyntaxError(`empty term at ${i}`);
    into.push(term);
  }
  if (any.length > 0 && (all.length > 0 || none.length > 0)) throw new PatternSyntaxError('mixing ?terms with other terms is not modelled by the fake');
  return (message, raw) => {
    const text = raw ?? (typeof message === 'string' ? message : JSON.stringify(message) ?? '');
    if (any.length > 0) return any.some((t) => text.includes(t));
    return all.every((t) => text.includes(t)) && none.every((t) => !text.includes(t));
  };
}

export class PatternSyntaxError extends Error {}

type Token =
  | { t: 'punct'; v: '{' | '}' | '(' | ')' | '&&' | '||' }
  | { t: 'op'; v: '=' | '!=' | '<' | '>' | '<=' | '>=' }
  | { t: 'sel'; v: Array<string | number> }
  | { t: 'str'; v: string; quoted: boolean }
  | { t: 'word'; v: string };

const SELECTOR = /^\$((?:\.[A-Za-z0-9_-]+|\[\d+\])*)/;
const BARE = /^[^\s(){}"&|=!<>]+/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = rest.slice(0, 2);
    if (two === '&&' || two === '||') {
      out.push({ t: 'punct', v: two });
      i += 2;
    } else if (two === '!=' || two === '<=' || two === '>=') {
      out.push({ t: 'op', v: two });
      i += 2;
    } else if (c === '=' || c === '<' || c === '>') {
      out.push({ t: 'op', v: c });
      i++;
    } else if (c === '{' || c === '}' || c === '(' || c === ')') {
      out.push({ t: 'punct', v: c });
      i++;
    } else if (c === '$') {
      const m = SELECTOR.exec(rest);
      if (m === null || m[0] === '$') throw new PatternSyntaxError(`bad selector at ${i}`);
      const path = [...(m[1] ?? '').matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map((p) => (p[1] !== undefined ? p[1] : Number(p[2])));
      out.push({ t: 'sel', v: path });
      i += m[0].length;
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1);
      if (end < 0) throw new PatternSyntaxError(`unterminated string at ${i}`);
      out.push({ t: 'str', v: src.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else {
      const m = BARE.exec(rest);
      if (m === null) throw new PatternSyntaxError(`unexpected ${c} at ${i}`);
      const word = m[0];
      if (word.startsWith('%')) throw new PatternSyntaxError('regex terms are not supported by the fake');
      out.push(/^(NOT|EXISTS|IS|NULL|TRUE|FALSE)$/.test(word) ? { t: 'word', v: word } : { t: 'str', v: word, quoted: false });
      i += word.length;
    }
  }
  return out;
}

/** Compiles a pattern; `undefined`/empty matches everything, like the service. */
export function compilePattern(pattern: string | undefined): Matcher {
  if (pattern === undefined || pattern.trim() === '') return () => true;
  if (!pattern.trimStart().startsWith('{') && !pattern.trimStart().startsWith('[')) return compileTerms(pattern.trim());
  const tokens = tokenize(pattern);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const expectPunct = (v: string): void => {
    const tok = tokens[pos++];
    if (tok?.t !== 'punct' || tok.v !== v) throw new PatternSyntaxError(`expected ${v} at token ${pos - 1}`);
  };
  const orExpr = (): Matcher => {
    const parts = [andExpr()];
    while (peek()?.t === 'punct' && peek()?.v === '||') {
      pos++;
      parts.push(andExpr());
    }
    return parts.length === 1 ? (parts[0] as Matcher) : (m) => parts.some((p) => p(m));
  };
  const andExpr = (): Matcher => {
    const parts = [primary()];
    while (peek()?.t === 'punct' && peek()?.v === '&&') {
      pos++;
      parts.push(primary());
    }
    return parts.length === 1 ? (parts[0] as Matcher) : (m) => parts.every((p) => p(m));
  };
  const primary = (): Matcher => {
    const tok = tokens[pos++];
    if (tok?.t === 'punct' && tok.v === '(') {
      const inner = orExpr();
      expectPunct(')');
      return inner;
    }
    if (tok?.t !== 'sel') throw new PatternSyntaxError(`expected a selector at token ${pos - 1}`);
    return condition(tok.v);
  };
  const words = (...expected: string[]): boolean => {
    const ok = expected.every((w, k) => {
      const tok = tokens[pos + k];
      return tok?.t === 'word' && tok.v === w;
    });
    if (ok) pos += expected.length;
    return ok;
  };
  const condition = (path: Array<string | number>): Matcher => {
    if (words('NOT', 'EXISTS')) return (m) => !resolve(m, path).found;
    if (words('EXISTS')) return (m) => resolve(m, path).found;
    if (words('IS', 'NULL')) return (m) => resolve(m, path).value === null;
    if (words('IS', 'TRUE')) return (m) => resolve(m, path).value === true;
    if (words('IS', 'FALSE')) return (m) => resolve(m, path).value === false;
    const op = tokens[pos++];
    const val = tokens[pos++];
    if (op?.t !== 'op') throw new PatternSyntaxError(`expected an operator at token ${pos - 2}`);
    if (val?.t !== 'str') throw new PatternSyntaxError(`expected a value at token ${pos - 1}`);
    return comparison(path, op.v, val.v, val.quoted);
  };

  if (peek()?.t !== 'punct' || peek()?.v !== '{') throw new PatternSyntaxError('only JSON patterns ({ … }) and term patterns are supported by the fake');
  pos++;
  const root = orExpr();
  expectPunct('}');
  if (pos !== tokens.length) throw new PatternSyntaxError(`trailing tokens after position ${pos}`);
  return root;
}

function resolve(message: unknown, path: ReadonlyArray<string | number>): { found: boolean; value?: unknown } {
  let cur: unknown = message;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur) || step >= cur.length) return { found: false };
      cur = cur[step];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, step)) return { found: false };
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return { found: true, value: cur };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function comparison(path: Array<string | number>, op: string, raw: string, quoted: boolean): Matcher {
  const numeric = !quoted && NUMBER.test(raw);
  if ((op === '<' || op === '>' || op === '<=' || op === '>=') && !numeric) {
    throw new PatternSyntaxError(`${op} needs a number, got ${raw}`);
  }
  const glob = new RegExp(`^${raw.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  const target = Number(raw);
  return (m) => {
    const { found, value } = resolve(m, path);
    // Absent properties and objects/arrays match neither `=` nor `!=` (user guide, JSON special considerations).
    if (!found || value === null || typeof value === 'object') return false;
    if (numeric && typeof value === 'number') {
      switch (op) {
        case '=': return value === target;
        case '!=': return value !== target;
        case '<': return value < target;
        case '>': return value > target;
        case '<=': return value <= target;
        default: return value >= target;
      }
    }
    if (typeof value !== 'string' && typeof value !== 'number') return false;
    if (op !== '=' && op !== '!=') return false;
    const hit = glob.test(String(value));
    return op === '=' ? hit : !hit;
  };
}
