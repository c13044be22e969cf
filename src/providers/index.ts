/**
 * Builds the provider for a resolved model from the parsed config, and its batch backend: the
 * only place that decides which implementation serves which provider kind, sync and batch. The
 * connection (base URL, key, headers) comes from the provider's name (credentials.ts), so two
 * providers of one kind are two servers. Each implementation is loaded on first use, so a run
 * pays only for the SDK it calls (loading both SDKs costs a command about 1.5 s; `local/…` loads none).
 */
import { UsageError } from '../errors.ts';
import { hasBatchApi, noBatchApiMessage, type BatchBackend, type BatchProvider } from './batch-backend.ts';
import { connectionOf, NO_KEY, requireApiKey, type Connection, type ProviderConfig } from './credentials.ts';
import type { Redis } from 'ioredis';
import { failoverSchema } from '../config/deployments.ts';
import { deploymentGroup, deploymentsOf, RoutedProvider, type DeploymentSettings } from './deployments.ts';
import type { OpenAIProviderOptions } from './openai.ts';
import { DeploymentRouter } from './router.ts';
import type { EmbeddingProvider, ProviderKind, ResolvedModel } from './types.ts';

export type { ProviderConfig };

/** Where routed providers keep their shared state: Redis, under the config's prefix. */
export interface RoutingDeps {
  redis: Redis;
  prefix: string;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/** Runtime knobs that are not configuration: tokenizer, concurrency, fetch, callbacks, and Redis for deployments. */
export type CreateProviderOptions = Partial<Omit<OpenAIProviderOptions, 'apiKey' | 'baseUrl' | 'organization' | 'headers' | 'apiVersion'>> & { routing?: RoutingDeps };

/** The config a provider is built from: connections, and a model's deployments. */
export type FactoryConfig = ProviderConfig & DeploymentSettings;

const label = (m: ResolvedModel) => `${m.spec.provider}/${m.spec.model}`;

/** A provider's connection with the key requireApiKey settled (none for `local`). */
type Build = (model: ResolvedModel, conn: Connection, opts: CreateProviderOptions) => Promise<EmbeddingProvider>;

const openai: Build = async (model, { apiKey, baseUrl, organization, headers, apiVersion }, opts) => {
  const { OpenAIProvider } = await import('./openai.ts');
  return new OpenAIProvider(model, { ...opts, apiKey: apiKey!, ...(baseUrl ? { baseUrl } : {}), ...(organization ? { organization } : {}), ...(headers ? { headers } : {}), ...(apiVersion ? { apiVersion } : {}) });
};

/** The loop's knobs plus the key and (when configured) the base URL: what every native adapter takes. */
const withConnection = (opts: CreateProviderOptions, { apiKey, baseUrl }: Connection) => ({ ...opts, apiKey: apiKey!, ...(baseUrl ? { baseUrl } : {}) });

/** Every kind's sync implementation. The key checks run before anything loads. */
const SYNC: Record<ProviderKind, Build> = {
  local: async (model) => new (await import('./local.ts')).LocalProvider(model),
  openai,
  'openai-compatible': openai,
  // The same adapter with the SDK's AzureOpenAI client (openai.ts).
  'azure-openai': openai,
  cohere: async (model, { apiKey, baseUrl }, opts) => {
    const { CohereProvider } = await import('./cohere.ts');
    return new CohereProvider(model, { ...opts, apiKey: apiKey!, ...(baseUrl ? { baseUrl } : {}) });
  },
  voyage: async (model, conn, opts) => new (await import('./voyage.ts')).VoyageProvider(model, withConnection(opts, conn)),
  mistral: async (model, conn, opts) => new (await import('./mistral.ts')).MistralProvider(model, withConnection(opts, conn)),
  jina: async (model, conn, opts) => new (await import('./jina.ts')).JinaProvider(model, withConnection(opts, conn)),
  gemini: async (model, conn, opts) => new (await import('./gemini.ts')).GeminiProvider(model, withConnection(opts, conn)),
};

/**
 * @throws ConfigError when the provider's key is missing for a non-local base URL
 * @example await createProvider(resolveModel('openai/text-embedding-3-small', 512), config, { countTokens })
 */
export async function createProvider(model: ResolvedModel, cfg: FactoryConfig, opts: CreateProviderOptions = {}): Promise<EmbeddingProvider> {
  const { routing, ...rest } = opts;
  const deployments = deploymentsOf(model, cfg);
  if (!deployments) return buildOne(model, cfg, rest);
  if (!routing) throw new Error(`${model.key} has deployments, whose shared state needs Redis: pass opts.routing`);
  const built = await Promise.all(deployments.map((d) => buildOne(d.model, cfg, rest)));
  const failover = cfg.failover ?? failoverSchema.parse(undefined);
  const router = new DeploymentRouter(routing.redis, { prefix: routing.prefix, model: deploymentGroup(model), deployments, failover, ...(routing.now ? { now: routing.now } : {}), ...(routing.random ? { random: routing.random } : {}) });
  return new RoutedProvider(model, deployments, built, router, failover, rest);
}

/** One provider's own implementation, its key checked first. */
function buildOne(model: ResolvedModel, cfg: ProviderConfig, opts: CreateProviderOptions): Promise<EmbeddingProvider> {
  const apiKey = requireApiKey(model.spec.provider, cfg, label(model));
  return SYNC[model.spec.kind](model, { ...connectionOf(model.spec.provider, cfg), apiKey }, opts);
}

// The CLI checked the key before the run was enqueued; a batch without one gets the server's own refusal.
const BATCH: Record<BatchProvider, (model: ResolvedModel, conn: Connection) => Promise<BatchBackend>> = {
  openai: async (_model, { apiKey, baseUrl, organization, headers }) => {
    const { OpenAIBatchClient } = await import('./openai-batch.ts');
    return new OpenAIBatchClient({ apiKey: apiKey ?? NO_KEY, baseUrl, organization, headers });
  },
  cohere: async (model, { apiKey, baseUrl }) => {
    const [{ CohereEmbedJobsClient }, { CohereBatchBackend }] = await Promise.all([import('./cohere-embed-jobs.ts'), import('./cohere-batch.ts')]);
    const jobs = new CohereEmbedJobsClient({ apiKey: apiKey ?? NO_KEY, ...(baseUrl ? { baseUrl } : {}) });
    return new CohereBatchBackend(jobs, model.spec.model, model.dims);
  },
  voyage: async (model, { apiKey, baseUrl, headers }) => {
    const { VoyageBatchClient } = await import('./voyage-batch.ts');
    return new VoyageBatchClient(model, { apiKey: apiKey ?? NO_KEY, baseUrl, headers });
  },
  mistral: async (model, { apiKey, baseUrl }) => {
    const { MistralBatchBackend } = await import('./mistral-batch.ts');
    return new MistralBatchBackend(model, { apiKey: apiKey ?? NO_KEY, baseUrl });
  },
};

/**
 * The batch API client for a model, for the kinds that have one ({@link hasBatchApi}).
 * @throws UsageError for a provider without one
 */
export async function createBatchBackend(model: ResolvedModel, cfg: ProviderConfig): Promise<BatchBackend> {
  const { kind, provider } = model.spec;
  if (!hasBatchApi(kind)) throw new UsageError(noBatchApiMessage(model.key, kind));
  return BATCH[kind](model, connectionOf(provider, cfg));
}
