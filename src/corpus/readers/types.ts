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
  /** Stable id: a file's path relative to `baseDir`, a record's id, or `<file>#L<line>` / `<file>#R<row>`. */
  docId: string;
  /** The file the document was read from (absolute path). */
  source: string;
  text: string;
  /** A JSONL record's metadata object, or a CSV row's other columns. */
  metadata?: Record<string, unknown>;
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
  csv?: {
    /** @default 'text' */
    textColumn?: string;
    /** @default 'id' */
    idColumn?: string;
  };
}
