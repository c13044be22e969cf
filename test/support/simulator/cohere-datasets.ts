/**
 * The simulator's Cohere Datasets API: `POST /v1/datasets?name=…&type=embed-input` with the
 * file in the multipart field `data` (.jsonl, a `text` per record; `keep_fields` must be in
 * every record, `optional_fields` may be missing), `GET /v1/datasets/{id}` whose
 * `validation_status` goes queued → processing → validated | failed by the clock, list, delete.
 * A validated dataset has one part whose `url` serves an Avro container file without auth
 * (Cohere's are presigned storage URLs; the Python SDK reads them with fastavro, the TypeScript
 * SDK leaves reading them to the caller). Embed jobs add their `embed-result` datasets here.
 */
import type { Route, SimState } from './route-types.ts';
import { encodeAvroContainer, type AvroSchema } from '../avro-container.ts';
import { cohereError } from './cohere-models.ts';
import { intParam, isForm } from './http.ts';

/** Settable with the other knobs; read when a dataset is created. */
export interface DatasetKnobs {
  /** @default 20 */
  cohereDatasetQueuedMs: number;
  /** @default 50 */
  cohereDatasetProcessingMs: number;
}

export const DEFAULT_DATASET_KNOBS: DatasetKnobs = { cohereDatasetQueuedMs: 20, cohereDatasetProcessingMs: 50 };

export type DatasetRecord = Record<string, unknown>;

export interface SimDataset {
  id: string;
  name: string;
  type: 'embed-input' | 'embed-result';
  createdMs: number;
  /** When validation ends (validated or failed). */
  readyMs: number;
  queuedUntilMs: number;
  records: DatasetRecord[];
  schema: AvroSchema;
  preserveFields: string[];
  error?: string;
  warnings: string[];
  avro?: Buffer;
}

// Kept fields may hold any JSON scalar; objects and arrays travel as JSON text.
export const KEPT_FIELD_TYPE: AvroSchema = ['null', 'string', 'long', 'double', 'boolean'];
const STORAGE_PREFIX = '/cohere-storage';

export const keptValue = (v: unknown): unknown => (v !== null && typeof v === 'object' ? JSON.stringify(v) : (v ?? null));

/** Query parameters that the SDK sends repeated (`keep_fields=a&keep_fields=b`) or comma-joined. */
const listParam = (q: URLSearchParams, name: string): string[] => q.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);

const suffix = () => Math.random().toString(36).slice(2, 8).padEnd(6, '0');

/** Parses an embed-input file: the records kept, or why validation fails. */
function parseEmbedInput(text: string, keep: string[], optional: string[], skipMalformed: boolean): { records: DatasetRecord[]; warnings: string[]; error?: string } {
  const records: DatasetRecord[] = [];
  const warnings: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      row = undefined;
    }
    const r = row as DatasetRecord | undefined;
    const problem =
      typeof r !== 'object' || r === null || Array.isArray(r)
        ? 'is not a JSON object'
        : typeof r.text !== 'string' || r.text.trim() === ''
          ? "has no non-empty 'text' field"
          : keep.find((f) => !(f in r))
            ? `is missing the keep_field '${keep.find((f) => !(f in r))}'`
            : undefined;
    if (problem && skipMalformed) warnings.push(`row ${i + 1} ${problem}; dropped`);
    else if (problem) return { records: [], warnings, error: `row ${i + 1} ${problem}` };
    else records.push(Object.fromEntries([['text', r!.text], ...[...keep, ...optional].map((f) => [f, keptValue(r![f])])]));
  }
  return records.length ? { records, warnings } : { records, warnings, error: 'the dataset has no valid rows' };
}

export interface DatasetApi {
  routes: Record<string, Route>;
  get(id: string): SimDataset | undefined;
  status(d: SimDataset, now?: number): 'queued' | 'processing' | 'validated' | 'failed';
  /** Stores an already validated dataset (an embed job's result). */
  add(d: Omit<SimDataset, 'createdMs' | 'readyMs' | 'queuedUntilMs' | 'warnings'>): SimDataset;
  created(): number;
  clear(): void;
}

