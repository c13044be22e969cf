/** Batch API clients by model version, for the providers that have one. */
import type { Config } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import type { BatchBackend } from './batch-backend.ts';
import type { ModelVersion, ProviderPool } from './pool.ts';

/** Whether `provider` has a batch API embedq drives (OpenAI Batch, Cohere Embed Jobs). */
export function hasBatchApi(provider: string): boolean {
  return provider === 'openai' || provider === 'cohere';
}

export class BatchClients {
  readonly #providers: ProviderPool;
  readonly #config: Config;
  readonly #clients = new Map<string, BatchBackend>();

  constructor(providers: ProviderPool, config: Config) {
    this.#providers = providers;
    this.#config = config;
  }

  async get(modelVersionId: number): Promise<{ mv: ModelVersion; batchClient: BatchBackend }> {
    const { mv } = await this.#providers.get(modelVersionId);
    if (!hasBatchApi(mv.provider)) throw new UsageError(`${mv.key} has no batch API embedq can use; use --mode sync`);
    if (mv.provider === 'cohere') {
      let c = this.#clients.get(mv.key);
      if (!c) {
        const { apiKey, baseUrl } = this.#config.cohere;
        // SDKs load on first use: every command would otherwise pay ~1 s to import them.
        const [{ CohereEmbedJobsClient }, { CohereBatchBackend }] = await Promise.all([import('./cohere-embed-jobs.ts'), import('./cohere-batch.ts')]);
        const jobs = new CohereEmbedJobsClient({ apiKey: apiKey ?? 'embedq-no-key', ...(baseUrl ? { baseUrl } : {}) });
        c = new CohereBatchBackend(jobs, mv.resolved.spec.model, mv.resolved.dims);
        this.#clients.set(mv.key, c);
      }
      return { mv, batchClient: c };
    }
    const { apiKey, baseUrl, organization } = this.#config.openai;
    const key = `${baseUrl ?? ''}|${organization ?? ''}`;
    let c = this.#clients.get(key);
    if (!c) {
      const { OpenAIBatchClient } = await import('./openai-batch.ts');
      c = new OpenAIBatchClient({ apiKey: apiKey ?? 'embedq-no-key', baseUrl, organization });
      this.#clients.set(key, c);
    }
    return { mv, batchClient: c };
  }
}
