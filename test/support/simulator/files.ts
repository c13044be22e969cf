/**
 * The simulator's OpenAI Files API: multipart upload, retrieve, list, raw content, delete. Batch
 * input files must be .jsonl and at most 200 MB; output and error files of batches are stored
 * here too (purpose `batch_output`). An upload can be made to fail halfway (connection reset
 * while the body is still arriving) or with a 500, to test that clients retry or resume.
 */
import type { SimRequest } from './index.ts';
import type { Route, SimReply, SimState } from './route-types.ts';
import { apiError } from './embeddings.ts';
import { intParam, isForm, newId, unixSeconds } from './http.ts';

/** Settable with the other knobs. */
export interface FileKnobs {
  /** Largest accepted file with purpose `batch` (OpenAI: 200 MB). @default 209_715_200 */
  batchMaxFileBytes: number;
  /** The next `n` uploads fail with `uploadFaultKind` (counts down). @default 0 */
  failNextUploads: number;
  /** `reset`: the connection drops while the body is being sent; `500`: a server error after it. @default 'reset' */
  uploadFaultKind: 'reset' | '500';
}

export const DEFAULT_FILE_KNOBS: FileKnobs = { batchMaxFileBytes: 200 * 1024 * 1024, failNextUploads: 0, uploadFaultKind: 'reset' };

const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];
// Any upload: OpenAI's general cap (the batch cap is a knob).
const MAX_FILE_BYTES = 512 * 1024 * 1024;

export interface SimFile {
  id: string;
  seq: number;
  createdMs: number;
  filename: string;
  purpose: string;
  data: Buffer;
}

export interface FileStats {
  filesUploaded: number;
  filesDeleted: number;
  /** Uploads failed on purpose (`failNextUploads`). */
  uploadFaults: number;
}

export interface FileStore {
  get(id: string): SimFile | undefined;
  /** Stores a file (an upload, or a batch's output) and returns it. */
  add(data: Buffer, filename: string, purpose: string): SimFile;
  stats(): FileStats;
  clear(): void;
}

export function openaiFileObject(f: SimFile): Record<string, unknown> {
  return { id: f.id, object: 'file', bytes: f.data.length, created_at: unixSeconds(f.createdMs), filename: f.filename, purpose: f.purpose, status: 'processed', status_details: null, expires_at: null };
}

const openaiError = (status: number, message: string, param: string | null = null) => apiError(status, message, 'invalid_request_error', null, param);

/** Where a provider's Files API lives and how it answers (OpenAI's by default). */
export interface FileApiOptions {
  /** Route prefix ('' for OpenAI, '/voyage', '/mistral'). */
  prefix?: string;
  /** A file as the API returns it. */
  object?: (f: SimFile) => Record<string, unknown>;
  error?: (status: number, message: string, param?: string | null) => SimReply;
}

/** The store and its routes (`<prefix>/v1/files…`). */
export function createFileApi(opts: FileApiOptions = {}): { store: FileStore; routes: Record<string, Route> } {
  const { prefix = '', object: fileObject = openaiFileObject, error = openaiError } = opts;
  const invalid = (message: string, param: string | null = null) => error(400, message, param);
  const noSuchFile = (id: string) => error(404, `No such File object: ${id}`, 'id');
  const files = new Map<string, SimFile>();
  let seq = 0;
  let counts: FileStats = { filesUploaded: 0, filesDeleted: 0, uploadFaults: 0 };
  const store: FileStore = {
    get: (id) => files.get(id),
    add(data, filename, purpose) {
      const f: SimFile = { id: newId('file-', 22), seq: seq++, createdMs: Date.now(), filename, purpose, data };
      files.set(f.id, f);
      return f;
    },
    stats: () => ({ ...counts }),
    clear() {
      files.clear();
      counts = { filesUploaded: 0, filesDeleted: 0, uploadFaults: 0 };
    },
  };
  /** Takes one queued upload fault of `kind`, if any. */
  const takeUploadFault = (s: SimState, kind: FileKnobs['uploadFaultKind']): boolean => {
    if (s.knobs.failNextUploads <= 0 || s.knobs.uploadFaultKind !== kind) return false;
    s.knobs.failNextUploads--;
    counts.uploadFaults++;
    return true;
  };

  const upload: Route = Object.assign(
    (req: SimRequest, s: SimState) => {
      if (takeUploadFault(s, '500')) return error(500, 'The server had an error while processing your request. Sorry about that!');
      if (!isForm(req.body)) return invalid("Invalid request: the body must be multipart/form-data with the fields 'purpose' and 'file'.");
      const purpose = req.body.fields.purpose;
      const file = req.body.files.file;
      if (purpose === undefined) return invalid("Missing required parameter: 'purpose'.", 'purpose');
      if (!PURPOSES.includes(purpose)) return invalid(`'${purpose}' is not one of ${JSON.stringify(PURPOSES)} - 'purpose'`, 'purpose');
      if (!file) return invalid("Missing required parameter: 'file'.", 'file');
      if (file.data.length > MAX_FILE_BYTES) return error(413, `File is too large: ${file.data.length} bytes; the maximum is ${MAX_FILE_BYTES} bytes.`, 'file');
      if (purpose === 'batch') {
        if (!file.filename.endsWith('.jsonl')) return invalid('Invalid file format for Batch API. Must be .jsonl', 'file');
        if (file.data.length > s.knobs.batchMaxFileBytes)
          return invalid(`File is too large for purpose 'batch': ${file.data.length} bytes; the maximum is ${s.knobs.batchMaxFileBytes} bytes (200 MB).`, 'file');
      }
      counts.filesUploaded++;
      return { status: 200, body: fileObject(store.add(file.data, file.filename, purpose)) };
    },
    { beforeBody: (s: SimState) => (takeUploadFault(s, 'reset') ? ('reset' as const) : undefined) },
  );

  const routes: Record<string, Route> = {
    [`POST ${prefix}/v1/files`]: upload,
    [`GET ${prefix}/v1/files`]: (req) => {
      const limit = intParam(req.query, 'limit', 10_000, 1, 10_000);
      if (limit === undefined) return invalid("Invalid 'limit': expected an integer from 1 to 10000.", 'limit');
      const purpose = req.query.get('purpose');
      const asc = req.query.get('order') === 'asc';
      let list = [...files.values()].filter((f) => !purpose || f.purpose === purpose).sort((a, b) => (asc ? a.seq - b.seq : b.seq - a.seq));
      const after = req.query.get('after');
      if (after) list = list.slice(list.findIndex((f) => f.id === after) + 1);
      const page = list.slice(0, limit);
      return { status: 200, body: { object: 'list', data: page.map(fileObject), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: list.length > limit } };
    },
    [`GET ${prefix}/v1/files/:id`]: (req) => {
      const f = files.get(req.params.id!);
      return f ? { status: 200, body: fileObject(f) } : noSuchFile(req.params.id!);
    },
    [`GET ${prefix}/v1/files/:id/content`]: (req) => {
      const f = files.get(req.params.id!);
      return f ? { status: 200, raw: f.data, headers: { 'content-type': 'application/octet-stream' } } : noSuchFile(req.params.id!);
    },
    [`DELETE ${prefix}/v1/files/:id`]: (req) => {
      const id = req.params.id!;
      if (!files.delete(id)) return noSuchFile(id);
      counts.filesDeleted++;
      return { status: 200, body: { id, object: 'file', deleted: true } };
    },
  };
  return { store, routes };
}
