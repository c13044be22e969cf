/**
 * What the batch pipeline needs from a provider's batch API. OpenAI's Batch API is the shape:
 * an uploaded JSONL request file (lines with `custom_id` and an `/v1/embeddings` body), a batch
 * created from it with our id in its metadata, polled status, and result files read line by line.
 * Other providers adapt to it (see cohere-batch.ts).
 */
import type { Batch } from 'openai/resources/batches';

/**
 * The provider kinds whose batch API embedq drives (OpenAI Batch, Cohere Embed Jobs, Voyage's
 * Batch API, Mistral's batch jobs); index.ts builds a backend for each. `openai-compatible`
 * servers have none (vLLM, TEI and Ollama serve no `/v1/batches`); Jina documents none; Gemini's
 * batch embeddings are experimental in its SDK and left out (docs/providers.md, "Batch APIs").
 * Azure OpenAI's batch runs on global-batch deployments, not driven yet. For the built-in
 * providers the name is the kind.
 */
export const BATCH_PROVIDERS = ['openai', 'cohere', 'voyage', 'mistral'] as const;
export type BatchProvider = (typeof BATCH_PROVIDERS)[number];

/** Whether a provider of this kind has a batch API embedq drives. */
export function hasBatchApi(kind: string): kind is BatchProvider {
  return (BATCH_PROVIDERS as readonly string[]).includes(kind);
}

/** Why a kind has no batch backend, for the refusal. */
const NO_BATCH: Record<string, string> = {
  local: 'local models run in this process',
  'openai-compatible': 'OpenAI-compatible servers (TEI, vLLM, Ollama, LM Studio) serve no /v1/batches',
  'azure-openai': "Azure OpenAI's batch runs on global-batch deployments, which embedq does not drive yet",
  jina: 'Jina documents no batch API',
  gemini: "Gemini's batch embeddings are experimental in @google/genai, so embedq leaves them out for now",
};

/** The refusal of `--mode batch` (and of a batch backend) for a model whose kind has none. */
export function noBatchApiMessage(modelKey: string, kind: string | undefined): string {
  const why = (kind && NO_BATCH[kind]) ?? (kind ? `provider kind ${kind}` : 'unknown provider');
  return `${modelKey} has no batch API embedq can use (${why}); batch mode needs a provider of kind ${BATCH_PROVIDERS.join(', ')}; use --mode sync`;
}

/** A provider's batch, in the shape of OpenAI's (the fields the pipeline reads). */
export type ProviderBatch = Pick<Batch, 'id' | 'status' | 'output_file_id' | 'error_file_id' | 'request_counts' | 'errors' | 'metadata' | 'input_file_id'>;

/**
 * OpenAI's limits for one embeddings batch (shared/reference/provider-apis.md): at most 50,000
 * requests and 50,000 embedding inputs in all, input file at most 200 MB; 2,048 inputs per line.
 */
export const OPENAI_BATCH_LIMITS = { maxInputs: 50_000, maxRequests: 50_000, maxFileBytes: 200 * 1024 * 1024, inputsPerLine: 2048 } as const;

export interface BatchBackend {
  /** Uploads a request file in the OpenAI batch JSONL format; returns the provider's file id. */
  upload(path: string): Promise<string>;
  create(inputFileId: string, metadata: Record<string, string>): Promise<ProviderBatch>;
  /** A batch created earlier with `metadata[key] === value` (after a crash between create and record). */
  findByMetadata(key: string, value: string): Promise<ProviderBatch | undefined>;
  retrieve(id: string): Promise<ProviderBatch>;
  cancel(id: string): Promise<ProviderBatch>;
  /** Result lines in the OpenAI batch output format (usage may be `total_tokens` only). */
  lines(fileId: string): AsyncGenerator<string>;
}
