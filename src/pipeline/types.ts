/**
 * A slice of a corpus that one ingest job reads. `baseDir` is the folder document ids are
 * relative to (jobs enqueued before it existed carry it on `files` only, or not at all).
 */
export type IngestSourceSpec =
  | { kind: 'files'; paths: string[]; baseDir?: string }
  | { kind: 'jsonl'; path: string; start: number; end: number; baseDir?: string }
  | { kind: 'csv'; path: string; baseDir?: string };
