/** fitToModel: a text over the model's input limit is cut to it (truncate) or cut into parts (split). */
import { describe, expect, test } from 'vitest';
import { tokenizerFor } from '../../../src/corpus/tokenizer.ts';
import { fitToModel } from '../../../src/pipeline/embed-batch.ts';

const word = tokenizerFor('word');
const seven = 'one two three four five six seven';

describe('fitToModel', () => {
  test('a text within the limit, or exactly at it, is the one input, unchanged in either mode', () => {
    for (const mode of ['truncate', 'split'] as const) {
      expect(fitToModel(seven, word, 8, mode)).toEqual([seven]);
      expect(fitToModel(seven, word, 7, mode)).toEqual([seven]);
    }
  });

  test('truncate keeps the longest prefix within the limit', () => {
    expect(fitToModel(seven, word, 3, 'truncate')).toEqual(['one two three']);
    expect(fitToModel(seven, word, 6, 'truncate')).toEqual(['one two three four five six']);
  });

  test('split cuts the whole text into parts within the limit, dropping the spaces between them', () => {
    expect(fitToModel(seven, word, 3, 'split')).toEqual(['one two three', 'four five six', 'seven']);
    expect(fitToModel('alpha  bravo\n\ncharlie delta', word, 2, 'split')).toEqual(['alpha  bravo', 'charlie delta']);
  });

  test('a count the caller already has is trusted instead of counting again', () => {
    expect(fitToModel(seven, word, 3, 'truncate', 3)).toEqual([seven]);
    expect(fitToModel(seven, word, 3, 'split', 8)).toEqual(['one two three', 'four five six', 'seven']);
  });

  test('with a BPE tokenizer every part is within the limit and the parts keep all the text', () => {
    const cl100k = tokenizerFor('cl100k_base');
    const text = Array.from({ length: 40 }, (_, i) => `sentence number ${i} says something.`).join(' ');
    const parts = fitToModel(text, cl100k, 25, 'split');
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(cl100k.count(p)).toBeLessThanOrEqual(25);
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(text);
    const [cut] = fitToModel(text, cl100k, 25, 'truncate');
    expect(cl100k.count(cut!)).toBeLessThanOrEqual(25);
    expect(text.startsWith(cut!)).toBe(true);
    expect(parts[0]).toBe(cut);
  });
});
