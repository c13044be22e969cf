/**
 * The model catalogue: one row per model a provider kind serves, with where each figure came
 * from (`source`) and when it was checked (`checked`). Data only; models.ts resolves ids against
 * it, and a config file overrides any field (`models.*`, `providers.<name>.models.*`).
 *
 * Prices are USD per 1M input tokens. They move: re-check before trusting a spend report. A figure
 * the source note calls "unconfirmed" was not found in the provider's own docs or SDK.
 * `openai-compatible` servers have no rows: their models declare their size and limits in config.
 */
import type { ModelSpec } from './types.ts';

export interface CatalogueRow extends Omit<ModelSpec, 'provider'> {
  /** URL or SDK file and version each figure was read from; what is unconfirmed says so. */
  source: string;
  /** Date (YYYY-MM-DD) the figures were last checked. */
  checked: string;
}

/** OpenAI /v1/embeddings limits: 2,048 inputs, 8,191 tokens each, 300,000 tokens per request. */
const OPENAI = {
  kind: 'openai',
  version: '1',
  maxInputTokens: 8191,
  maxInputsPerRequest: 2048,
  maxTokensPerRequest: 300_000,
  tokenizer: 'cl100k_base',
  inputTypes: false,
  checked: '2026-05-01',
} as const;
const OPENAI_SOURCE =
  'shared/reference/provider-apis.md (a), (d): platform.openai.com/docs/api-reference/embeddings via openai-node; prices embeddingcost.com (May 2026), tokenmix.ai (Apr 2026)';

/** Cohere v2/embed takes at most 96 texts per call; a per-request token cap is unverified. */
const COHERE_V3 = {
  kind: 'cohere',
  version: '1',
  maxInputTokens: 512,
  // Cohere's tokenizer is not available offline; cl100k_base is a stand-in for estimates.
  tokenizer: 'cl100k_base',
  priceSyncPerMTok: 0.1,
  priceBatchPerMTok: null,
  supportsDimensions: false,
  matryoshka: false,
  maxInputsPerRequest: 96,
  maxTokensPerRequest: 96 * 512,
  inputTypes: true,
  source: 'cohere-typescript src/api/resources/v2/client/requests/V2EmbedRequest.ts (96 texts, input_type); dims and 512-token context from registries (2025-26); light-model price unconfirmed',
  checked: '2026-05-01',
} as const;

/**
 * Voyage: at most 1,000 texts per request; the token cap of a request depends on the model
 * (1M, 320K or 120K). Batch API: 33% off, 12 h window. Voyage's tokenizer is not available
 * offline; cl100k_base is a stand-in for estimates.
 */
const VOYAGE = { kind: 'voyage', version: '1', nativeDims: 1024, tokenizer: 'cl100k_base', maxInputsPerRequest: 1000, inputTypes: true, checked: '2026-12-02' } as const;
const VOYAGE_DIMS = { supportsDimensions: true, providerDims: [256, 512, 1024, 2048], matryoshka: true } as const;
const VOYAGE_FIXED = { supportsDimensions: false, matryoshka: false } as const;
const VOYAGE_SOURCE =
  'docs.voyageai.com/reference/embeddings-api (1,000 texts; token caps per request; input_type); mongodb.com/docs/voyageai/models (context, dims); docs.voyageai.com/pricing; batch 33% off per provider-apis.md (c) (docs.voyageai.com/docs/batch-inference); which models the Batch API takes is unconfirmed';

/** Mistral: 256 inputs per request per rig-core; 16,384 tokens per request is the best evidence, unconfirmed. */
const MISTRAL = { kind: 'mistral', version: '1', maxInputTokens: 8192, tokenizer: 'cl100k_base', maxInputsPerRequest: 256, maxTokensPerRequest: 16_384, inputTypes: false, checked: '2026-12-02' } as const;
const MISTRAL_SOURCE =
  'docs.mistral.ai/api/endpoint/embeddings (output_dimension); rig-core 0.42.0 src/providers/mistral/embedding.rs (256 inputs, "verified against the live API"); 16,384 tokens per request from a 2024 error text (aurelio-labs/semantic-router#297, see docs/providers-mistral.md), unconfirmed; batch jobs 50% off ("Run large workloads at a 50% discount", Mistral docs studio/batch-processing)';

