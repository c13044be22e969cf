import { describe, expect, test } from 'vitest';
import { CATALOGUE } from '../../../src/providers/catalogue.ts';
import { chooseDimAdapter, findModel, MODELS, resolveModel } from '../../../src/providers/models.ts';

describe('the model catalogue', () => {
  test('every row says where its figures came from and when, and ids are unique', () => {
    for (const row of CATALOGUE) {
      expect(row.source.length, `${row.kind}/${row.model}`).toBeGreaterThan(10);
      expect(row.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    const ids = CATALOGUE.map((r) => `${r.kind}/${r.model}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('holds the models issue #12 names', () => {
    const ids = MODELS.map((m) => `${m.provider}/${m.model}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'openai/text-embedding-3-small', 'openai/text-embedding-3-large', 'openai/text-embedding-ada-002',
        'cohere/embed-v4.0', 'cohere/embed-english-v3.0', 'cohere/embed-multilingual-v3.0', 'cohere/embed-english-light-v3.0', 'cohere/embed-multilingual-light-v3.0',
        'voyage/voyage-3.5', 'voyage/voyage-3.5-lite', 'voyage/voyage-3-large', 'voyage/voyage-code-3', 'voyage/voyage-finance-2', 'voyage/voyage-law-2',
        'mistral/mistral-embed', 'mistral/codestral-embed', 'jina/jina-embeddings-v3', 'jina/jina-embeddings-v4', 'gemini/gemini-embedding-001', 'local/hash-v1',
      ]),
    );
  });

  test('the built-in models resolve exactly as before the catalogue (keys are identities of stored vectors)', () => {
    expect(resolveModel('openai/text-embedding-3-small', 512)).toMatchObject({ key: 'openai/text-embedding-3-small@1:512', dimAdapter: 'provider' });
    expect(resolveModel('openai/text-embedding-3-large').key).toBe('openai/text-embedding-3-large@1:3072');
    expect(resolveModel('cohere/embed-v4.0', 1024).key).toBe('cohere/embed-v4.0@1:1024');
    expect(resolveModel('local/hash-v1').key).toBe('local/hash-v1@1:384');
    expect(findModel('openai', 'text-embedding-3-small')).toMatchObject({ kind: 'openai', inputTypes: false, maxInputsPerRequest: 2048 });
    expect(findModel('cohere', 'embed-english-v3.0')).toMatchObject({ kind: 'cohere', inputTypes: true, maxInputsPerRequest: 96, maxTokensPerRequest: 96 * 512 });
  });

  test("Voyage's token cap per request differs by model", () => {
    expect(findModel('voyage', 'voyage-3.5-lite')!.maxTokensPerRequest).toBe(1_000_000);
    expect(findModel('voyage', 'voyage-3.5')!.maxTokensPerRequest).toBe(320_000);
    expect(findModel('voyage', 'voyage-3-large')!.maxTokensPerRequest).toBe(120_000);
    expect(MODELS.filter((m) => m.kind === 'voyage').every((m) => m.maxInputsPerRequest === 1000)).toBe(true);
  });

  test('a listed size above the default is asked of the provider, not padded', () => {
    const codestral = findModel('mistral', 'codestral-embed')!;
    expect(chooseDimAdapter(codestral, 3072)).toBe('provider');
    expect(chooseDimAdapter(codestral, 768)).toBe('truncate');
    expect(chooseDimAdapter(findModel('voyage', 'voyage-finance-2')!, 2048)).toBe('pad');
  });
});
