import { describe, expect, test } from 'vitest';
import { countWords, createLocalEmbedder, localEmbed, LocalProvider } from '../../../src/providers/local.ts';
import { resolveModel } from '../../../src/providers/models.ts';
import { cosine } from '../../../src/providers/vectors.ts';
import type { EmbedCall } from '../../../src/providers/types.ts';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

describe('localEmbed', () => {
  test('is deterministic and unit length at the requested size', () => {
    const a = localEmbed('Rotate the API keys every ninety days.', 384);
    const b = localEmbed('Rotate the API keys every ninety days.', 384);
    expect(a).toHaveLength(384);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(norm(a)).toBeCloseTo(1, 5);
    expect(localEmbed('x', 8)).toHaveLength(8);
    expect(norm(localEmbed('x', 8))).toBeCloseTo(1, 5);
  });

  test('ignores case, and text without words still gets a unit vector', () => {
    expect(Array.from(localEmbed('Hello World', 64))).toEqual(Array.from(localEmbed('hello world', 64)));
    for (const t of ['', '!!!', '   ']) expect(norm(localEmbed(t, 64))).toBeCloseTo(1, 5);
    expect(Array.from(localEmbed('', 64))).not.toEqual(Array.from(localEmbed('!!!', 64)));
  });

  test('a paraphrase that shares words scores higher than an unrelated text', () => {
    const q = localEmbed('how do I rotate my API keys', 384);
    const related = localEmbed('To rotate API keys, open settings and choose rotate key.', 384);
    const unrelated = localEmbed('Postgres vacuum reclaims storage held by dead tuples.', 384);
    expect(cosine(q, related)).toBeGreaterThan(cosine(q, unrelated) + 0.2);
    // Character n-grams relate word forms that share no whole word.
    expect(cosine(localEmbed('indexing', 384), localEmbed('indexes', 384))).toBeGreaterThan(cosine(localEmbed('indexing', 384), localEmbed('banana', 384)) + 0.2);
  });

  test('word order matters through bigrams', () => {
    const a = localEmbed('dog bites man', 384);
    const b = localEmbed('man bites dog', 384);
    expect(cosine(a, b)).toBeLessThan(0.999);
    expect(cosine(a, b)).toBeGreaterThan(0.5);
  });

  test('repeated words are damped (sublinear tf)', () => {
    const once = localEmbed('alpha beta', 384);
    const many = localEmbed(`${'alpha '.repeat(50)}beta`, 384);
    // Linear tf would make "beta" vanish next to fifty "alpha"s; 1 + ln(tf) keeps it visible.
    expect(cosine(many, localEmbed('beta', 384))).toBeGreaterThan(0.1);
    expect(cosine(once, many)).toBeGreaterThan(0.7);
  });

  test('seeds give different but deterministic spaces', () => {
    const t = 'the same text in two spaces';
    expect(Array.from(localEmbed(t, 128, 'model-a'))).toEqual(Array.from(localEmbed(t, 128, 'model-a')));
    expect(cosine(localEmbed(t, 128, 'model-a'), localEmbed(t, 128, 'model-b'))).toBeLessThan(0.5);
  });

  test('nested vectors keep meaning under truncation', () => {
    const embed = createLocalEmbedder(1536, 'm', { nested: true });
    const prefix = (v: Float32Array) => v.subarray(0, 64);
    const q = embed('how do I rotate my API keys').vector;
    const related = embed('To rotate API keys, open settings and choose rotate key.').vector;
    const unrelated = embed('Postgres vacuum reclaims storage held by dead tuples.').vector;
    expect(norm(prefix(embed('hi').vector))).toBeGreaterThan(0);
    expect(cosine(prefix(q), prefix(related))).toBeGreaterThan(cosine(prefix(q), prefix(unrelated)));
  });

  test('countWords counts words the way the embedder does', () => {
    expect(countWords('Hello, world! It’s 2026.')).toBe(5);
    expect(countWords('')).toBe(0);
    expect(createLocalEmbedder(16)('one two  three').words).toBe(3);
  });
});

describe('LocalProvider', () => {
  test('embeds in input order, counts words as tokens, reports one call', async () => {
    const p = new LocalProvider(resolveModel('local/hash-v1', 256));
    const calls: EmbedCall[] = [];
    const res = await p.embed(['alpha beta', 'gamma'], { onCall: (c) => calls.push(c) });
    expect(res.vectors.map((v) => v.length)).toEqual([256, 256]);
    expect(Array.from(res.vectors[1]!)).toEqual(Array.from(localEmbed('gamma', 256)));
    expect(res).toMatchObject({ tokens: 3, requests: 1, retries: 0 });
    expect(calls).toEqual([expect.objectContaining({ inputs: 2, tokens: 3, status: 'ok', attempt: 1 })]);
  });

  test('pads beyond its native range', async () => {
    const p = new LocalProvider(resolveModel('local/hash-v1', 5000));
    expect(p.model.dimAdapter).toBe('pad');
    const [v] = (await p.embed(['some words here'])).vectors;
    expect(v).toHaveLength(5000);
    expect(norm(v!)).toBeCloseTo(1, 5);
    expect(Array.from(v!.subarray(4096)).every((x) => x === 0)).toBe(true);
  });

  test('honours an aborted signal', async () => {
    const p = new LocalProvider(resolveModel('local/hash-v1'));
    await expect(p.embed(['x'], { signal: AbortSignal.abort(new Error('stop')) })).rejects.toThrow('stop');
  });
});
