import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../src/config/schema.ts';
import { configProblems as problems } from '../../support/config-problems.ts';
import { ConfigError, UsageError } from '../../../src/errors.ts';
import { resolveMode } from '../../../src/pipeline/mode.ts';
import { CohereProvider } from '../../../src/providers/cohere.ts';
import { requireApiKey } from '../../../src/providers/credentials.ts';
import { createBatchBackend, createProvider } from '../../../src/providers/index.ts';
import { kindOf, listModels, resolveModel, UnknownNativeDimsError } from '../../../src/providers/models.ts';
import { VoyageProvider } from '../../../src/providers/voyage.ts';
import { OpenAIProvider } from '../../../src/providers/openai.ts';

const config = parseConfig(
  {
    providers: {
      voyage: { kind: 'voyage', apiKeyEnv: 'VOYAGE_API_KEY', models: { 'voyage-3.5': { maxInputsPerRequest: 10, priceSyncPerMTok: 0.07 } } },
      tei: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8080/v1', models: { 'bge-m3': { nativeDims: 1024, maxInputTokens: 8192, maxInputsPerRequest: 32, maxTokensPerRequest: 16384 }, 'no-size': { maxInputTokens: 512 } } },
      azure2: { kind: 'openai', baseUrl: 'https://gw.example.com/v1', apiKey: 'sk-gw-0123456789abcdef' },
      co: { kind: 'cohere', baseUrl: 'https://co.example.com', apiKeyEnv: 'CO2_KEY' },
    },
  },
  undefined,
  { VOYAGE_API_KEY: 'pa-0123456789abcdef' },
);
const { providers } = config;

