import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveDetectionConfig } from '../../core/engine/detection-config.js';
import { Engine } from '../../core/engine/engine.js';
import { RULES } from '../../rules/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

// The README is the first thing a user copies from: its commands and config must stay valid.
describe('README', () => {
  it('opens with the two commands, demo then test', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('#')[0]!.trim())).toEqual(['npm run demo', 'npm test']);
  });

  it('shows a config example the engine accepts', () => {
    const json = /```json\n(\{ "rules"[\s\S]*?)```/.exec(readme)?.[1];
    expect(json).toBeDefined();
    const config = resolveDetectionConfig(JSON.parse(json!), RULES, 'README');
    // Rule options are checked against each rule's own schema when the engine is built.
    expect(() => new Engine({ rules: RULES, ruleOptions: config.ruleOptions, identities: config.identities })).not.toThrow();
    expect(() => new Engine({ rules: RULES, ruleOptions: { 'secret-sweep': { threshold: 1 } } })).toThrow(/rules\.secret-sweep\.threshold/);
  });

  it('links only docs that exist', () => {
    const missing = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!).filter((p) => {
      try {
        readFileSync(new URL(`../../${p}`, import.meta.url));
        return false;
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  });
});
