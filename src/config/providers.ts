/**
 * The `providers` section of the config: named providers, each of a kind with its own connection
 * and models (docs/providers.md). Parsed with the rest in schema.ts.
 */
import { z } from 'zod';
import { TOKENIZER_NAMES } from '../corpus/tokenizer.ts';
import { baseUrl, positiveInt } from './fields.ts';

/**
 * The APIs a configured provider may speak (`providers.<name>.kind`). `openai-compatible` is any
 * server answering `/v1/embeddings` (TEI, vLLM, Ollama, LM Studio); it has no catalogue.
 * `azure-openai` is an Azure OpenAI resource: OpenAI's models, served by deployment name.
 */
export const PROVIDER_KINDS = ['openai', 'cohere', 'voyage', 'mistral', 'jina', 'gemini', 'openai-compatible', 'azure-openai'] as const;
export type ConfiguredKind = (typeof PROVIDER_KINDS)[number];

/**
 * The Azure OpenAI data-plane inference version sent when `apiVersion` is not set: the latest GA
 * release of the dated (`/openai/deployments/…`) API (docs/providers-azure.md).
 */
export const AZURE_API_VERSION = '2024-10-21';

/** Names the built-in providers hold; `providers` entries take other names. */
export const BUILT_IN_PROVIDERS = ['local', 'openai', 'cohere'] as const;

/**
 * One model of a configured provider: catalogue fields to override, or, for a model the
 * catalogue lacks (every `openai-compatible` model), its size and limits. `dims` lists the sizes
 * the provider's dimensions parameter accepts.
 */
const providerModelSchema = z.strictObject({
  nativeDims: positiveInt.max(16_000).optional(),
  dims: z.array(positiveInt.max(16_000)).min(1).optional(),
  maxInputTokens: positiveInt.optional(),
  maxInputsPerRequest: positiveInt.optional(),
  maxTokensPerRequest: positiveInt.optional(),
  priceSyncPerMTok: z.coerce.number().min(0).optional(),
  priceBatchPerMTok: z.coerce.number().min(0).nullable().optional(),
  tokenizer: z.enum(TOKENIZER_NAMES).optional(),
  supportsDimensions: z.boolean().optional(),
  matryoshka: z.boolean().optional(),
  inputTypes: z.boolean().optional(),
  /** `azure-openai` only: the Azure deployment serving this model. @default the model name */
  deployment: z.string().regex(/^[^\s/?#%]+$/, 'an Azure deployment name (one URL path segment: no spaces, /, ?, # or %)').optional(),
});

/** A named provider: `<name>/<model>` is then a model id everywhere. */
const providerSchema = z
  .strictObject({
    kind: z.enum(PROVIDER_KINDS),
    baseUrl: baseUrl('apiKey or apiKeyEnv').optional(),
    apiKey: z.string().min(1).optional(),
    /** The environment variable holding the key, e.g. VOYAGE_API_KEY. */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name like VOYAGE_API_KEY').optional(),
    /** Sent with every request (a gateway's routing or tenant header). */
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'HTTP header names'), z.string()).optional(),
    models: z.record(z.string().regex(/^[^@\s]+$/, 'model names without @ or spaces'), providerModelSchema).default({}),
    /** `azure-openai` only: the `api-version` query parameter. @default {@link AZURE_API_VERSION} */
    apiVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'an Azure OpenAI API version like 2024-10-21 or 2025-04-01-preview').optional(),
  })
  .superRefine((p, ctx) => {
    if (p.apiKey !== undefined && p.apiKeyEnv !== undefined) ctx.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: 'either apiKey or apiKeyEnv, not both' });
    if (p.kind === 'openai-compatible' && p.baseUrl === undefined) ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'the base URL of the server (an openai-compatible provider has no default), e.g. http://127.0.0.1:8080/v1' });
    if (p.kind === 'azure-openai') {
      if (p.baseUrl === undefined) ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'the endpoint of the Azure OpenAI resource (there is no default), e.g. https://myres.openai.azure.com' });
      return;
    }
    if (p.apiVersion !== undefined) ctx.addIssue({ code: 'custom', path: ['apiVersion'], message: `no apiVersion (only an azure-openai provider takes one; this one is ${p.kind})` });
    for (const [name, m] of Object.entries(p.models))
      if (m.deployment !== undefined) ctx.addIssue({ code: 'custom', path: ['models', name, 'deployment'], message: `no deployment (only the models of an azure-openai provider take one; this one is ${p.kind})` });
  });

/** `providers`: name → provider. @default {} */
export const providersSchema = z
  .record(
    z.string().regex(/^[a-z0-9_-]{1,32}$/, 'lower-case names of letters, digits, _ and - (at most 32)').refine((n) => !(BUILT_IN_PROVIDERS as readonly string[]).includes(n), 'a name other than local, openai and cohere, which are built in (configure those under "openai" and "cohere")'),
    providerSchema,
  )
  .default({});
