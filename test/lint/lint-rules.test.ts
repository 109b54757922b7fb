/**
 * The lint rules CI relies on can fail: a focused test, a floating promise and an import across
 * the layers (docs/architecture.md "Layers") are each reported on a file placed where it would be.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = new URL('../../', import.meta.url).pathname;
const written: string[] = [];

async function lintAt(path: string, text: string): Promise<string[]> {
  const file = join(REPO, path);
  written.push(file);
  await writeFile(file, text);
  const [result] = await new ESLint({ cwd: REPO }).lintFiles([file]);
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

afterAll(async () => {
  for (const f of written) await rm(f, { force: true });
});

describe('lint', () => {
  it('reports a focused test and a disabled one', async () => {
    const msgs = await lintAt('test/lint/focused-probe.test.ts', "import { it } from 'vitest';\nit.only('a', () => undefined);\nit.skip('b', () => undefined);\n");
    expect(msgs.filter((m) => m.startsWith('vitest/no-focused-tests'))).toHaveLength(1);
    expect(msgs.filter((m) => m.startsWith('vitest/no-disabled-tests'))).toHaveLength(1);
  }, 60_000);

  it('reports a floating promise and an import from a higher layer', async () => {
    const msgs = await lintAt(
      'core/model/layer-probe.ts',
      "import { Engine } from '../engine/engine.js';\nexport const probe = (): unknown => Engine;\nexport function later(): void {\n  Promise.resolve(1);\n}\n",
    );
    expect(msgs.some((m) => m.startsWith('no-restricted-imports') && m.includes('core/model imports nothing else'))).toBe(true);
    expect(msgs.some((m) => m.startsWith('@typescript-eslint/no-floating-promises'))).toBe(true);
  }, 60_000);

  it('reports a rule file that imports an example builder as a value, not as a type', async () => {
    const msgs = await lintAt(
      'rules/layer-probe.ts',
      "import { k8sEvent } from '../examples/audit-records.js';\nimport type { ExampleKit } from './data/example-kit.js';\nexport const probe = (kit: ExampleKit): unknown => [k8sEvent, kit];\n",
    );
    expect(msgs.filter((m) => m.startsWith('@typescript-eslint/no-restricted-imports'))).toHaveLength(1);
  }, 60_000);

  it('reports a sensor format that imports a cloud adapter', async () => {
    const msgs = await lintAt('adapters/sensors/layer-probe.ts', "import { parseEksRecord } from '../eks/parse.js';\nexport const probe = parseEksRecord;\n");
    expect(msgs.some((m) => m.startsWith('no-restricted-imports') && m.includes('a sensor format knows no cloud'))).toBe(true);
  }, 60_000);
});
