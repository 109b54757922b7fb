import type { AnyRule } from '../core/rule.js';

// One import per rule file; keep sorted by family, then id.

export const RULES: readonly AnyRule[] = Object.freeze([
]);
