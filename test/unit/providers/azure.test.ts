/**
 * The `azure-openai` kind in the config and the catalogue: what it requires and refuses (each
 * problem one line naming its path), and that its models are OpenAI's rows under its own name and
 * kind, each with the deployment it is sent to.
 */
import { describe, expect, test } from 'vitest';
import { runModels } from '../../../src/cli/commands/models.ts';
import { parseConfig } from '../../../src/config/schema.ts';
import { configProblems as problems } from '../../support/config-problems.ts';
import { createProvider } from '../../../src/providers/index.ts';
import { findModel, resolveModel } from '../../../src/providers/models.ts';
import { OpenAIProvider } from '../../../src/providers/openai.ts';


const endpoint = 'https://myres.openai.azure.com';
const config = parseConfig({
  providers: {
    azure: { kind: 'azure-openai', baseUrl: endpoint, apiKey: 'azure-key-0123456789', models: { 'text-embedding-3-small': { deployment: 'emb-small' } } },
    azure2: { kind: 'azure-openai', baseUrl: endpoint, apiKey: 'azure-key-0123456789', apiVersion: '2025-04-01-preview', models: { 'my-ft': { nativeDims: 768, maxInputTokens: 8191, maxInputsPerRequest: 16, maxTokensPerRequest: 100_000 } } },
  },
});

describe('the azure-openai config', () => {
  test('accepts an endpoint, an api version and per-model deployments', () => {
    expect(config.providers.azure).toMatchObject({ kind: 'azure-openai', baseUrl: endpoint, models: { 'text-embedding-3-small': { deployment: 'emb-small' } } });
    expect(config.providers.azure2!.apiVersion).toBe('2025-04-01-preview');
  });

  test('needs the resource endpoint as baseUrl', () => {
    expect(problems({ providers: { azure: { kind: 'azure-openai', apiKey: 'k' } } })).toEqual([
      'providers.azure.baseUrl: expected the endpoint of the Azure OpenAI resource (there is no default), e.g. https://myres.openai.azure.com',
    ]);
  });

  test('apiVersion and deployment belong to azure-openai only, each refused naming its path', () => {
    expect(problems({ providers: { oai: { kind: 'openai', apiVersion: '2024-10-21', models: { 'text-embedding-3-small': { deployment: 'x' } } } } })).toEqual([
      'providers.oai.apiVersion: expected no apiVersion (only an azure-openai provider takes one; this one is openai), got "2024-10-21"',
      'providers.oai.models.text-embedding-3-small.deployment: expected no deployment (only the models of an azure-openai provider take one; this one is openai), got "x"',
    ]);
  });

  test('a typo names its path; a malformed version or deployment says what is expected', () => {
    expect(problems({ providers: { azure: { kind: 'azure-openai', baseUrl: endpoint, apiVersoin: '2024-10-21' } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.apiVersoin: unknown setting \(did you mean "providers\.azure\.apiVersion"\?\)$/),
    ]);
    expect(problems({ providers: { azure: { kind: 'azure-openai', baseUrl: endpoint, models: { 'text-embedding-3-small': { deploymnet: 'x' } } } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.models\.text-embedding-3-small\.deploymnet: unknown setting \(did you mean "providers\.azure\.models\.text-embedding-3-small\.deployment"\?\)$/),
    ]);
    expect(problems({ providers: { azure: { kind: 'azure-openai', baseUrl: endpoint, apiVersion: 'latest' } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.apiVersion: .*an Azure OpenAI API version like 2024-10-21/),
    ]);
    expect(problems({ providers: { azure: { kind: 'azure-openai', baseUrl: endpoint, models: { 'text-embedding-3-small': { deployment: 'a/b' } } } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.models\.text-embedding-3-small\.deployment: .*one URL path segment/),
    ]);
  });
});

describe('azure-openai models', () => {
  test("OpenAI's catalogue rows under the provider's name and kind, with the deployment (default: the model name)", () => {
    const m = resolveModel('azure/text-embedding-3-small', 512, {}, config.providers);
    const { provider: _p, kind: _k, ...openai } = findModel('openai', 'text-embedding-3-small')!;
    expect(m).toMatchObject({ key: 'azure/text-embedding-3-small@1:512', dimAdapter: 'provider' });
    expect(m.spec).toEqual({ ...openai, provider: 'azure', kind: 'azure-openai', deployment: 'emb-small' });
    expect(resolveModel('azure/text-embedding-3-large', undefined, {}, config.providers).spec).toMatchObject({ kind: 'azure-openai', nativeDims: 3072, deployment: 'text-embedding-3-large' });
    // A model OpenAI's catalogue lacks declares its size, as with any kind.
    expect(resolveModel('azure2/my-ft', undefined, {}, config.providers).spec).toMatchObject({ kind: 'azure-openai', nativeDims: 768, maxInputsPerRequest: 16, deployment: 'my-ft' });
    expect(() => resolveModel('azure/text-embedding-4', undefined, {}, config.providers)).toThrow(/unknown azure model "text-embedding-4": known azure models are azure\/text-embedding-3-small, azure\/text-embedding-3-large/);
  });

  test('embedq models lists them with their deployment; the factory builds the OpenAI adapter', async () => {
    const rows = runModels(config, { kind: 'azure-openai' });
    expect(rows.map((r) => [r.id, r.deployment])).toEqual(
      expect.arrayContaining([
        ['azure/text-embedding-3-small', 'emb-small'],
        ['azure/text-embedding-3-large', 'text-embedding-3-large'],
        ['azure/text-embedding-ada-002', 'text-embedding-ada-002'],
        ['azure2/my-ft', 'my-ft'],
      ]),
    );
    expect(runModels(config, { kind: 'openai' }).every((r) => r.deployment === null)).toBe(true);
    expect(await createProvider(resolveModel('azure/text-embedding-3-small', undefined, {}, config.providers), config)).toBeInstanceOf(OpenAIProvider);
  });
});
