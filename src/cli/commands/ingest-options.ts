import type { RecordInput } from '../../pipeline/records.ts';
import type { RecordFlags, RunMode } from '../parse.ts';

/** The options of `embedq ingest`, read by the run (ingest.ts) and by its `--dry-run` (ingest-dry-run.ts). */
export interface IngestOptions extends RecordFlags {
  /** Files, directories and globs to read; or none, with `records`. */
  paths: string[];
  /**
   * Records to index instead of files (the programmatic API): `{ id, text, metadata? }` objects,
   * iterable or async iterable, streamed into ingest jobs as they come. The id is the document id.
   */
  records?: RecordInput | undefined;
  /** The documents' source for `records` (shown by search). @default 'records' */
  recordsLabel?: string | undefined;
  index: string;
  model?: string | undefined;
  dims?: number | undefined;
  tenant?: string | undefined;
  chunkTokens?: number | undefined;
  chunkOverlap?: number | undefined;
  /** sync: embed jobs now; batch: the provider's batch API (cheaper, up to 24 h); auto: batch for large runs. @default sync */
  mode?: RunMode | undefined;
  wait?: boolean;
  localWorker?: boolean;
  progress?: boolean;
  /** Read links out of the given folders and walk links to directories (never /proc, /sys, /dev). @default false */
  followSymlinks?: boolean | undefined;
  /** Where a model's one-line probe notice goes (pipeline/probe.ts). @default the logger, at info */
  notice?: (line: string) => void;
  /** On SIGINT/SIGTERM while waiting: release this process's jobs, say how to resume, exit 130 (the CLI). */
  exitOnInterrupt?: boolean;
}