/** Jina: input caps per request are field reports (v3 2,048, v4 512); no token cap is documented. */
const JINA = { kind: 'jina', version: '1', tokenizer: 'cl100k_base', supportsDimensions: true, matryoshka: true, priceSyncPerMTok: 0.05, priceBatchPerMTok: null, inputTypes: true, checked: '2026-12-02' } as const;
const JINA_SOURCE =
  'qdrant.tech/documentation/embeddings/jina-embeddings (dims, context, MRL, tasks); huggingface.co/jinaai model cards (Matryoshka dims); inputs per request from field reports (elastic JinaAIServiceFields 2048 for v3, dify-official-plugins#1997 512 for v4; see docs/providers-jina.md); tokens per request (no cap found: 1M, the free tier\'s TPM) and price ($0.05/1M, a reseller\'s figure) unconfirmed; no batch API for these models';

/** Gemini: batchEmbedContents takes at most 100 requests; outputDimensionality 128 to 3072. */
const GEMINI = { kind: 'gemini', version: '1', nativeDims: 3072, tokenizer: 'cl100k_base', supportsDimensions: true, matryoshka: true, maxInputsPerRequest: 100, inputTypes: true, checked: '2026-12-02' } as const;

export const CATALOGUE: readonly CatalogueRow[] = [
  {
    kind: 'local',
    model: 'hash-v1',
    version: '1',
    nativeDims: 384,
    // Feature hashing has no fixed output size: every size in the range is native.
    nativeDimsRange: [8, 4096],
    maxInputTokens: 8191,
    tokenizer: 'word',
    priceSyncPerMTok: 0,
    priceBatchPerMTok: null,
    supportsDimensions: true,
    matryoshka: false,
    maxInputsPerRequest: 2048,
    maxTokensPerRequest: 1_000_000,
    inputTypes: false,
    source: 'embedq src/providers/local.ts (feature hashing, no network)',
    checked: '2026-12-02',
  },
  { ...OPENAI, model: 'text-embedding-3-small', nativeDims: 1536, priceSyncPerMTok: 0.02, priceBatchPerMTok: 0.01, supportsDimensions: true, matryoshka: true, source: OPENAI_SOURCE },
  { ...OPENAI, model: 'text-embedding-3-large', nativeDims: 3072, priceSyncPerMTok: 0.13, priceBatchPerMTok: 0.065, supportsDimensions: true, matryoshka: true, source: OPENAI_SOURCE },
  // tokenmix.ai lists a 0.05 batch price; embeddingcost.com says N/A. Conflicting sources, kept as 50% off.
  { ...OPENAI, model: 'text-embedding-ada-002', nativeDims: 1536, priceSyncPerMTok: 0.1, priceBatchPerMTok: 0.05, supportsDimensions: false, matryoshka: false, source: `${OPENAI_SOURCE}; batch price conflicting (0.05 vs N/A)` },
  {
    kind: 'cohere',
    model: 'embed-v4.0',
    version: '1',
    nativeDims: 1536,
    maxInputTokens: 128_000,
    tokenizer: 'cl100k_base',
    priceSyncPerMTok: 0.12,
    priceBatchPerMTok: null,
    supportsDimensions: true,
    providerDims: [256, 512, 1024, 1536],
    // Whether a prefix of an embed-v4 vector is a good embedding is unverified: never truncate it.
    matryoshka: false,
    maxInputsPerRequest: 96,
    maxTokensPerRequest: 96 * 128_000,
    inputTypes: true,
    source: 'cohere-typescript src/api/resources/v2/client/requests/V2EmbedRequest.ts (output_dimension 256/512/1024/1536, 96 texts); price cohere.com/pricing via registries (2026); Embed Jobs discount unconfirmed',
    checked: '2026-05-01',
  },
  { ...COHERE_V3, model: 'embed-english-v3.0', nativeDims: 1024 },
  { ...COHERE_V3, model: 'embed-multilingual-v3.0', nativeDims: 1024 },
  { ...COHERE_V3, model: 'embed-english-light-v3.0', nativeDims: 384 },
  { ...COHERE_V3, model: 'embed-multilingual-light-v3.0', nativeDims: 384 },
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-3.5', maxInputTokens: 32_000, maxTokensPerRequest: 320_000, priceSyncPerMTok: 0.06, priceBatchPerMTok: 0.04, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-3.5-lite', maxInputTokens: 32_000, maxTokensPerRequest: 1_000_000, priceSyncPerMTok: 0.02, priceBatchPerMTok: 0.0134, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-3-large', maxInputTokens: 32_000, maxTokensPerRequest: 120_000, priceSyncPerMTok: 0.18, priceBatchPerMTok: 0.12, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-code-3', maxInputTokens: 32_000, maxTokensPerRequest: 120_000, priceSyncPerMTok: 0.18, priceBatchPerMTok: 0.12, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_FIXED, model: 'voyage-finance-2', maxInputTokens: 32_000, maxTokensPerRequest: 120_000, priceSyncPerMTok: 0.12, priceBatchPerMTok: 0.08, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_FIXED, model: 'voyage-law-2', maxInputTokens: 16_000, maxTokensPerRequest: 120_000, priceSyncPerMTok: 0.12, priceBatchPerMTok: 0.08, source: `${VOYAGE_SOURCE}; 16K context per a Voyage skill catalogue (clawhub.ai), unconfirmed` },
  // The 4 series shares one embedding space across its three models (mongodb.com/docs/voyageai/models).
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-4-large', maxInputTokens: 32_000, maxTokensPerRequest: 120_000, priceSyncPerMTok: 0.12, priceBatchPerMTok: 0.08, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-4', maxInputTokens: 32_000, maxTokensPerRequest: 320_000, priceSyncPerMTok: 0.06, priceBatchPerMTok: 0.04, source: VOYAGE_SOURCE },
  { ...VOYAGE, ...VOYAGE_DIMS, model: 'voyage-4-lite', maxInputTokens: 32_000, maxTokensPerRequest: 1_000_000, priceSyncPerMTok: 0.02, priceBatchPerMTok: 0.0134, source: VOYAGE_SOURCE },
  { ...MISTRAL, model: 'mistral-embed', nativeDims: 1024, priceSyncPerMTok: 0.1, priceBatchPerMTok: 0.05, supportsDimensions: false, matryoshka: false, source: `${MISTRAL_SOURCE}; 1024 dims, 8,192 tokens, $0.10 per provider-apis.md (c), (d) (LiteLLM price map)` },
  {
    ...MISTRAL,
    model: 'codestral-embed',
    nativeDims: 1536,
    priceSyncPerMTok: 0.15,
    priceBatchPerMTok: 0.075,
    supportsDimensions: true,
    // Up to 3072 through output_dimension; which values between are accepted is unconfirmed.
    providerDims: [256, 512, 1024, 1536, 2048, 3072],
    // "Variable dimensions with ordered relevance": a prefix is a ranked embedding (Mistral's launch, via vercel.com/ai-gateway/models/codestral-embed).
    matryoshka: true,
    source: `${MISTRAL_SOURCE}; 1536 default, 3072 max per do-memory-core 0.1.30 (docs.rs); $0.15 per vercel.com/ai-gateway/models/codestral-embed; 8,192 context per hardais.com, unconfirmed`,
  },
  { ...JINA, model: 'jina-embeddings-v3', nativeDims: 1024, maxInputTokens: 8192, maxInputsPerRequest: 2048, maxTokensPerRequest: 1_000_000, source: JINA_SOURCE },
  { ...JINA, model: 'jina-embeddings-v4', nativeDims: 2048, maxInputTokens: 32_768, maxInputsPerRequest: 512, maxTokensPerRequest: 1_000_000, source: JINA_SOURCE },
  {
    ...GEMINI,
    model: 'gemini-embedding-001',
    maxInputTokens: 2048,
    maxTokensPerRequest: 100 * 2048,
    priceSyncPerMTok: 0.15,
    priceBatchPerMTok: 0.075,
    source:
      'ai.google.dev/gemini-api/docs/models/gemini-embedding-001 (128-3072 dims; 768/1536/3072 recommended); developers.googleblog.com gemini-embedding-available-gemini-api (2,048 tokens, $0.15); 100 requests per batchEmbedContents per vercel/ai#16575 and langchainjs#4491; batch price (50% off) unconfirmed',
  },
  // gemini-embedding-2 (GA 2026-04-22, 8,192 tokens, 128-3072 dims) is left out: it reportedly takes
  // no taskType but prompt prefixes, unconfirmed in Google's pages, and the adapter sends taskType.
];
