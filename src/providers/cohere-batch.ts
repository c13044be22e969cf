/**
 * Cohere Embed Jobs behind the batch pipeline's OpenAI-shaped {@link BatchBackend}: the request
 * file becomes an embed-input dataset (one record per input, `custom_id` = line + position kept
 * through), the job is named after our batch id (so it can be found again after a crash), its
 * status maps onto the OpenAI statuses, and the output dataset, which keeps input order, is read
 * back as OpenAI-style output lines. Cohere returns no partial results for a cancelled job: the
 * pipeline then re-queues every input, as for any missing line.
 */
import type { BatchBackend, ProviderBatch } from './batch-backend.ts';
import { withRewrittenRequests, type RequestLine } from './batch-files.ts';
import type { CohereEmbedJob, CohereEmbedJobsClient } from './cohere-embed-jobs.ts';

const STATUS: Record<string, ProviderBatch['status']> = {
  processing: 'in_progress',
  complete: 'completed',
  cancelling: 'cancelling',
  cancelled: 'cancelled',
  failed: 'failed',
};

const jobName = (metadata: Record<string, string>) => `embedq-${Object.values(metadata)[0] ?? 'batch'}`;

export class CohereBatchBackend implements BatchBackend {
  readonly #client: CohereEmbedJobsClient;
  readonly #model: string;
  readonly #dims: number;

  constructor(client: CohereEmbedJobsClient, model: string, dims: number) {
    this.#client = client;
    this.#model = model;
    this.#dims = dims;
  }

  async upload(path: string): Promise<string> {
    // One embed-input record per input, its position kept in the custom_id.
    const toRecords = (req: RequestLine) => req.body.input.map((text, pos) => ({ text, custom_id: `${req.custom_id}#${pos}` }));
    return withRewrittenRequests(path, toRecords, async (records) => {
      const id = await this.#client.uploadDataset(records, `embedq-${Date.now()}`);
      await this.#client.waitValidated(id);
      return id;
    });
  }

  async create(datasetId: string, metadata: Record<string, string>): Promise<ProviderBatch> {
    const id = await this.#client.createJob(datasetId, this.#model, 'document', jobName(metadata));
    return toBatch(await this.#client.retrieve(id));
  }

  async findByMetadata(_key: string, value: string): Promise<ProviderBatch | undefined> {
    const job = await this.#client.findJobByName(`embedq-${value}`);
    return job ? toBatch(job) : undefined;
  }

  async retrieve(id: string): Promise<ProviderBatch> {
    return toBatch(await this.#client.retrieve(id));
  }

  async cancel(id: string): Promise<ProviderBatch> {
    await this.#client.cancel(id);
    return toBatch(await this.#client.retrieve(id));
  }

  /** Records come back in input order, so consecutive records of one request line form its output line. */
  async *lines(datasetId: string): AsyncGenerator<string> {
    let cur: { id: string; data: { index: number; embedding: number[] }[] } | undefined;
    const flush = () => (cur ? JSON.stringify({ custom_id: cur.id, response: { status_code: 200, body: { object: 'list', data: cur.data } }, error: null }) : undefined);
    for await (const r of this.#client.results(datasetId, { dims: this.#dims })) {
      const [line, pos] = [r.customId.slice(0, r.customId.lastIndexOf('#')), Number(r.customId.slice(r.customId.lastIndexOf('#') + 1))];
      if (cur && cur.id !== line) {
        yield flush()!;
        cur = undefined;
      }
      if ('error' in r) {
        // One bad record fails its whole request line, which the pipeline re-queues.
        cur = undefined;
        yield JSON.stringify({ custom_id: line, response: { status_code: 500, body: { error: { message: r.error } } }, error: null });
        continue;
      }
      cur ??= { id: line, data: [] };
      cur.data.push({ index: pos, embedding: Array.from(r.vector) });
    }
    const last = flush();
    if (last) yield last;
  }
}

function toBatch(job: CohereEmbedJob): ProviderBatch {
  return {
    id: job.id,
    status: STATUS[job.status] ?? 'in_progress',
    input_file_id: job.inputDatasetId,
    ...(job.status === 'complete' && job.outputDatasetId ? { output_file_id: job.outputDatasetId } : {}),
    request_counts: { total: 0, completed: 0, failed: 0 },
    errors: job.error ? { data: [{ code: 'embed_job_failed', message: job.error, line: null, param: null }] } : undefined,
    metadata: job.name ? { name: job.name } : null,
  } as unknown as ProviderBatch;
}