export function createDatasetApi(state: SimState): DatasetApi {
  const datasets = new Map<string, SimDataset>();
  let created = 0;
  const status: DatasetApi['status'] = (d, now = state.now()) => (now < d.queuedUntilMs ? 'queued' : now < d.readyMs ? 'processing' : d.error ? 'failed' : 'validated');

  const datasetObject = (d: SimDataset, origin: string) => {
    const s = status(d);
    if (s === 'validated' && !d.avro) d.avro = encodeAvroContainer(d.schema, d.records);
    return {
      id: d.id,
      name: d.name,
      created_at: new Date(d.createdMs).toISOString(),
      updated_at: new Date(s === 'validated' || s === 'failed' ? d.readyMs : d.createdMs).toISOString(),
      dataset_type: d.type,
      validation_status: s,
      ...(s === 'failed' ? { validation_error: d.error } : {}),
      schema: JSON.stringify(d.schema),
      required_fields: ['text'],
      preserve_fields: d.preserveFields,
      dataset_parts:
        s === 'validated'
          ? [{ id: `${d.id}-part-0`, name: 'part-0.avro', url: `${origin}${STORAGE_PREFIX}/${d.id}/part-0.avro`, index: 0, size_bytes: d.avro!.length, num_rows: d.records.length, samples: d.records.slice(0, 3).map((r) => JSON.stringify(r)) }]
          : [],
      validation_warnings: s === 'validated' ? d.warnings : [],
    };
  };

  const add: DatasetApi['add'] = (d) => {
    const now = state.now();
    const full: SimDataset = { ...d, createdMs: now, readyMs: now, queuedUntilMs: now, warnings: [] };
    datasets.set(full.id, full);
    return full;
  };

  const routes: Record<string, Route> = {
    'POST /cohere/v1/datasets': (req) => {
      const name = req.query.get('name');
      const type = req.query.get('type');
      if (!name) return cohereError(400, 'invalid request: name is required');
      if (type !== 'embed-input') return cohereError(400, `invalid request: dataset type ${JSON.stringify(type)} is not supported here; the simulator takes embed-input`);
      const file = isForm(req.body) ? req.body.files.data : undefined;
      if (!file) return cohereError(400, "invalid request: the dataset file must be sent as the multipart field 'data'");
      const keep = listParam(req.query, 'keep_fields');
      const optional = listParam(req.query, 'optional_fields');
      const parsed = file.filename.endsWith('.jsonl')
        ? parseEmbedInput(file.data.toString('utf8'), keep, optional, req.query.get('skip_malformed_input') === 'true')
        : { records: [], warnings: [], error: `the simulator reads .jsonl files only, got ${JSON.stringify(file.filename)}` };
      const now = state.now();
      const k = state.knobs;
      const d: SimDataset = {
        id: `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${suffix()}`,
        name,
        type: 'embed-input',
        createdMs: now,
        queuedUntilMs: now + k.cohereDatasetQueuedMs,
        readyMs: now + k.cohereDatasetQueuedMs + k.cohereDatasetProcessingMs,
        records: parsed.records,
        schema: { type: 'record', name: 'EmbedInput', fields: [{ name: 'text', type: 'string' }, ...[...keep, ...optional].map((f) => ({ name: f, type: KEPT_FIELD_TYPE, default: null }))] },
        preserveFields: [...keep, ...optional],
        warnings: parsed.warnings,
        ...(parsed.error ? { error: parsed.error } : {}),
      };
      datasets.set(d.id, d);
      created++;
      return { status: 200, body: { id: d.id } };
    },
    'GET /cohere/v1/datasets': (req) => {
      const limit = intParam(req.query, 'limit', 10_000, 1, 10_000) ?? 10_000;
      const offset = intParam(req.query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const type = req.query.get('datasetType');
      const wanted = req.query.get('validationStatus');
      const list = [...datasets.values()].filter((d) => (!type || d.type === type) && (!wanted || status(d) === wanted));
      return { status: 200, body: { datasets: list.slice(offset, offset + limit).map((d) => datasetObject(d, req.origin)) } };
    },
    'GET /cohere/v1/datasets/:id': (req) => {
      const d = datasets.get(req.params.id!);
      return d ? { status: 200, body: { dataset: datasetObject(d, req.origin) } } : cohereError(404, `dataset with id ${req.params.id} not found`);
    },
    'DELETE /cohere/v1/datasets/:id': (req) => (datasets.delete(req.params.id!) ? { status: 200, body: {} } : cohereError(404, `dataset with id ${req.params.id} not found`)),
    [`GET ${STORAGE_PREFIX}/:id/:part`]: (req) => {
      const d = datasets.get(req.params.id!);
      if (!d?.avro || req.params.part !== 'part-0.avro') return { status: 404, raw: 'NoSuchKey: The specified key does not exist.', headers: { 'content-type': 'text/plain' } };
      return { status: 200, raw: d.avro, headers: { 'content-type': 'application/octet-stream' } };
    },
  };

  return {
    routes,
    get: (id) => datasets.get(id),
    status,
    add,
    created: () => created,
    clear() {
      datasets.clear();
      created = 0;
    },
  };
}
