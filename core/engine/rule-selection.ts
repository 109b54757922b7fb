import { ConfigError } from '../model/errors.js';
import type { AnyRule } from '../model/rule.js';

/**
 * The rules to run, in registry order: all of them, or the listed ids. An unknown id is a
 * ConfigError naming it; `where` names the flag or variable the list came from.
 */
export function selectRules(all: readonly AnyRule[], ids: readonly string[] | undefined, where: string): AnyRule[] {
  if (ids === undefined) return [...all];
  if (ids.length === 0) throw new ConfigError('invalid-rules', `${where} needs at least one rule id.`);
  const known = new Set(all.map((r) => r.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new ConfigError(
      'unknown-rule',
      `${where}: unknown rule id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}. Run \`credwatch rules\` to list them.`,
    );
  }
  const chosen = new Set(ids);
  return all.filter((r) => chosen.has(r.id));
}

/** `a, b,,c` → `['a', 'b', 'c']`. */
export function splitIds(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
