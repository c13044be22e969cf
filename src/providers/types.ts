/**
 * The provider surface: a model spec from the registry (models.ts), the model resolved to an
 * output size (`ResolvedModel`), and the one call every provider implements (`embed`).
 */
import type { ConfiguredKind } from '../config/providers.ts';

/**
 * Which API a provider speaks: the built-in `local`, or a kind a config's `providers` entry may
 * name (PROVIDER_KINDS in src/config/providers.ts). The factory (index.ts) dispatches on it.
 */
export type ProviderKind = 'local' | ConfiguredKind;

/**
 * What the registry knows about one embedding model. Limits and prices are data, not code: the
 * numbers move (see docs/providers.md and catalogue.ts), and OpenAI-compatible servers serve
 * models the registry has never heard of.
 */
export interface ModelSpec {
  /**
   * The provider's name: `local`, `openai`, `cohere`, or a name configured under `providers`.
   * Model keys, the rate limiter and the ledger use it, so two providers of one kind are apart.
   */
  provider: string;
  /** The API the provider speaks. */
  kind: ProviderKind;
  /** The provider's model name, e.g. `text-embedding-3-small`. */
  model: string;
  /** Pinned version; part of every cache key, so vectors of two versions are never mixed. */
  version: string;
  /** Output size when no dimension is requested. */
  nativeDims: number;
  /**
   * Sizes the model produces natively, for models with no fixed output size (feature hashing).
   * Absent for ordinary models.
   */
  nativeDimsRange?: readonly [min: number, max: number];
  maxInputTokens: number;
  /** Tokenizer used for counting and packing: `cl100k_base`, `o200k_base` or `word`. */
  tokenizer: string;
  /** USD per 1M input tokens on the synchronous endpoint. */
  priceSyncPerMTok: number;
  /** USD per 1M input tokens through the provider's batch API; `null` when there is none. */
  priceBatchPerMTok: number | null;
  /** The provider accepts a dimensions parameter (OpenAI `dimensions`, Cohere `output_dimension`). */
  supportsDimensions: boolean;
  /** The only values the dimensions parameter accepts; absent means any value up to `nativeDims`. */
  providerDims?: readonly number[];
  /** Trained so that a prefix of the vector is itself a good embedding (truncation is safe). */
  matryoshka: boolean;
  maxInputsPerRequest: number;
  /** Tokens summed over all inputs of one request. */
  maxTokensPerRequest: number;
  /** Queries and documents are embedded differently (an input type or task is sent). */
  inputTypes: boolean;
  /**
   * `azure-openai` only: the Azure deployment the requests go to (`/openai/deployments/<it>/embeddings`),
   * from `providers.<name>.models.<model>.deployment`, else the model name. Not the ledger's
   * {@link EmbedAttempt.deployment}, which names a provider of a failover group.
   */
  deployment?: string;
}

/**
 * How a vector of the requested size is obtained:
 * - `native`: the model's own output size;
 * - `provider`: the provider is asked for fewer dimensions;
 * - `truncate`: we keep a prefix and re-normalize (Matryoshka models only);
 * - `pad`: we append zeros (which keeps the unit norm).
 */
export type DimAdapter = 'native' | 'provider' | 'truncate' | 'pad';

/** A model spec fixed to an output size. */
export interface ResolvedModel {
  spec: ModelSpec;
  dims: number;
  dimAdapter: DimAdapter;
  /** `provider/model@version:dims`, e.g. `openai/text-embedding-3-small@1:512`. */
  key: string;
}

/** One HTTP attempt about to be sent, announced for the ledger. */
export interface EmbedAttempt {
  /** Which request of the call: the offset of its first input. With `attempt`, unique within a call. */
  request: number;
  /** 1-based attempt number of this request. */
  attempt: number;
  inputs: number;
  /** Our estimate. */
  tokens: number;
  /** The provider name it was sent to (a deployment of the model, or the model's own provider). */
  deployment?: string;
  /** Sent to another deployment after an attempt of this request failed. */
  failover?: boolean;
}

/** One HTTP attempt (or one local call) that ended, reported for the ledger. */
export interface EmbedCall extends EmbedAttempt {
  /** Billed tokens when the provider reported them, else our estimate. */
  tokens: number;
  latencyMs: number;
  /** `retry`: this attempt failed and another follows; `error`: the request gave up. */
  status: 'ok' | 'error' | 'retry';
  /**
   * Sent, but no answer came back (a timeout, a connection dropped mid-response, an abort while
   * in flight): the provider may have processed and billed it.
   */
  outcomeUnknown?: boolean;
  httpStatus?: number;
  error?: string;
}

export interface EmbedOptions {
  /** Cohere and Voyage embed documents and queries differently. @default 'document' */
  inputType?: 'document' | 'query';
  /** Aborts everything, requests in flight included. */
  signal?: AbortSignal;
  /**
   * Shutdown: once it fires no new request or retry starts, while requests in flight finish;
   * `embed` then rejects with a `DrainedError` (pack.ts) holding the vectors that arrived.
   */
  drain?: AbortSignal;
  /**
   * Called before each HTTP attempt is sent (after its rate-limit place); the attempt is sent
   * only once the promise resolves, so the ledger holds it before the provider can bill it. A
   * rejection stops the request (nothing is sent) and fails the call.
   */
  onSend?: (a: EmbedAttempt) => Promise<void>;
  /** Called once per HTTP attempt when it ended, for the ledger. */
  onCall?: (c: EmbedCall) => void;
  /** Token counts of `inputs` by the model's own tokenizer, when the caller already has them. */
  tokenCounts?: readonly number[];
  /**
   * Per input, token ids to send instead of its text (whose entry may then be empty), with its
   * count in `tokenCounts`: a gateway request's ids that encode no text, passed through as they
   * are. Only a provider that takes token ids (OpenAI's API) accepts them; any other refuses the
   * call, so no vector of something else is ever cached under them.
   */
  tokenIds?: readonly (readonly number[] | undefined)[];
}

export interface EmbedResult {
  /** L2-normalized, in input order, each exactly `model.dims` long. */
  vectors: Float32Array[];
  /** Billed (or, for local, counted) tokens over all requests. */
  tokens: number;
  /** Requests that succeeded. */
  requests: number;
  /** Attempts that failed and were retried. */
  retries: number;
}

export interface EmbeddingProvider {
  readonly model: ResolvedModel;
  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult>;
}
