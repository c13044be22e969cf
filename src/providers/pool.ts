/**
 * Providers by model version id, built once per process from the model_versions row (the
 * exact pinned version every vector of that model version was made with). Every provider of a
 * pool shares one rate limiter in Redis, as do the pools of all other processes.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.ts';
import { tokenizerFor } from '../corpus/tokenizer.ts';
import type { Queryable } from '../store/db.ts';
import { getModelVersion } from '../store/models.ts';
import { createProvider } from './index.ts';
import { overridesFor, resolveModel } from './models.ts';
import { RedisRateLimiter, type RateLimiter } from './rate-limiter.ts';
import type { EmbeddingProvider, ResolvedModel } from './types.ts';

export interface ModelVersion {
  id: number;
  key: string;
  provider: string;
  resolved: ResolvedModel;
}

export class ProviderPool {
  readonly #db: Queryable;
  readonly #config: Config;
  readonly #limiter: RateLimiter;
  readonly #redis: Redis;
  readonly #concurrency: number | undefined;
  readonly #byId = new Map<number, Promise<{ mv: ModelVersion; provider: EmbeddingProvider }>>();

  /**
   * @param redis a command connection (the context's): the rate limiter's keys live under
   *   `config.redisPrefix`, its limits come from `config.rateLimits`
   * @param opts.concurrency requests in flight at once per provider (model version) @default the request loop's (4)
   */
  constructor(db: Queryable, config: Config, redis: Redis, opts: { concurrency?: number } = {}) {
    this.#db = db;
    this.#concurrency = opts.concurrency;
    this.#config = config;
    this.#redis = redis;
    this.#limiter = new RedisRateLimiter(redis, { prefix: config.redisPrefix, limits: config.rateLimits });
  }

  get(modelVersionId: number): Promise<{ mv: ModelVersion; provider: EmbeddingProvider }> {
    let p = this.#byId.get(modelVersionId);
    if (!p) {
      p = this.#load(modelVersionId);
      this.#byId.set(modelVersionId, p);
      p.catch(() => this.#byId.delete(modelVersionId));
    }
    return p;
  }

  async #load(id: number): Promise<{ mv: ModelVersion; provider: EmbeddingProvider }> {
    const r = await getModelVersion(this.#db, id);
    if (!r) throw new Error(`model version ${id} does not exist`);
    const modelId = `${r.provider}/${r.model}@${r.version}`;
    // The row pins version and native size: vectors already stored were made with exactly those.
    const resolved = resolveModel(modelId, r.dims, { ...overridesFor(this.#config.models, modelId), nativeDims: r.nativeDims, version: r.version }, this.#config.providers);
    if (resolved.key !== r.key) throw new Error(`model version ${id} is ${r.key} in the database but resolves to ${resolved.key} in this embedq`);
    const tokenizer = tokenizerFor(resolved.spec.tokenizer);
    // The factory loads only the SDK this model needs.
    const provider = await createProvider(resolved, this.#config, {
      countTokens: (t) => tokenizer.count(t),
      ...(tokenizer.encode ? { encode: (t: string) => tokenizer.encode!(t) } : {}),
      maxAttempts: this.#config.worker.providerAttempts,
      ...(this.#concurrency !== undefined ? { concurrency: this.#concurrency } : {}),
      limiter: this.#limiter,
      // A model with deployments keeps their health and disable switches here, shared by every process.
      routing: { redis: this.#redis, prefix: this.#config.redisPrefix },
    });
    return { mv: { id, key: r.key, provider: r.provider, resolved }, provider };
  }
}
