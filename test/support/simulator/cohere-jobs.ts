/**
 * The simulator's Cohere Embed Jobs API: create on a validated `embed-input` dataset, get, list,
 * cancel. A job is `processing` for `cohereJobProcessingMs`, then `complete` with an
 * `output_dataset_id` (an `embed-result` dataset, records in input order:
 * `{text, embeddings: {float: […], int8: null, …}, <kept fields>}`), or `failed` with
 * `cohereJobFail`. A cancelled job goes `cancelling` → `cancelled` and returns nothing, as
 * Cohere documents. Status is evaluated when read; no timers run.
 */
import { randomUUID } from 'node:crypto';
import type { Route, SimState } from './route-types.ts';
import type { AvroSchema } from '../avro-container.ts';
import { KEPT_FIELD_TYPE, type DatasetApi, type DatasetRecord, type SimDataset } from './cohere-datasets.ts';
import { COHERE_MODELS, cohereError, cohereVector, embeddingByType, INPUT_TYPES, invalid, parseEmbeddingTypes, unknownModel, type EmbeddingType } from './cohere-models.ts';
import { newId } from './http.ts';

/** Settable with the other knobs; read when a job is created. */
export interface EmbedJobKnobs {
  /** @default 200 */
  cohereJobProcessingMs: number;
  /** @default 50 */
  cohereJobCancellingMs: number;
  /** The job ends `failed` instead of `complete`. @default false */
  cohereJobFail: boolean;
}

export const DEFAULT_JOB_KNOBS: EmbedJobKnobs = { cohereJobProcessingMs: 200, cohereJobCancellingMs: 50, cohereJobFail: false };

type JobStatus = 'processing' | 'complete' | 'cancelling' | 'cancelled' | 'failed';

interface SimJob {
  id: string;
  name: string | undefined;
  model: string;
  datasetId: string;
  inputType: string;
  types: EmbeddingType[] | undefined;
  truncate: 'START' | 'END';
  createdMs: number;
  plan: EmbedJobKnobs;
  status: JobStatus;
  endsMs: number;
  outputDatasetId?: string;
  tokens?: number;
}

const JOB_TYPES = ['float', 'int8', 'uint8', 'binary', 'ubinary'] as const;
const ARRAY_OF = (items: AvroSchema): AvroSchema => ['null', { type: 'array', items }];
const RESULT_EMBEDDINGS: AvroSchema = {
  type: 'record',
  name: 'Embeddings',
  fields: JOB_TYPES.map((t) => ({ name: t, type: ARRAY_OF(t === 'float' ? 'double' : 'int'), default: null })),
};

