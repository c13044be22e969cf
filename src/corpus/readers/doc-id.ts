/**
 * How document ids are formed (docs/ingest.md, "Document ids"), in one place: a file's id is its
 * path relative to the folder holding the ingest root; a record's id is scoped by its file.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Rejection, SourceDoc } from './types.ts';

/**
 * The document id of a file: its path relative to `baseDir` with `/` separators, or the absolute
 * path when there is no `baseDir` or the file lies outside it.
 *
 * @example docIdFor('/data/docs/a/b.md', '/data') // 'docs/a/b.md'
 */
export function docIdFor(path: string, baseDir?: string): string {
  const abs = resolve(path);
  if (baseDir === undefined) return abs;
  const rel = relative(resolve(baseDir), abs);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return abs;
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/**
 * A JSONL/CSV record's document id: `<file id>#<id>` for a record with an id (scoped by its file,
 * so `id=1` in two files is two documents), the id alone under `globalIds`, and
 * `<file id>#L<line>` / `#R<row>` for a record without one.
 */
export function recordDocId(fileId: string, record: { id?: string | undefined; pos: string }, globalIds: boolean | undefined): string {
  if (record.id === undefined) return `${fileId}#${record.pos}`;
  return globalIds ? record.id : `${fileId}#${record.id}`;
}

/**
 * The ids older versions of embedq may have stored for this document: a path relative to some
 * current directory or the absolute path (every path suffix of its source), and a record's id
 * alone. Only a stored document with the same source is ever taken for one of them.
 */
export function legacyDocIds(doc: SourceDoc): string[] {
  const parts = doc.source.split(sep);
  const paths = parts.map((_, i) => parts.slice(i).join('/')).filter((s) => s !== '');
  const ids = doc.record === undefined ? paths : doc.record.id !== undefined ? [doc.record.id] : paths.map((p) => `${p}#${doc.record!.pos}`);
  return [...new Set(ids)].filter((id) => id !== doc.docId);
}

/** Where a document was read, as a duplicate's rejection names it: `row 2 (line 3) of /data/a.csv`, or the file. */
export function placeOf(doc: SourceDoc): string {
  return doc.record ? `${doc.record.label} of ${doc.source}` : doc.source;
}

/** The rejection of a document whose id `holder` (a {@link placeOf}) already has in this run. */
export function duplicateId(doc: SourceDoc, holder: string, globalIds: boolean | undefined): Rejection {
  const r = doc.record;
  const why = !r
    ? 'two roots with the same name give the same ids: ingest their common parent folder instead'
    : globalIds && r.id !== undefined
      ? 'with --global-ids an id must be unique across all files'
      : 'an id must be unique within its file';
  return { kind: 'rejected', path: r?.at ?? doc.source, reason: `${r ? `${r.label}: ` : ''}duplicate id ${JSON.stringify(r?.id ?? doc.docId)}: ${holder} has it, and keeps it (${why})` };
}
