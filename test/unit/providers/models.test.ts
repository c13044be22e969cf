import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../src/errors.ts';
import { chooseDimAdapter, findModel, MODELS, parseModelId, resolveModel } from '../../../src/providers/models.ts';

describe('parseModelId', () => {
  test('splits provider, model and version; the model may contain a slash', () => {
    expect(parseModelId('openai/text-embedding-3-small')).toEqual({ provider: 'openai', model: 'text-embedding-3-small' });
    expect(parseModelId('openai/text-embedding-3-small@1')).toEqual({ provider: 'openai', model: 'text-embedding-3-small', version: '1' });
    expect(parseModelId('openai/BAAI/bge-m3@2024-01')).toEqual({ provider: 'openai', model: 'BAAI/bge-m3', version: '2024-01' });
  });

  test.each(['text-embedding-3-small', 'openai/', '/x', 'openai/a@', 'OpenAI/x'])('rejects %j', (id) => {
    expect(() => parseModelId(id)).toThrow(UsageError);
  });
});

describe('resolveModel', () => {
  test('defaults to the native size and builds the key', () => {
    const m = resolveModel('openai/text-embedding-3-small');
    expect(m).toMatchObject({ dims: 1536, dimAdapter: 'native', key: 'openai/text-embedding-3-small@1:1536' });
    expect(m.spec).toMatchObject({ priceSyncPerMTok: 0.02, priceBatchPerMTok: 0.01, maxInputsPerRequest: 2048, maxInputTokens: 8191, maxTokensPerRequest: 300_000 });
    expect(resolveModel('local/hash-v1')).toMatchObject({ dims: 384, dimAdapter: 'native', key: 'local/hash-v1@1:384' });
  });

  test('chooses the dimension adapter', () => {
    expect(resolveModel('openai/text-embedding-3-small', 512)).toMatchObject({ dimAdapter: 'provider', key: 'openai/text-embedding-3-small@1:512' });
    expect(resolveModel('openai/text-embedding-ada-002', 2048).dimAdapter).toBe('pad');
    expect(resolveModel('cohere/embed-v4.0', 1024).dimAdapter).toBe('provider');
    expect(resolveModel('local/hash-v1', 1000).dimAdapter).toBe('native');
    expect(resolveModel('local/hash-v1', 8000).dimAdapter).toBe('pad');
    // Matryoshka without a dimensions parameter: truncated locally.
    expect(chooseDimAdapter({ ...findModel('openai', 'text-embedding-3-small')!, supportsDimensions: false }, 256)).toBe('truncate');
  });

  test('refuses to truncate a model that is not Matryoshka-trained, and says why', () => {
    expect(() => resolveModel('openai/text-embedding-ada-002', 512)).toThrow(/ada-002 returns 1536 dims and cannot produce 512: .*not Matryoshka-trained/);
    expect(() => resolveModel('cohere/embed-v4.0', 768)).toThrow(/accepts only 256, 512, 1024, 1536 dims/);
    expect(() => resolveModel('cohere/embed-english-v3.0', 256)).toThrow(UsageError);
    expect(() => resolveModel('local/hash-v1', 4)).toThrow(/produces 8 to 4096 dims, not 4/);
  });

  test('validates dims', () => {
    for (const d of [0, -1, 1.5, 16_001]) expect(() => resolveModel('openai/text-embedding-3-small', d)).toThrow(/whole number from 1 to 16000/);
  });

  test('unknown providers list the known ones', () => {
    expect(() => resolveModel('voyage/voyage-3')).toThrow(/unknown provider "voyage".*local, openai, cohere/);
  });

  test('unknown local and cohere models list the known ones', () => {
    expect(() => resolveModel('local/hash-v9')).toThrow(/known local models are local\/hash-v1/);
    expect(() => resolveModel('cohere/embed-v9')).toThrow(/cohere\/embed-v4\.0/);
  });

  test('unknown openai models (compatible servers) need --dims and are priced at 0 unless configured', () => {
    expect(() => resolveModel('openai/nomic-embed-text')).toThrow(/--dims/);
    const m = resolveModel('openai/nomic-embed-text', 768);
    expect(m).toMatchObject({ dims: 768, dimAdapter: 'native', key: 'openai/nomic-embed-text@1:768' });
    expect(m.spec).toMatchObject({ tokenizer: 'cl100k_base', priceSyncPerMTok: 0, supportsDimensions: false });
    const priced = resolveModel('openai/BAAI/bge-m3@7', undefined, { nativeDims: 1024, priceSyncPerMTok: 0.01, maxInputsPerRequest: 32 });
    expect(priced).toMatchObject({ dims: 1024, key: 'openai/BAAI/bge-m3@7:1024' });
    expect(priced.spec).toMatchObject({ priceSyncPerMTok: 0.01, maxInputsPerRequest: 32 });
    // Without a dimensions parameter or Matryoshka training, a smaller size is refused.
    expect(() => resolveModel('openai/nomic-embed-text', 256, { nativeDims: 768 })).toThrow(UsageError);
  });

  test('a pinned version must match the registry unless overridden', () => {
    expect(resolveModel('openai/text-embedding-3-small@1').key).toBe('openai/text-embedding-3-small@1:1536');
    expect(() => resolveModel('openai/text-embedding-3-small@2')).toThrow(/no version "2".*pins version 1/);
    expect(resolveModel('openai/text-embedding-3-small@2', 256, { version: '2' }).key).toBe('openai/text-embedding-3-small@2:256');
  });

  test('the registry holds what the design names', () => {
    const ids = MODELS.map((m) => `${m.provider}/${m.model}`);
    expect(ids).toEqual(expect.arrayContaining(['local/hash-v1', 'openai/text-embedding-3-large', 'cohere/embed-multilingual-v3.0', 'cohere/embed-english-light-v3.0']));
    expect(findModel('openai', 'text-embedding-3-large')).toMatchObject({ nativeDims: 3072, priceSyncPerMTok: 0.13, priceBatchPerMTok: 0.065 });
    expect(MODELS.filter((m) => m.provider === 'cohere').every((m) => m.maxInputsPerRequest === 96)).toBe(true);
  });
});
