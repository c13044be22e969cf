/**
 * Builds the provider for a resolved model from the parsed config, and its batch backend: the
 * only place that decides which implementation serves which `provider/…` prefix, sync and batch.
 * Each implementation is loaded on first use, so a run pays only for the SDK it calls (loading
 * both SDKs costs a command about 1.5 s; `local/…` loads none).
 */
import { UsageError } from '../errors.ts';
import { hasBatchApi, type BatchBackend, type BatchProvider } from './batch-backend.ts';
import { NO_KEY, requireApiKey, type ProviderConfig } from './credentials.ts';
import type { OpenAIProviderOptions } from './openai.ts';
import type { ProviderName } from './models.ts';
import type { EmbeddingProvider, ResolvedModel } from './types.ts';

export type { ProviderConfig };

/** Runtime knobs that are not configuration: tokenizer, concurrency, fetch, callbacks. */
export type CreateProviderOptions = Partial<Omit<OpenAIProviderOptions, 'apiKey' | 'baseUrl' | 'organization'>>;

const label = (m: ResolvedModel) => `${m.spec.provider}/${m.spec.model}`;

type Build = (model: ResolvedModel, cfg: ProviderConfig, opts: CreateProviderOptions) => Promise<EmbeddingProvider>;

/** Every provider's sync implementation. The key checks run before anything loads. */
const SYNC: Record<ProviderName, Build> = {
  local: async (model) => new (await import('./local.ts')).LocalProvider(model),
  openai: async (model, cfg, opts) => {
    const { baseUrl, organization } = cfg.openai ?? {};
    const apiKey = requireApiKey('openai', cfg, label(model))!;
    const { OpenAIProvider } = await import('./openai.ts');
    return new OpenAIProvider(model, { ...opts, apiKey, ...(baseUrl ? { baseUrl } : {}), ...(organization ? { organization } : {}) });
  },
  cohere: async (model, cfg, opts) => {
    const { baseUrl } = cfg.cohere ?? {};
    const apiKey = requireApiKey('cohere', cfg, label(model))!;
    const { CohereProvider } = await import('./cohere.ts');
    return new CohereProvider(model, { ...opts, apiKey, ...(baseUrl ? { baseUrl } : {}) });
  },
};

/**
 * @throws ConfigError when the OpenAI or Cohere key is missing for a non-local base URL
 * @example await createProvider(resolveModel('openai/text-embedding-3-small', 512), config, { countTokens })
 */
export function createProvider(model: ResolvedModel, cfg: ProviderConfig, opts: CreateProviderOptions = {}): Promise<EmbeddingProvider> {
  const build = SYNC[model.spec.kind as ProviderName];
  if (!build) throw new UsageError(`${label(model)}: embedq has no ${model.spec.kind} provider yet`);
  return build(model, cfg, opts);
}

// The CLI checked the key before the run was enqueued; a batch without one gets the server's own refusal.
const BATCH: Record<BatchProvider, (model: ResolvedModel, cfg: ProviderConfig) => Promise<BatchBackend>> = {
  openai: async (_model, { openai = {} }) => {
    const { OpenAIBatchClient } = await import('./openai-batch.ts');
    return new OpenAIBatchClient({ apiKey: openai.apiKey ?? NO_KEY, baseUrl: openai.baseUrl, organization: openai.organization });
  },
  cohere: async (model, { cohere = {} }) => {
    const [{ CohereEmbedJobsClient }, { CohereBatchBackend }] = await Promise.all([import('./cohere-embed-jobs.ts'), import('./cohere-batch.ts')]);
    const jobs = new CohereEmbedJobsClient({ apiKey: cohere.apiKey ?? NO_KEY, ...(cohere.baseUrl ? { baseUrl: cohere.baseUrl } : {}) });
    return new CohereBatchBackend(jobs, model.spec.model, model.dims);
  },
};

/**
 * The batch API client for a model, for the providers that have one ({@link hasBatchApi}).
 * @throws UsageError for a provider without one
 */
export async function createBatchBackend(model: ResolvedModel, cfg: ProviderConfig): Promise<BatchBackend> {
  const { provider } = model.spec;
  if (!hasBatchApi(provider)) throw new UsageError(`${model.key} has no batch API embedq can use; use --mode sync`);
  return BATCH[provider](model, cfg);
}
