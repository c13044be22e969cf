/**
 * Voyage's Batch API (public preview; 33% below the sync price, a 12-hour window) behind the
 * pipeline's {@link BatchBackend}. Voyage's Files and Batches endpoints follow OpenAI's
 * specification, so the official `openai` SDK drives them with Voyage's base URL (the `voyageai`
 * TypeScript SDK has no batch surface). What differs from OpenAI's, per Voyage's batch docs and
 * MongoDB's worked guide (docs/providers.md, "Batch APIs"):
 *   - a request line is `{custom_id, body: {input: [...]}}`: no method, URL or model;
 *   - the model and its parameters come once, as `request_params` of the create call;
 *   - `completion_window` is `12h`;
 *   - output lines carry the sync endpoint's body, whose usage is `total_tokens` (batch-results.ts reads it).
 */
import type { BatchCreateParams } from 'openai/resources/batches';
import type { ProviderBatch } from './batch-backend.ts';
import { withRewrittenRequests, type RequestLine } from './batch-files.ts';
import { OpenAIBatchClient, type BatchClientOptions } from './openai-batch.ts';
import type { ResolvedModel } from './types.ts';
import { VOYAGE_BASE_URL } from './voyage.ts';

export class VoyageBatchClient extends OpenAIBatchClient {
  readonly #params: Record<string, unknown>;

  constructor(model: ResolvedModel, opts: BatchClientOptions) {
    super({ ...opts, baseUrl: opts.baseUrl ?? VOYAGE_BASE_URL, name: `voyage batch (${model.spec.model})` });
    // Index writes are documents; `output_dimension` only where the model sizes its own output.
    this.#params = { model: model.spec.model, input_type: 'document', ...(model.dimAdapter === 'provider' ? { output_dimension: model.dims } : {}) };
  }

  /** Rewrites the request file into Voyage's body-only lines, then uploads it as OpenAI's would be. */
  override upload(path: string): Promise<string> {
    const toRecords = (req: RequestLine) => [{ custom_id: req.custom_id, body: { input: req.body.input } }];
    return withRewrittenRequests(path, toRecords, (rewritten) => super.upload(rewritten));
  }

  override create(inputFileId: string, metadata: Record<string, string>): Promise<ProviderBatch> {
    // Voyage's extensions of OpenAI's create body; the SDK sends the body as given.
    const body = { input_file_id: inputFileId, endpoint: '/v1/embeddings', completion_window: '12h', request_params: this.#params, metadata } as unknown as BatchCreateParams;
    return this.call(() => this.client.batches.create(body));
  }
}
