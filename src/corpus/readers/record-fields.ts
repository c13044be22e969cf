/**
 * The record flags of `ingest`, its `--dry-run` and `schedules add` (kept in a re-sync's
 * scheduler, so a re-sync reads records as the first ingest did), and the readers' options
 * they stand for: the one mapping from the flags to ReadOptions.
 */
import { UsageError } from '../../errors.ts';

export interface RecordFlags {
  /** JSONL field / CSV column holding the text. @default text */
  textField?: string | undefined;
  /** JSONL field / CSV column holding the document id. @default id */
  idField?: string | undefined;
  /** JSONL/CSV record ids are unique across files (not scoped by file); a repeated one is rejected. */
  globalIds?: boolean | undefined;
  /** CSV columns kept as metadata, comma-separated. @default every column but the text and id */
  metadataColumns?: string | undefined;
}

/** The readers' options for `--text-field`, `--id-field`, `--metadata-columns` and `--global-ids`; an absent flag keeps the reader's default. */
export function readFields(o: RecordFlags) {
  const metadataColumns = o.metadataColumns === undefined ? undefined : o.metadataColumns.split(',').map((c) => c.trim());
  if (metadataColumns?.some((c) => c === '')) throw new UsageError(`--metadata-columns must be column names separated by commas, got ${JSON.stringify(o.metadataColumns)}`);
  return {
    jsonl: { ...(o.textField ? { textField: o.textField } : {}), ...(o.idField ? { idField: o.idField } : {}) },
    csv: { ...(o.textField ? { textColumn: o.textField } : {}), ...(o.idField ? { idColumn: o.idField } : {}), ...(metadataColumns ? { metadataColumns } : {}) },
    ...(o.globalIds ? { globalIds: true } : {}),
  };
}