describe('named providers', () => {
  test('<name>/<model> resolves through its kind\'s catalogue row, with the config over it, keyed by the name', () => {
    const m = resolveModel('voyage/voyage-3.5', 512, {}, providers);
    expect(m).toMatchObject({ key: 'voyage/voyage-3.5@1:512', dimAdapter: 'provider' });
    expect(m.spec).toMatchObject({ provider: 'voyage', kind: 'voyage', maxInputsPerRequest: 10, priceSyncPerMTok: 0.07, maxTokensPerRequest: 320_000, inputTypes: true });
    // A provider of kind openai under another name: OpenAI's rows, its own key.
    expect(resolveModel('azure2/text-embedding-3-small', 256, {}, providers)).toMatchObject({ key: 'azure2/text-embedding-3-small@1:256', spec: { kind: 'openai', provider: 'azure2' } });
  });

  test('an openai-compatible model declares its size and limits; left out, limits are OpenAI\'s and the size is probed', () => {
    expect(resolveModel('tei/bge-m3', undefined, {}, providers)).toMatchObject({ key: 'tei/bge-m3@1:1024', spec: { kind: 'openai-compatible', maxInputsPerRequest: 32, maxTokensPerRequest: 16384, supportsDimensions: false } });
    // No nativeDims and no --dims: nothing to resolve without the server, so the probe's error (pipeline/probe.ts catches it).
    expect(() => resolveModel('tei/no-size', undefined, {}, providers)).toThrow(UnknownNativeDimsError);
    expect(() => resolveModel('tei/no-size', undefined, {}, providers)).toThrow(
      /^tei\/no-size: its native size is not configured \(providers\.tei\.models\.no-size\.nativeDims\) and has not been probed yet: .*probe the server once with a one-word input; or set providers\.tei\.models\.no-size\.nativeDims, or pass --dims$/,
    );
    // --dims stands for the native size; the limits left out are OpenAI's /v1/embeddings ones.
    expect(resolveModel('tei/no-size', 768, {}, providers)).toMatchObject({
      key: 'tei/no-size@1:768',
      dimAdapter: 'native',
      spec: { nativeDims: 768, maxInputTokens: 512, maxInputsPerRequest: 2048, maxTokensPerRequest: 300_000, priceSyncPerMTok: 0 },
    });
    // What a probe recorded comes back as the nativeDims override.
    expect(resolveModel('tei/no-size', undefined, { nativeDims: 384 }, providers).key).toBe('tei/no-size@1:384');
    expect(() => resolveModel('tei/other', undefined, {}, providers)).toThrow(/unknown tei model "other": known tei models are tei\/bge-m3, tei\/no-size/);
    expect(() => resolveModel('voyage/voyage-9', undefined, {}, providers)).toThrow(/unknown voyage model "voyage-9": known voyage models are voyage\/voyage-3\.5, /);
  });

  test('a model another kind\'s catalogue lacks still declares its size and limits: OpenAI\'s limits are not its own', () => {
    const own = parseConfig({ providers: { vo: { kind: 'voyage', apiKey: 'pa-0123456789', models: { 'voyage-9': { maxInputTokens: 512 } } } } }).providers;
    expect(() => resolveModel('vo/voyage-9', undefined, {}, own)).toThrow(ConfigError);
    expect(() => resolveModel('vo/voyage-9', undefined, {}, own)).not.toThrow(UnknownNativeDimsError);
    expect(() => resolveModel('vo/voyage-9', undefined, {}, own)).toThrow(
      /^vo\/voyage-9: the voyage catalogue has no voyage-9, so the config must give its size and limits: set providers\.vo\.models\.voyage-9\.nativeDims, providers\.vo\.models\.voyage-9\.maxInputsPerRequest, providers\.vo\.models\.voyage-9\.maxTokensPerRequest \(embedq probes only servers speaking OpenAI's \/v1\/embeddings\)$/,
    );
  });

  test('an unknown provider lists the built-in and configured ones', () => {
    expect(() => resolveModel('voyag/voyage-3.5', undefined, {}, providers)).toThrow(UsageError);
    expect(() => resolveModel('voyag/voyage-3.5', undefined, {}, providers)).toThrow(/unknown provider "voyag" .*known providers are local, openai, cohere, voyage, tei, azure2, co/);
    expect(kindOf('tei', providers)).toBe('openai-compatible');
    expect(kindOf('openai', providers)).toBe('openai');
    expect(kindOf('nope', providers)).toBeUndefined();
  });

  test('keys come from apiKey or apiKeyEnv; loopback servers need none; a missing one names the variable', () => {
    expect(requireApiKey('voyage', config, 'voyage/voyage-3.5')).toBe('pa-0123456789abcdef');
    expect(requireApiKey('azure2', config, 'x')).toBe('sk-gw-0123456789abcdef');
    expect(requireApiKey('tei', config, 'x')).toBe('embedq-no-key');
    expect(() => requireApiKey('co', config, 'co/embed-v4.0')).toThrow(/co\/embed-v4\.0: CO2_KEY is not set \(providers\.co\.apiKeyEnv names it\)/);
    // Built-in providers keep their environment keys.
    expect(() => requireApiKey('openai', config, 'openai/x')).toThrow(/OPENAI_API_KEY is not set/);
  });

  test('the factory dispatches on kind with the provider\'s own connection', async () => {
    expect(await createProvider(resolveModel('tei/bge-m3', undefined, {}, providers), config)).toBeInstanceOf(OpenAIProvider);
    expect(await createProvider(resolveModel('azure2/text-embedding-3-small', undefined, {}, providers), config)).toBeInstanceOf(OpenAIProvider);
    const withKey = parseConfig({ providers: { co: { kind: 'cohere', apiKey: 'co-0123456789' } } });
    expect(await createProvider(resolveModel('co/embed-v4.0', undefined, {}, withKey.providers), withKey)).toBeInstanceOf(CohereProvider);
    // Each native kind gets its own adapter.
    expect(await createProvider(resolveModel('voyage/voyage-3.5', undefined, {}, providers), config)).toBeInstanceOf(VoyageProvider);
  });

  test('batch support goes by kind', async () => {
    expect(await resolveMode('batch', 'azure2/text-embedding-3-small@1:1536', () => true, providers)).toBe('batch');
    await expect(resolveMode('batch', 'tei/bge-m3@1:1024', () => true, providers)).rejects.toThrow(/has no batch API/);
    expect(await resolveMode('auto', 'tei/bge-m3@1:1024', () => true, providers)).toBe('sync');
    await expect(createBatchBackend(resolveModel('tei/bge-m3', undefined, {}, providers), config)).rejects.toThrow(/has no batch API/);
  });

  test('embedq models lists each configured provider\'s models under its name, and the kinds nobody serves as catalogue rows', () => {
    const ok = parseConfig({
      providers: { voyage: { kind: 'voyage' }, tei: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8080/v1', models: { 'bge-m3': providers.tei!.models['bge-m3']! } } },
    });
    const ids = listModels(ok.models, ok.providers).map((m) => m.id ?? `(${m.spec.kind}) ${m.spec.model}`);
    expect(ids).toEqual(expect.arrayContaining(['openai/text-embedding-3-small', 'voyage/voyage-3.5', 'voyage/voyage-law-2', 'tei/bge-m3', '(mistral) mistral-embed']));
    expect(ids).not.toContain('(voyage) voyage-3.5');
    // A model left to the probe is listed without a size.
    const probed = listModels(config.models, config.providers).find((m) => m.id === 'tei/no-size');
    expect(probed?.spec).toMatchObject({ nativeDims: null, maxInputTokens: 512, maxInputsPerRequest: 2048 });
  });
});

describe('the providers config', () => {

  test('a typo in a model field is one line naming the path, with the right name', () => {
    expect(problems({ providers: { voyage: { kind: 'voyage', models: { 'voyage-3.5': { nativeDim: 512 } } } } })).toEqual([
      'providers.voyage.models.voyage-3.5.nativeDim: unknown setting (did you mean "providers.voyage.models.voyage-3.5.nativeDims"?)',
    ]);
    expect(problems({ providers: { voyage: { kind: 'voyage', models: { 'voyage-3.5': { nativeDims: 'big' } } } } })).toEqual([expect.stringMatching(/^providers\.voyage\.models\.voyage-3\.5\.nativeDims: expected number/)]);
  });

  test('a typo in a kind or a provider name is one line naming the path', () => {
    expect(problems({ providers: { voyage: { kind: 'voyag' } } })).toEqual([expect.stringMatching(/^providers\.voyage\.kind: expected one of "openai", "cohere", "voyage", .*got "voyag"$/)]);
    expect(problems({ providers: { voyage: { kind: 'voyage' } }, defaultModel: 'voyag/voyage-3.5' })).toEqual([
      'defaultModel: expected a known provider, not "voyag" (known: local, openai, cohere, voyage; configure others under "providers"), got "voyag/voyage-3.5"',
    ]);
    expect(problems({ rateLimits: { 'tie/bge': { rpm: 5 } } })).toEqual([expect.stringMatching(/^rateLimits\.tie\/bge: expected a known provider, not "tie"/)]);
    expect(problems({ providers: { openai: { kind: 'openai' } } })).toEqual([expect.stringMatching(/^providers\.openai: expected a name other than local, openai and cohere/)]);
  });

  test('an openai-compatible provider needs a base URL; key and key variable exclude each other; neither key nor headers are quoted', () => {
    expect(problems({ providers: { tei: { kind: 'openai-compatible' } } })).toEqual([expect.stringMatching(/^providers\.tei\.baseUrl: expected the base URL of the server/)]);
    const p = problems({ providers: { v: { kind: 'voyage', apiKey: 'pa-supersecret-123', apiKeyEnv: 'V' } } });
    expect(p).toEqual(['providers.v.apiKeyEnv: expected either apiKey or apiKeyEnv, not both, got "V"']);
    const h = problems({ providers: { v: { kind: 'voyage', apiKey: 12345678901234, headers: { authorization: 7 } } } });
    expect(h.join('\n')).not.toMatch(/12345678901234|"7"/);
    expect(h).toHaveLength(2);
  });
});
