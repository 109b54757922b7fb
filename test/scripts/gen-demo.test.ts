import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateDemo } from '../../scripts/gen-demo.js';

const DEMO_DIR = join(import.meta.dirname, '..', '..', 'demo');

describe('demo generator', () => {
  it('produces the same bytes on every run', async () => {
    const a = await generateDemo();
    const b = await generateDemo();
    expect(a.map((f) => f.name)).toEqual([
      'eks-prod-1.cloudwatch-subscription.jsonl.gz',
      'aks-prod-1.diagnostic-records.jsonl.gz',
      'gke-prod-1.log-entries.jsonl.gz',
    ]);
    expect(b).toEqual(a);
    // A different seed gives different traffic: the seed is really used.
    const other = await generateDemo(7);
    expect(other.map((f) => f.text)).not.toEqual(a.map((f) => f.text));
  });

  it('matches the committed demo data (run `npm run gen-demo` after changing the generator)', async () => {
    const fresh = await generateDemo();
    const committed = readdirSync(DEMO_DIR).filter((f) => f.endsWith('.gz')).sort();
    expect(committed).toEqual(fresh.map((f) => f.name).sort());
    for (const f of fresh) {
      const text = gunzipSync(readFileSync(join(DEMO_DIR, f.name))).toString('utf8');
      expect({ file: f.name, same: text === f.text }).toEqual({ file: f.name, same: true });
    }
  });

  it('keeps the committed demo small', () => {
    const total = readdirSync(DEMO_DIR).reduce((sum, f) => sum + readFileSync(join(DEMO_DIR, f)).length, 0);
    expect(total).toBeLessThan(2 * 1024 * 1024);
  });
});
