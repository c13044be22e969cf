import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { CohereProvider } from '../../../src/providers/cohere.ts';
import { createProvider } from '../../../src/providers/index.ts';
import { LocalProvider } from '../../../src/providers/local.ts';
import { resolveModel } from '../../../src/providers/models.ts';
import { OpenAIProvider } from '../../../src/providers/openai.ts';

describe('createProvider', () => {
  const small = resolveModel('openai/text-embedding-3-small');

  test('local needs no configuration', async () => {
    expect(await createProvider(resolveModel('local/hash-v1'), {})).toBeInstanceOf(LocalProvider);
  });

  test('a missing OpenAI key is a ConfigError naming the variable', async () => {
    await expect(createProvider(small, {})).rejects.toThrow(ConfigError);
    await expect(createProvider(small, { openai: { baseUrl: 'https://api.example.com/v1' } })).rejects.toThrow(/openai\/text-embedding-3-small: OPENAI_API_KEY is not set/);
  });

  test.each(['http://localhost:8000/v1', 'http://127.0.0.1:11434/v1', 'http://[::1]:8080/v1'])('a local server (%s) needs no key', async (baseUrl) => {
    expect(await createProvider(small, { openai: { baseUrl } })).toBeInstanceOf(OpenAIProvider);
  });

  test('with a key, any base URL', async () => {
    expect(await createProvider(small, { openai: { apiKey: 'sk-test', baseUrl: 'https://example.com/v1' } })).toBeInstanceOf(OpenAIProvider);
  });

  test('Cohere needs COHERE_API_KEY, except for a local server', async () => {
    const v4 = resolveModel('cohere/embed-v4.0');
    expect(await createProvider(v4, { cohere: { apiKey: 'k' } })).toBeInstanceOf(CohereProvider);
    await expect(createProvider(v4, {})).rejects.toThrow(ConfigError);
    await expect(createProvider(v4, {})).rejects.toThrow(/cohere\/embed-v4\.0: COHERE_API_KEY is not set/);
    expect(await createProvider(v4, { cohere: { baseUrl: 'http://localhost:8080' } })).toBeInstanceOf(CohereProvider);
  });
});
