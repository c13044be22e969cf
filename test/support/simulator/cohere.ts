/**
 * The simulator's Cohere API, under the `/cohere` prefix of the same server, so the official SDK
 * works unchanged with `new CohereClientV2({ token, environment: sim.cohereUrl })` (the SDK joins
 * its paths, `v2/embed`, `v1/datasets`, `v1/embed-jobs`, onto that base). This file serves
 * `POST /v2/embed`: Cohere's validation and `{message}` errors, up to 96 texts, `input_type`
 * required from v3 on, `output_dimension` for embed-v4.0, embeddings keyed by type. Vectors come
 * from the same seeded function as the OpenAI routes; search_query and search_document share
 * one space. Datasets and embed jobs are in cohere-datasets.ts and
 * cohere-jobs.ts, shared pieces in cohere-models.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Route, SimState } from './route-types.ts';
import { createDatasetApi, DEFAULT_DATASET_KNOBS, type DatasetKnobs } from './cohere-datasets.ts';
import { createEmbedJobApi, DEFAULT_JOB_KNOBS, type EmbedJobKnobs } from './cohere-jobs.ts';
import { COHERE_MODELS, cohereError, cohereVector, embeddingByType, INPUT_TYPES, invalid, parseEmbeddingTypes, unknownModel } from './cohere-models.ts';

export interface CohereKnobs extends DatasetKnobs, EmbedJobKnobs {}
export const DEFAULT_COHERE_KNOBS: CohereKnobs = { ...DEFAULT_DATASET_KNOBS, ...DEFAULT_JOB_KNOBS };

const MAX_TEXTS = 96;

/** What one text, image or input stands for: a string; an input's parts joined, an image by its data URI. */
function inputText(x: unknown): string | undefined {
  if (typeof x === 'string') return x;
  const content = (x as { content?: unknown } | null)?.content;
  if (!Array.isArray(content)) return undefined;
  return content.map((c: Record<string, unknown>) => (typeof c.text === 'string' ? c.text : ((c.image_url as { url?: string } | undefined)?.url ?? ''))).join('\n');
}

const embed: Route = (req, state) => {
  const b = (req.body ?? {}) as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return invalid('model is required');
  const served = COHERE_MODELS[b.model];
  if (!served) return unknownModel(b.model);
  if (b.input_type === undefined ? served.needsInputType : !INPUT_TYPES.includes(b.input_type as string))
    return invalid(b.input_type === undefined ? 'valid input_type must be provided with the provided model' : `input_type must be one of ${INPUT_TYPES.join(', ')}`);
  const given = (['texts', 'images', 'inputs'] as const).filter((k) => b[k] !== undefined && b[k] !== null);
  if (given.length !== 1) return invalid('exactly one of texts, images or inputs must be provided');
  const list = b[given[0]!];
  if (!Array.isArray(list) || list.length === 0) return invalid(`${given[0]} must be a non-empty array`);
  if (given[0] !== 'images' && list.length > MAX_TEXTS) return invalid(`total number of ${given[0]} must be at most ${MAX_TEXTS} - received ${list.length}`);
  if (given[0] === 'images' && !served.outputDimensions && list.length > 1) return invalid('at most 1 image can be embedded per call with this model');
  const texts = list.map(inputText);
  const bad = texts.findIndex((t) => typeof t !== 'string');
  if (bad >= 0) return invalid(`${given[0]}[${bad}] is not valid`);
  const types = parseEmbeddingTypes(b.embedding_types);
  if (!Array.isArray(types)) return types;
  const dims = b.output_dimension;
  if (dims !== undefined && dims !== null) {
    if (!served.outputDimensions) return invalid(`output_dimension is only supported for embed-v4.0 and newer models, not ${b.model}`);
    if (!served.outputDimensions.includes(dims as number)) return invalid(`output_dimension must be one of ${served.outputDimensions.join(', ')}; got ${JSON.stringify(dims)}`);
  }
  const truncate = b.truncate ?? 'END';
  if (truncate !== 'NONE' && truncate !== 'START' && truncate !== 'END') return invalid('truncate must be one of NONE, START, END');
  const maxTokens = b.max_tokens;
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) return invalid('max_tokens must be a positive integer');
  const limit = Math.min(served.maxTokens, (maxTokens as number | undefined) ?? Infinity);
  const tooLong = texts.findIndex((t) => state.countTokens(t!) > limit);
  if (truncate === 'NONE' && tooLong >= 0) return invalid(`text at index ${tooLong} is longer than ${limit} tokens; set truncate to START or END to cut it`);
  const log = { model: b.model, inputs: texts.length, ...(typeof dims === 'number' ? { dimensions: dims } : {}) };
  const fault = state.takeFault();
  if (fault === 'timeout') return { status: 0, hold: true, log: { ...log, fault } };
  if (fault === '500') return { ...cohereError(500, 'internal server error, this has been reported to our developers'), log: { ...log, fault } };
  if (fault === '429' || fault === 'quota') return { ...cohereError(429, 'You are past the per-minute request limit, please wait and try again later.'), log: { ...log, fault } };
  if (fault === 'malformed') return { status: 200, raw: '{"id":"x","embeddings":{"float":[[0.1,', log: { ...log, fault } };
  const vectors = texts.map((t) => cohereVector(state, b.model as string, served, t!, { dims: dims as number | undefined, truncate: truncate === 'START' ? 'START' : 'END', maxTokens: maxTokens as number | undefined }));
  const tokens = vectors.reduce((a, v) => a + v.tokens, 0);
  const limited = state.window.admit(tokens, b.model);
  if (limited) return { ...cohereError(429, (limited.body as { error: { message: string } }).error.message), headers: limited.headers, log };
  const shrink = fault === 'wrong-dims' ? (v: Float32Array) => v.subarray(0, Math.max(1, v.length >> 1)) : (v: Float32Array) => v;
  return {
    status: 200,
    body: {
      id: randomUUID(),
      embeddings: Object.fromEntries(types.map((t) => [t, vectors.map((v) => embeddingByType(shrink(v.vector), t))])),
      texts: given[0] === 'texts' ? texts : undefined,
      response_type: 'embeddings_by_type',
      meta: { api_version: { version: '2' }, billed_units: { input_tokens: tokens } },
    },
    log: { ...log, tokens, ...(fault ? { fault } : {}) },
  };
};

export interface CohereStats {
  embedRequests: number;
  datasetsCreated: number;
  embedJobsCreated: number;
  /** Inputs and tokens embedded by embed jobs (sync /v2/embed counts in the top-level stats). */
  jobInputs: number;
  jobTokens: number;
  jobsByStatus: Record<string, number>;
}

/** All Cohere routes (prefixed `/cohere`) and their counters. */
export function createCohereApi(state: SimState): { routes: Record<string, Route>; stats(): CohereStats; clear(): void } {
  const datasets = createDatasetApi(state);
  const jobs = createEmbedJobApi(state, datasets);
  let embedRequests = 0;
  const routes: Record<string, Route> = {
    'POST /cohere/v2/embed': (req, s) => (embedRequests++, embed(req, s)),
    ...datasets.routes,
    ...jobs.routes,
  };
  return {
    routes,
    stats: () => ({ embedRequests, datasetsCreated: datasets.created(), ...jobs.stats() }),
    clear() {
      embedRequests = 0;
      datasets.clear();
      jobs.clear();
    },
  };
}
