import { describe, expect, it } from 'vitest';
import { compilerFlagFor } from '../../functions/cli/compiler-tuning.js';

describe('compilerFlagFor', () => {
  it('limits inlining on V8 11 (Node 20), where TurboFan is the only optimising compiler', () => {
    expect(compilerFlagFor('11.3.244.8-node.33', [], undefined)).toBe('--max-inlined-bytecode-size=30');
  });

  it('leaves V8 12 and later (Node 22 on, with Maglev) alone', () => {
    expect(compilerFlagFor('12.4.254.21-node.33', [], undefined)).toBeUndefined();
    expect(compilerFlagFor('13.6.233.10-node.24', [], undefined)).toBeUndefined();
    expect(compilerFlagFor('not a version', [], undefined)).toBeUndefined();
  });

  it('leaves a limit the user set alone, on the command line or in NODE_OPTIONS, in either spelling', () => {
    expect(compilerFlagFor('11.3.244.8', ['--max-inlined-bytecode-size=460'], undefined)).toBeUndefined();
    expect(compilerFlagFor('11.3.244.8', ['--no-turbo-inlining'], undefined)).toBeUndefined();
    expect(compilerFlagFor('11.3.244.8', [], '--max-old-space-size=4096 --max_inlined_bytecode_size=100')).toBeUndefined();
    expect(compilerFlagFor('11.3.244.8', ['--max-old-space-size=4096'], '--enable-source-maps')).toBe('--max-inlined-bytecode-size=30');
  });
});
