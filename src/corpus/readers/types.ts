/** What the corpus readers produce: documents, or rejections with a reason a person can act on. */

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
};

/** Something that could not be read; reading continues with the next item. */
export type Rejection = {
  kind: 'rejected';
  /** The file, or `<file>:<line>` for one record of a JSONL or CSV file. */
  path: string;
  reason: string;
};

export type ReadItem = SourceDoc | Rejection;

export interface ReadOptions {
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
