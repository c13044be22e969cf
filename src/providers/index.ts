/**
 * Builds the provider for a resolved model from the parsed config, and its batch backend. The
 * only place that decides which implementation serves which `provider/…` prefix, sync and batch.
 * It loads every SDK, so the pool and the batch clients import it lazily, and the pool builds
 * `local/…` (no SDK) itself: a local run does not pay ~1.5 s to load SDKs it never calls.
 */
import { UsageError } from '../errors.ts';
import { hasBatchApi, type BatchBackend, type BatchProvider } from './batch-backend.ts';
import { CohereBatchBackend } from './cohere-batch.ts';
import { CohereEmbedJobsClient } from './cohere-embed-jobs.ts';
import { CohereProvider } from './cohere.ts';
import { NO_KEY, requireApiKey, type ProviderConfig } from './credentials.ts';
import { LocalProvider } from './local.ts';
import { OpenAIBatchClient } from './openai-batch.ts';
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

// The CLI checked the key before the run was enqueued; a batch without one gets the server's own refusal.
const BATCH: Record<BatchProvider, (model: ResolvedModel, cfg: ProviderConfig) => BatchBackend> = {
  openai: (_model, { openai = {} }) => new OpenAIBatchClient({ apiKey: openai.apiKey ?? NO_KEY, baseUrl: openai.baseUrl, organization: openai.organization }),
  cohere: (model, { cohere = {} }) => {
    const jobs = new CohereEmbedJobsClient({ apiKey: cohere.apiKey ?? NO_KEY, ...(cohere.baseUrl ? { baseUrl: cohere.baseUrl } : {}) });
    return new CohereBatchBackend(jobs, model.spec.model, model.dims);
  },
};

/**
 * The batch API client for a model, for the providers that have one ({@link hasBatchApi}).
 * @throws UsageError for a provider without one
 */
export function createBatchBackend(model: ResolvedModel, cfg: ProviderConfig): BatchBackend {
  const { provider } = model.spec;
  if (!hasBatchApi(provider)) throw new UsageError(`${model.key} has no batch API embedq can use; use --mode sync`);
  return BATCH[provider](model, cfg);
}
