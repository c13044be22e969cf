/** What the corpus readers produce: documents, or rejections with a reason a person can act on. */

/**
 * Where a record reader resumes after an item: the byte offset of the next record, its 1-based
 * line and (CSV) its row. Record readers (JSONL, CSV) set it on the items they yield, so an
 * ingest job can record how far it got and a retried attempt can start there.
 */
export type ReadPosition = { offset: number; line: number; row?: number };

/** One document read from a source. `text` is already normalized ({@link normalizeText}). */
export type SourceDoc = {
  kind: 'doc';
  /** Stable id ({@link docIdFor}, {@link recordDocId}): a file's path relative to `baseDir`, or `<file>#<id>`, `<file>#L<line>`, `<file>#R<row>`. */
  docId: string;
  /** The file the document was read from (absolute path). */
  source: string;
  text: string;
  /** A JSONL record's metadata object, or a CSV row's other columns. */
  metadata?: Record<string, unknown>;
  /** A JSONL/CSV record: where it is, for messages, and its id as the file has it. */
  record?: {
    /** `<file>:<line>`, as a rejection of this record would name it. */
    at: string;
    /** `line 7` (JSONL) or `row 5 (line 7)` (CSV). */
    label: string;
    /** The id field's value, when the record has one. */
    id?: string;
    /** `L<line>` or `R<row>`: the record's place in its file. */
    pos: string;
  };
  /** Where reading resumes after this document (record readers only). */
  next?: ReadPosition;
};

/** Something that could not be read; reading continues with the next item. */
export type Rejection = {
  kind: 'rejected';
  /** The file, or `<file>:<line>` for one record of a JSONL or CSV file. */
  path: string;
  reason: string;
  /** Where reading resumes after this record (record readers only). */
  next?: ReadPosition;
};

export type ReadItem = SourceDoc | Rejection;

export interface ReadOptions {
  /** Record readers set `next` on every item they yield (see {@link ReadPosition}). @default false */
  positions?: boolean;
  /** Bytes that are not valid UTF-8: reject the document (or record), or replace them with U+FFFD. */
  invalidUtf8: 'reject' | 'replace';
  /** Largest text/Markdown file read as one document. @default 50 MiB */
  maxFileBytes?: number;
  /** Largest JSONL line or CSV record. @default 8 MiB */
  maxRecordBytes?: number;
  jsonl?: {
    /** @default 'id' */
    idField?: string;
    /** @default 'text' */
    textField?: string;
    /** @default 'metadata' */
    metadataField?: string;
  };
  /** JSONL/CSV ids are unique across files (`1`), not scoped by their file (`<file>#1`). @default false */
  globalIds?: boolean;
  csv?: {
    /** @default 'text' */
    textColumn?: string;
    /** @default 'id' */
    idColumn?: string;
    /** The columns kept as the row's metadata. @default every column but the text and the id */
    metadataColumns?: string[];
  };
}
