import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { contentHash, hashedInputType, inputHash, textHash } from '../../../src/corpus/hash.ts';

const base = { scope: 'acme', modelKey: 'openai/text-embedding-3-small', dims: 1536, text: 'Hello, world' };

describe('inputHash', () => {
  test('is the documented framing (a persisted contract: this vector must never change)', () => {
    // Independently computed: sha256("embedq:input:v1\n" u32be|scope u32be|modelKey u32be(dims) u32be|text).
    expect(inputHash(base).toString('hex')).toBe('d7705fa3865e7f13ac73a4e5ee6fbda5792121869bc0df33c589e48309251a8b');
  });

  test('a query of a model with input types has its own key, framed under its own tag; documents keep v1', () => {
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const framed = (tag: string) =>
      createHash('sha256')
        .update(Buffer.concat([Buffer.from(tag), u32(4), Buffer.from('acme'), u32(29), Buffer.from(base.modelKey), u32(1536), u32(12), Buffer.from(base.text)]))
        .digest('hex');
    expect(inputHash({ ...base, inputType: 'query' }).toString('hex')).toBe(framed('embedq:input:v1:query\n'));
    expect(inputHash({ ...base, inputType: 'document' }).toString('hex')).toBe(framed('embedq:input:v1\n'));
    expect(inputHash({ ...base, inputType: 'document' }).equals(inputHash(base))).toBe(true);
    // Only where the model embeds queries differently does the type reach the key.
    expect(hashedInputType(true, 'query')).toBe('query');
    expect(hashedInputType(false, 'query')).toBe('document');
    expect(hashedInputType(true, 'document')).toBe('document');
  });

  test('length prefixes keep field boundaries unambiguous', () => {
    const a = inputHash({ ...base, scope: 'ab', modelKey: 'c' });
    const b = inputHash({ ...base, scope: 'a', modelKey: 'bc' });
    expect(a.equals(b)).toBe(false);
    const c = inputHash({ ...base, modelKey: 'm', text: 'xy' });
    const d = inputHash({ ...base, modelKey: 'mx', text: 'y' });
    expect(c.equals(d)).toBe(false);
  });

  test('every field changes the hash', () => {
    const h = inputHash(base).toString('hex');
    expect(inputHash({ ...base, scope: 'other' }).toString('hex')).not.toBe(h);
    expect(inputHash({ ...base, modelKey: 'openai/text-embedding-3-large' }).toString('hex')).not.toBe(h);
    expect(inputHash({ ...base, dims: 512 }).toString('hex')).not.toBe(h);
    expect(inputHash({ ...base, text: 'Hello, world!' }).toString('hex')).not.toBe(h);
    expect(inputHash({ ...base }).toString('hex')).toBe(h);
  });

  test('frames text by its UTF-8 byte length', () => {
    const text = 'naïve 漢字 😀';
    const bytes = Buffer.from(text, 'utf8');
    const h = inputHash({ ...base, text });
    const header = Buffer.concat([Buffer.from('embedq:input:v1\n'), u32(4), Buffer.from('acme'), u32(29), Buffer.from(base.modelKey), u32(1536), u32(bytes.length)]);
    expect(h.equals(createHash('sha256').update(header).update(bytes).digest())).toBe(true);
  });

  test('rejects dims that are not a positive 32-bit integer', () => {
    for (const dims of [0, -1, 1.5, Number.NaN, 2 ** 32]) expect(() => inputHash({ ...base, dims })).toThrow(/dims must be a positive integer/);
  });
});

describe('inputHash of token ids', () => {
  const { text: _t, ...noText } = base;
  test('is its own framing: never a text\'s key, order and query matter, and it is the documented bytes', () => {
    const ids = inputHash({ ...noText, tokens: [15339, 1917] });
    // The text made of the same digits, the same ids reordered, and the query variant are all other keys.
    expect(ids.equals(inputHash({ ...noText, text: '15339,1917' }))).toBe(false);
    expect(ids.equals(inputHash({ ...noText, tokens: [1917, 15339] }))).toBe(false);
    expect(ids.equals(inputHash({ ...noText, tokens: [15339, 1917], inputType: 'query' }))).toBe(false);
    const scope = Buffer.from(noText.scope);
    const model = Buffer.from(noText.modelKey);
    const want = createHash('sha256')
      .update(Buffer.concat([Buffer.from('embedq:input:v1:tokens\n'), u32(scope.length), scope, u32(model.length), model, u32(1536), u32(2), u32(15339), u32(1917)]))
      .digest();
    expect(ids.toString('hex')).toBe(want.toString('hex'));
  });
});

describe('textHash and contentHash', () => {
  test('are plain sha256 of the UTF-8 text', () => {
    expect(textHash('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(contentHash('abc').equals(textHash('abc'))).toBe(true);
    expect(textHash('abc').equals(inputHash({ ...base, text: 'abc' }))).toBe(false);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
