/** Reads a CSV file with a header row: one document per row. */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { normalizeText } from '../normalize.ts';
import { csvRecords } from './csv-records.ts';
import { DEFAULT_MAX_RECORD_BYTES, describeFsError } from './limits.ts';
import { docIdFor, recordDocId } from './doc-id.ts';
import type { ReadItem, ReadOptions, ReadPosition, Rejection } from './types.ts';

const READ_CHUNK = 1024 * 1024;

/**
 * Streams the rows of a CSV file as documents. The first record is the header; the text column
 * (`csv.textColumn`, default `text`) holds the document, the id column (`csv.idColumn`, default
 * `id`) its id, scoped as `<file>#<id>` unless `globalIds` (else `<file>#R<row>`, rows counted from 1 after the header, rejected rows
 * included), and the other columns go into `metadata` as strings: every one of them, or only
 * those named in `csv.metadataColumns` (a named column the header lacks rejects the file).
 *
 * A header without the text column rejects the whole file, naming the columns it has. A row is
 * rejected (path `<file>:<line>`, reason `row 5 (line 7): …`) when it has a different number of
 * fields than the header, is over `maxRecordBytes`, is malformed, holds invalid UTF-8 under
 * `invalidUtf8: 'reject'` or NUL bytes, or has no text; reading goes on with the next row.
 *
 * With `positions`, every row carries `next` (offset, line and row of the row after it); `from: next` reads the
 * header again and goes on at that row, so row numbers and `#R<row>` ids stay the same.
 */
export async function* readCsv(path: string, opts: ReadOptions & { baseDir?: string; from?: ReadPosition }): AsyncGenerator<ReadItem> {
  const abs = resolve(path);
  const textColumn = opts.csv?.textColumn ?? 'text';
  const idColumn = opts.csv?.idColumn ?? 'id';
  const docIdBase = docIdFor(abs, opts.baseDir);
  let header: string[] | undefined;
  let textIdx = -1;
  let idIdx = -1;
  /** Indexes of the header's columns that go into metadata. */
  let metaIdx: number[] = [];
  const from = opts.from;
  let row = from ? (from.row ?? 1) - 1 : 0;
  const recordOpts = { maxRecordBytes: opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, invalidUtf8: opts.invalidUtf8 };
  try {
    // A resumed read takes the header from the file's start, then goes on where it left off.
    const records = async function* () {
      if (from) {
        for await (const rec of csvRecords(createReadStream(abs, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>, recordOpts)) {
          yield rec;
          break;
        }
      }
      yield* csvRecords(createReadStream(abs, { highWaterMark: READ_CHUNK, ...(from ? { start: from.offset } : {}) }) as AsyncIterable<Buffer>, { ...recordOpts, ...(from ? { from } : {}) });
    };
    for await (const rec of records()) {
      if (header === undefined) {
        if (rec.fields === undefined) {
          yield { kind: 'rejected', path: abs, reason: `header row (line ${rec.line}): ${rec.reason ?? 'unreadable'}` };
          return;
        }
        header = rec.fields.map((h) => h.trim());
        textIdx = header.indexOf(textColumn);
        idIdx = header.indexOf(idColumn);
        if (textIdx < 0) {
          yield { kind: 'rejected', path: abs, reason: `no ${JSON.stringify(textColumn)} column: the header has ${header.map((h) => JSON.stringify(h)).join(', ')} (set csv.textColumn)` };
          return;
        }
        const named = opts.csv?.metadataColumns;
        const missing = (named ?? []).filter((c) => !header!.includes(c));
        if (missing.length) {
          yield { kind: 'rejected', path: abs, reason: `no ${missing.map((c) => JSON.stringify(c)).join(', ')} column for metadata: the header has ${header.map((h) => JSON.stringify(h)).join(', ')}` };
          return;
        }
        metaIdx = named ? named.map((c) => header!.indexOf(c)) : header.map((_, k) => k).filter((k) => k !== textIdx && k !== idIdx);
        continue;
      }
      row++;
      const next = opts.positions && rec.next ? { ...rec.next, row: row + 1 } : undefined;
      const reject = (reason: string): Rejection => ({ kind: 'rejected', path: `${abs}:${rec.line}`, reason: `row ${row} (line ${rec.line}): ${reason}`, ...(next ? { next } : {}) });
      const fields = rec.fields;
      if (fields === undefined) {
        yield reject(rec.reason ?? 'unreadable');
        continue;
      }
      if (fields.length !== header.length) {
        yield reject(`has ${fields.length} fields, the header has ${header.length}`);
        continue;
      }
      if (fields.some((f) => f.includes('\u0000'))) {
        yield reject('contains NUL bytes, which Postgres cannot store');
        continue;
      }
      const text = normalizeText(fields[textIdx]!);
      if (text.length === 0) {
        yield reject(`no text in column ${JSON.stringify(textColumn)}`);
        continue;
      }
      const record = { at: `${abs}:${rec.line}`, label: `row ${row} (line ${rec.line})`, pos: `R${row}`, ...(idIdx >= 0 && fields[idIdx] !== '' ? { id: fields[idIdx]! } : {}) };
      let metadata: Record<string, unknown> | undefined;
      for (const k of metaIdx) (metadata ??= {})[header[k]!] = fields[k];
      yield { kind: 'doc', docId: recordDocId(docIdBase, record, opts.globalIds), source: abs, text, ...(metadata ? { metadata } : {}), record, ...(next ? { next } : {}) };
    }
  } catch (e) {
    yield { kind: 'rejected', path: abs, reason: describeFsError(e) };
    return;
  }
  if (header === undefined) yield { kind: 'rejected', path: abs, reason: 'empty file (no header row)' };
}
