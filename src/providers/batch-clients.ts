/** Batch API clients by model version, built once per process by the provider factory (index.ts). */
import type { Config } from '../config/schema.ts';
import type { BatchBackend } from './batch-backend.ts';
import { createBatchBackend } from './index.ts';
import type { ModelVersion, ProviderPool } from './pool.ts';

export { hasBatchApi } from './batch-backend.ts';

export class BatchClients {
  readonly #providers: ProviderPool;
  readonly #config: Config;
  readonly #clients = new Map<number, BatchBackend>();

  constructor(providers: ProviderPool, config: Config) {
    this.#providers = providers;
    this.#config = config;
  }

  /** @throws UsageError when the model's provider has no batch API */
  async get(modelVersionId: number): Promise<{ mv: ModelVersion; batchClient: BatchBackend }> {
    const { mv } = await this.#providers.get(modelVersionId);
    let c = this.#clients.get(modelVersionId);
    if (!c) {
      c = await createBatchBackend(mv.resolved, this.#config);
      this.#clients.set(modelVersionId, c);
    }
    return { mv, batchClient: c };
  }
}
