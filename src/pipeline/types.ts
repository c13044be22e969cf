/**
 * A slice of a corpus that one ingest job reads. `baseDir` is the folder document ids are
 * relative to (jobs enqueued before it existed carry it on `files` only, or not at all).
 */
export type IngestSourceSpec =
  | { kind: 'files'; paths: string[]; baseDir?: string }
  | { kind: 'jsonl'; path: string; start: number; end: number; baseDir?: string }
  | { kind: 'csv'; path: string; baseDir?: string }
  /**
   * Records handed to the programmatic API (`ingest(records)`), carried in the job itself so any
   * worker can read them: the `seq`th pack of the run, at most {@link RECORDS_PER_JOB} records.
   * `label` is the documents' source.
   */
  | { kind: 'records'; seq: number; label: string; records: InlineRecord[] };

/** One record of a `records` source: its id is the document id. */
export interface InlineRecord {
  id: string;
  text: string;
  metadata?: Record<string, unknown>;
}

/** Most records one `records` ingest job carries, and most bytes of their text and metadata. */
export const RECORDS_PER_JOB = 500;
export const RECORDS_JOB_BYTES = 2 * 1024 * 1024;
