/** A slice of a corpus that one ingest job reads. */
export type IngestSourceSpec =
  | { kind: 'files'; paths: string[]; baseDir?: string }
  | { kind: 'jsonl'; path: string; start: number; end: number }
  | { kind: 'csv'; path: string };
