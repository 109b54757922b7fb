import { describe, expect, it } from 'vitest';
import { grouped } from '../../functions/cli/summary.js';

describe('grouped numbers in the summary', () => {
  it('writes what toLocaleString("en-US") writes, without loading the locale data', () => {
    for (const x of [0, 7, 999, 1000, 1001, 12_345, 999_999, 1_000_000, 264_518, 1_234_567_890, -1234, -999, 1.5, 1234.25, 0.1234, 1e15]) {
      expect(grouped(x), String(x)).toBe(x.toLocaleString('en-US'));
    }
  });
});
