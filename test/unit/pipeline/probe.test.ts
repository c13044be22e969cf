import { describe, expect, test } from 'vitest';
import { oddVector } from '../../../src/pipeline/probe.ts';

describe('oddVector: what a probe refuses to take as a model\'s size', () => {
  test('an ordinary vector passes; empty, too long, non-finite and all-zero ones say why', () => {
    expect(oddVector(Float32Array.from([0.6, 0.8]))).toBeUndefined();
    expect(oddVector(new Float32Array(0))).toBe('an empty vector');
    expect(oddVector(new Float32Array(16_001).fill(1))).toBe('a 16001-dim vector, more than embedq stores (16000)');
    expect(oddVector(Float32Array.from([1, Number.NaN]))).toBe('a 2-dim vector with values that are not finite numbers');
    expect(oddVector(new Float32Array(3))).toBe('a 3-dim vector of zeros');
  });
});
