/**
 * Builds the provider for a resolved model from the parsed config. The only place that decides
 * which implementation serves which `provider/…` prefix.
 */
import { requireApiKey, type ProviderConfig } from './credentials.ts';
import { CohereProvider } from './cohere.ts';
import { LocalProvider } from './local.ts';
import { OpenAIProvider, type OpenAIProviderOptions } from './openai.ts';
import type { EmbeddingProvider, ResolvedModel } from './types.ts';

export type { DimAdapter, EmbedCall, EmbedOptions, EmbedResult, EmbeddingProvider, ModelSpec, ResolvedModel } from './types.ts';
export { MODELS, resolveModel, type ModelOverrides } from './models.ts';
export type { RateLimitInfo } from './retry.ts';
export { CohereProvider, LocalProvider, OpenAIProvider };
export type { ProviderConfig };

/** Runtime knobs that are not configuration: tokenizer, concurrency, fetch, callbacks. */
export type CreateProviderOptions = Partial<Omit<OpenAIProviderOptions, 'apiKey' | 'baseUrl' | 'organization'>>;

/**
 * @throws ConfigError when the OpenAI or Cohere key is missing for a non-local base URL
 * @example createProvider(resolveModel('openai/text-embedding-3-small', 512), config, { countTokens })
 */
export function createProvider(model: ResolvedModel, cfg: ProviderConfig, opts: CreateProviderOptions = {}): EmbeddingProvider {
  const id = `${model.spec.provider}/${model.spec.model}`;
  switch (model.spec.provider) {
    case 'local':
      return new LocalProvider(model);
    case 'openai': {
      const { baseUrl, organization } = cfg.openai ?? {};
      const key = requireApiKey('openai', cfg, id)!;
      return new OpenAIProvider(model, {
        ...opts,
        apiKey: key,
        ...(baseUrl ? { baseUrl } : {}),
        ...(organization ? { organization } : {}),
      });
    }
    case 'cohere': {
      const { baseUrl } = cfg.cohere ?? {};
      const key = requireApiKey('cohere', cfg, id)!;
      return new CohereProvider(model, { ...opts, apiKey: key, ...(baseUrl ? { baseUrl } : {}) });
    }
  }
}