export function createEmbedJobApi(state: SimState, datasets: DatasetApi): { routes: Record<string, Route>; stats(): { embedJobsCreated: number; jobInputs: number; jobTokens: number; jobsByStatus: Record<string, number> }; clear(): void } {
  const jobs = new Map<string, SimJob>();
  let counts = { embedJobsCreated: 0, jobInputs: 0, jobTokens: 0 };

  /** Embeds the input dataset into an embed-result dataset, in input order. */
  const run = (j: SimJob) => {
    const input = datasets.get(j.datasetId)!;
    const served = COHERE_MODELS[j.model]!;
    let tokens = 0;
    const records: DatasetRecord[] = input.records.map((r) => {
      const { vector, tokens: t } = cohereVector(state, j.model, served, r.text as string, { truncate: j.truncate });
      tokens += t;
      const embeddings = Object.fromEntries(JOB_TYPES.map((type) => [type, (j.types ?? ['float']).includes(type) ? embeddingByType(vector, type) : null]));
      return { ...r, embeddings };
    });
    const out: Omit<SimDataset, 'createdMs' | 'readyMs' | 'queuedUntilMs' | 'warnings'> = {
      id: `${(j.name ?? 'embed-job').toLowerCase().replace(/[^a-z0-9]+/g, '-')}-output-${newId('', 6)}`,
      name: `${j.name ?? j.id}-output`,
      type: 'embed-result',
      records,
      schema: { type: 'record', name: 'EmbedResult', fields: [{ name: 'text', type: 'string' }, { name: 'embeddings', type: RESULT_EMBEDDINGS }, ...input.preserveFields.map((f) => ({ name: f, type: KEPT_FIELD_TYPE, default: null }))] },
      preserveFields: input.preserveFields,
    };
    j.outputDatasetId = datasets.add(out).id;
    j.tokens = tokens;
    counts.jobInputs += records.length;
    counts.jobTokens += tokens;
  };

  const advance = (j: SimJob, now = state.now()) => {
    if (now < j.endsMs) return;
    if (j.status === 'processing') {
      j.status = j.plan.cohereJobFail ? 'failed' : 'complete';
      if (j.status === 'complete') run(j);
    } else if (j.status === 'cancelling') j.status = 'cancelled';
  };

  const jobObject = (j: SimJob) => {
    advance(j);
    return {
      job_id: j.id,
      ...(j.name ? { name: j.name } : {}),
      status: j.status,
      created_at: new Date(j.createdMs).toISOString(),
      input_dataset_id: j.datasetId,
      ...(j.outputDatasetId ? { output_dataset_id: j.outputDatasetId } : {}),
      model: j.model,
      truncate: j.truncate,
      meta: { api_version: { version: '1' }, ...(j.tokens !== undefined ? { billed_units: { input_tokens: j.tokens } } : {}) },
    };
  };

  const notFound = (id: string) => cohereError(404, `embed job with id ${id} not found`);

  const routes: Record<string, Route> = {
    'POST /cohere/v1/embed-jobs': (req) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (typeof b.model !== 'string' || b.model === '') return invalid('model is required');
      const served = COHERE_MODELS[b.model];
      if (!served) return unknownModel(b.model);
      if (!served.embedJobs) return invalid(`model ${b.model} is not supported by embed jobs; use one of ${Object.keys(COHERE_MODELS).filter((m) => COHERE_MODELS[m]!.embedJobs).join(', ')}`);
      if (typeof b.dataset_id !== 'string') return invalid('dataset_id is required');
      const ds = datasets.get(b.dataset_id);
      if (!ds) return cohereError(404, `dataset with id ${b.dataset_id} not found`);
      if (ds.type !== 'embed-input') return invalid(`dataset ${ds.id} is of type ${ds.type}; embed jobs need an embed-input dataset`);
      if (datasets.status(ds) !== 'validated') return invalid(`dataset ${ds.id} has validation status ${datasets.status(ds)}; it must be validated`);
      if (!INPUT_TYPES.includes(b.input_type as string)) return invalid(`input_type must be one of ${INPUT_TYPES.join(', ')}`);
      const types = b.embedding_types === undefined ? undefined : parseEmbeddingTypes(b.embedding_types, JOB_TYPES);
      if (types !== undefined && !Array.isArray(types)) return types;
      const truncate = b.truncate ?? 'END';
      if (truncate !== 'START' && truncate !== 'END') return invalid('truncate must be START or END');
      const now = state.now();
      const plan = { cohereJobProcessingMs: state.knobs.cohereJobProcessingMs, cohereJobCancellingMs: state.knobs.cohereJobCancellingMs, cohereJobFail: state.knobs.cohereJobFail };
      const j: SimJob = { id: randomUUID(), name: typeof b.name === 'string' ? b.name : undefined, model: b.model, datasetId: ds.id, inputType: b.input_type as string, types, truncate, createdMs: now, plan, status: 'processing', endsMs: now + plan.cohereJobProcessingMs };
      jobs.set(j.id, j);
      counts.embedJobsCreated++;
      return { status: 200, body: { job_id: j.id, meta: { api_version: { version: '1' } } } };
    },
    'GET /cohere/v1/embed-jobs': () => ({ status: 200, body: { embed_jobs: [...jobs.values()].map(jobObject) } }),
    'GET /cohere/v1/embed-jobs/:id': (req) => {
      const j = jobs.get(req.params.id!);
      return j ? { status: 200, body: jobObject(j) } : notFound(req.params.id!);
    },
    'POST /cohere/v1/embed-jobs/:id/cancel': (req) => {
      const j = jobs.get(req.params.id!);
      if (!j) return notFound(req.params.id!);
      advance(j);
      if (j.status === 'processing') {
        j.status = 'cancelling';
        j.endsMs = state.now() + j.plan.cohereJobCancellingMs;
      } else if (j.status !== 'cancelling') return invalid(`embed job ${j.id} is ${j.status} and cannot be cancelled`);
      return { status: 200, body: {} };
    },
  };

  return {
    routes,
    stats() {
      const jobsByStatus: Record<string, number> = {};
      for (const j of jobs.values()) {
        advance(j);
        jobsByStatus[j.status] = (jobsByStatus[j.status] ?? 0) + 1;
      }
      return { ...counts, jobsByStatus };
    },
    clear() {
      jobs.clear();
      counts = { embedJobsCreated: 0, jobInputs: 0, jobTokens: 0 };
    },
  };
}
