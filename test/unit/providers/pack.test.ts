import { describe, expect, test } from 'vitest';
import { estimateTokens, packRequests } from '../../../src/providers/pack.ts';

describe('packRequests', () => {
  test('splits by input count', () => {
    expect(packRequests([1, 1, 1, 1, 1], 2, 100).map((s) => [s.start, s.end])).toEqual([[0, 2], [2, 4], [4, 5]]);
  });

  test('splits by summed tokens and reports each slice’s tokens', () => {
    expect(packRequests([40, 40, 40, 10], 100, 100)).toEqual([
      { start: 0, end: 2, tokens: 80 },
      { start: 2, end: 4, tokens: 50 },
    ]);
  });

  test('an input over the token limit travels alone; nothing is dropped', () => {
    const slices = packRequests([5, 500, 5], 10, 100);
    expect(slices.map((s) => [s.start, s.end])).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(packRequests([], 10, 100)).toEqual([]);
  });

  test('rejects non-positive limits', () => {
    expect(() => packRequests([1], 0, 10)).toThrow(RangeError);
  });
});

test('estimateTokens is ceil(UTF-8 bytes / 3)', () => {
  expect(estimateTokens('abcd')).toBe(2);
  expect(estimateTokens('é')).toBe(1);
  expect(estimateTokens('日本語')).toBe(3);
});
