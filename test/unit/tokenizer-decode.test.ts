import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import { expect, test } from 'vitest';
import { tokenizerFor } from '../../src/corpus/tokenizer.ts';

const cl100k = tokenizerFor('cl100k_base');

test('decode gives back the text of a canonical encoding, multi-byte characters included', () => {
  for (const text of ['hello world', 'héllo wörld ✓', '日本語のテキスト', 'emoji 🎉 and <|endoftext|> as text']) expect(cl100k.decode!(encode(text, { disallowedSpecial: new Set() }))).toBe(text);
});

test('decode refuses ids outside the vocabulary, a cut inside a character, and a non-canonical split; none garbles the next decode', () => {
  expect(cl100k.decode!([99_999_999])).toBeUndefined();
  const check = encode('✓');
  expect(check.length).toBeGreaterThan(1); // a character spread over several byte tokens
  expect(cl100k.decode!(check.slice(0, 1))).toBeUndefined();
  // "hello" as two tokens "hel" + "lo" decodes to text that encodes otherwise.
  const split = [...encode('hel'), ...encode('lo')];
  expect(cl100k.decode!(split)).toBeUndefined();
  // The bytes left over from the cut above must not leak into the next decode.
  expect(cl100k.decode!(encode('after'))).toBe('after');
  expect(cl100k.decode!(encode('é'))).toBe('é');
});

test('the word tokenizer has no decode: token ids cannot be mapped back to text', () => {
  expect(tokenizerFor('word').decode).toBeUndefined();
});
