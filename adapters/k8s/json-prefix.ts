/**
 * Salvage of a JSON object text that a log service cut short (EKS `[Truncated...]`, AKS 16 KiB
 * cut): only the top-level members that are complete in the surviving prefix are kept, each
 * parsed by `JSON.parse` itself. A value cut in the middle is dropped, never guessed, so a
 * username or a path is either whole or absent.
 */

/** Stop scanning after this many members: a real audit Event has fewer than 30. */
const MAX_MEMBERS = 256;

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the string starting at `i` (a `"`), or -1 when the text ends inside it. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

/**
 * Index just past the value starting at `i`, or -1 when it is not complete. Nested containers
 * are walked with a depth counter (no recursion), so deep nesting costs nothing but time.
 */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        const end = stringEnd(text, j);
        if (end < 0) return -1;
        j = end - 1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A bare literal (number, true, false, null) is complete only if a delimiter follows it.
  let j = i;
  while (j < text.length && !',}] \n\r\t'.includes(text[j]!)) j++;
  return j < text.length && j > i ? j : -1;
}

/**
 * The complete leading members of the object text, or undefined when the text does not start an
 * object. `complete` tells whether the object closed (then the text was not actually cut).
 */
export function leadingMembers(text: string): { members: Record<string, unknown>; complete: boolean } | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  const members: Record<string, unknown> = {};
  i++;
  for (let n = 0; n < MAX_MEMBERS; n++) {
    i = skipSpace(text, i);
    if (text[i] === '}') return { members, complete: true };
    if (text[i] !== '"') break;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) break;
    let key: string;
    try {
      key = JSON.parse(text.slice(i, keyEnd)) as string;
    } catch {
      break;
    }
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') break;
    i = skipSpace(text, i + 1);
    const end = valueEnd(text, i);
    if (end < 0) break;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(i, end));
    } catch {
      break;
    }
    // Plain assignment of `__proto__` would replace the prototype; such a member is meaningless here.
    if (key !== '__proto__') members[key] = value;
    i = skipSpace(text, end);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') return { members, complete: true };
    break;
  }
  return { members, complete: false };
}

/**
 * Containers nested deeper than this make a record unreadable: no audit or sensor record comes
 * near it (Kubernetes objects nest a few dozen levels at most), and recursive walks of a value
 * (JSON.stringify among them) overflow the stack a few thousand levels down.
 */
export const MAX_NESTING_DEPTH = 256;

/**
 * True when JSON text nests containers deeper than `limit`. Text with fewer opening brackets than
 * the limit cannot, which a count of `{` and `[` (native searches) settles for nearly every
 * record; only the others are scanned, skipping strings.
 */
export function nestsDeeperThan(text: string, limit = MAX_NESTING_DEPTH): boolean {
  let opens = 0;
  for (let i = text.indexOf('{'); i >= 0 && opens <= limit; i = text.indexOf('{', i + 1)) opens++;
  for (let i = text.indexOf('['); i >= 0 && opens <= limit; i = text.indexOf('[', i + 1)) opens++;
  if (opens <= limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
