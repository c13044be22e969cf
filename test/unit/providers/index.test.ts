import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { CohereProvider, createProvider, LocalProvider, OpenAIProvider, resolveModel } from '../../../src/providers/index.ts';

describe('createProvider', () => {
  const small = resolveModel('openai/text-embedding-3-small');

  test('local needs no configuration', () => {
    expect(createProvider(resolveModel('local/hash-v1'), {})).toBeInstanceOf(LocalProvider);
  });

  test('a missing OpenAI key is a ConfigError naming the variable', () => {
    expect(() => createProvider(small, {})).toThrow(ConfigError);
    expect(() => createProvider(small, { openai: { baseUrl: 'https://api.example.com/v1' } })).toThrow(/openai\/text-embedding-3-small: OPENAI_API_KEY is not set/);
  });

  test.each(['http://localhost:8000/v1', 'http://127.0.0.1:11434/v1', 'http://[::1]:8080/v1'])('a local server (%s) needs no key', (baseUrl) => {
    expect(createProvider(small, { openai: { baseUrl } })).toBeInstanceOf(OpenAIProvider);
  });

  test('with a key, any base URL', () => {
    expect(createProvider(small, { openai: { apiKey: 'sk-test', baseUrl: 'https://example.com/v1' } })).toBeInstanceOf(OpenAIProvider);
  });

  test('Cohere needs COHERE_API_KEY, except for a local server', () => {
    const v4 = resolveModel('cohere/embed-v4.0');
    expect(createProvider(v4, { cohere: { apiKey: 'k' } })).toBeInstanceOf(CohereProvider);
    expect(() => createProvider(v4, {})).toThrow(ConfigError);
    expect(() => createProvider(v4, {})).toThrow(/cohere\/embed-v4\.0: COHERE_API_KEY is not set/);
    expect(createProvider(v4, { cohere: { baseUrl: 'http://localhost:8080' } })).toBeInstanceOf(CohereProvider);
  });
});
