/**
 * Builds the provider for a resolved model from the parsed config. The only place that decides
 * which implementation serves which `provider/…` prefix.
 */
import { ConfigError } from '../errors.ts';
import { CohereProvider } from './cohere.ts';
import { LocalProvider } from './local.ts';
import { OpenAIProvider, type OpenAIProviderOptions } from './openai.ts';
import type { EmbeddingProvider, ResolvedModel } from './types.ts';

export type { DimAdapter, EmbedCall, EmbedOptions, EmbedResult, EmbeddingProvider, ModelSpec, ResolvedModel } from './types.ts';
export { MODELS, resolveModel, type ModelOverrides } from './models.ts';
export type { RateLimitInfo } from './retry.ts';
export { CohereProvider, LocalProvider, OpenAIProvider };

/** The provider part of the config (a parsed `Config` fits). */
export interface ProviderConfig {
  openai?: { apiKey?: string | undefined; baseUrl?: string | undefined; organization?: string | undefined };
  cohere?: { apiKey?: string | undefined; baseUrl?: string | undefined };
}

/** Runtime knobs that are not configuration: tokenizer, concurrency, fetch, callbacks. */
export type CreateProviderOptions = Partial<Omit<OpenAIProviderOptions, 'apiKey' | 'baseUrl' | 'organization'>>;

/** Key sent to servers that need none (a local vLLM, TEI or Ollama); the SDK insists on one. */
const NO_KEY = 'embedq-no-key';

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
      const { apiKey, baseUrl, organization } = cfg.openai ?? {};
      const key = apiKey ?? (baseUrl && isLoopback(baseUrl) ? NO_KEY : undefined);
      if (!key)
        throw new ConfigError([
          `${id}: OPENAI_API_KEY is not set. Set it in the environment (or openai.apiKey in the config file), or point OPENAI_BASE_URL at a local OpenAI-compatible server`,
        ]);
      return new OpenAIProvider(model, {
        ...opts,
        apiKey: key,
        ...(baseUrl ? { baseUrl } : {}),
        ...(organization ? { organization } : {}),
      });
    }
    case 'cohere': {
      const { apiKey, baseUrl } = cfg.cohere ?? {};
      const key = apiKey ?? (baseUrl && isLoopback(baseUrl) ? NO_KEY : undefined);
      if (!key)
        throw new ConfigError([`${id}: COHERE_API_KEY is not set. Set it in the environment (or cohere.apiKey in the config file), or point COHERE_BASE_URL at a local Cohere-compatible server`]);
      return new CohereProvider(model, { ...opts, apiKey: key, ...(baseUrl ? { baseUrl } : {}) });
    }
  }
}

/** A server on this machine, where a dummy API key is fine. */
function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '0.0.0.0' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}
