/**
 * Reads JSONL (one JSON object per line) as a stream of documents, optionally one byte range of
 * the file so that several jobs can read a large file in parallel.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { normalizeText } from '../normalize.ts';
import { DEFAULT_MAX_RECORD_BYTES, describeFsError, formatSize } from './limits.ts';
import { splitLines } from './lines.ts';
import { docIdFor, recordDocId } from './doc-id.ts';
import type { ReadItem, ReadOptions, Rejection } from './types.ts';
import { decodeUtf8 } from './utf8.ts';

const READ_CHUNK = 1024 * 1024;

export type JsonlOptions = ReadOptions & {
  baseDir?: string;
  /** First byte of the range. @default 0 */
  start?: number;
  /** End of the range (exclusive). @default end of file */
  end?: number;
  /**
   * The line number at `start` when `start` is known to be a line's first byte (a position an
   * earlier read reported as `next`): resuming there needs no scan of the prefix.
   */
  startLine?: number;
};

/**
 * Streams the records of a JSONL file. Each non-empty line must be a JSON object with a string
 * text field; its id (string or number) becomes the docId `<file>#<id>` (the id alone under
 * `globalIds`), or `<file>#L<line>` without one; an
 * optional metadata object is kept. A bad line becomes a rejection with path `<file>:<line>` and
 * a reason such as `line 7: not valid JSON (…)`, and reading goes on.
 *
 * **Byte ranges** follow the Hadoop split rule, so ranges `[0,a) [a,b) [b,size)` yield every
 * record exactly once: a range skips a partial first line (unless `start` is 0 or the byte
 * before `start` is `\n`) and reads every line that *starts* before `end`, to its end.
 *
 * **Line numbers are exact**, also in a range: a range that starts past 0 first counts the
 * newlines before `start` (a sequential read of that prefix at memchr speed). They must be,
 * since `#L<line>` ids would otherwise change with the way a file was split.
 *
 * **Resuming**: with `positions`, every record carries `next`, the offset and line of the line after it; a read
 * with `start: next.offset, startLine: next.line` goes on from there.
 *
 * Memory stays flat for any file size: lines are split at the byte level and a line over
 * `maxRecordBytes` is counted and dropped as it streams past, never buffered (see lines.ts).
 */
export async function* readJsonl(path: string, opts: JsonlOptions): AsyncGenerator<ReadItem> {
  const abs = resolve(path);
  const start = opts.start ?? 0;
  const end = opts.end ?? Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(start) || start < 0 || !(end >= start)) throw new RangeError(`readJsonl: bad byte range [${start}, ${end})`);
  if (start === end) return;
  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const fields = { id: opts.jsonl?.idField ?? 'id', text: opts.jsonl?.textField ?? 'text', metadata: opts.jsonl?.metadataField ?? 'metadata' };
  const docIdBase = docIdFor(abs, opts.baseDir);

  let lineNo = opts.startLine ?? 1;
  let skipPartial = false;
  try {
    if (start > 0 && opts.startLine === undefined) {
      const prefix = await scanPrefix(abs, start);
      lineNo = prefix.newlines + 1;
      skipPartial = prefix.lastByte !== 10;
    }
    const stream = createReadStream(abs, { start, highWaterMark: READ_CHUNK });
    for await (const line of splitLines(stream as AsyncIterable<Buffer>, { maxLineBytes: maxRecord, startOffset: start })) {
      const n = lineNo++;
      if (skipPartial) {
        // The rest of a line that starts in the previous range, which reads it whole.
        skipPartial = false;
        continue;
      }
      if (line.offset >= end) break;
      const at = opts.positions ? { next: { offset: line.offset + line.length + 1, line: n + 1 } } : {};
      const reject = (reason: string): Rejection => ({ kind: 'rejected', path: `${abs}:${n}`, reason: `line ${n}: ${reason}`, ...at });
      if (line.bytes === undefined) {
        yield reject(`record is ${formatSize(line.length)}, over the ${formatSize(maxRecord)} limit (maxRecordBytes)`);
        continue;
      }
      const item = parseLine(line.bytes, line.offset, opts.invalidUtf8, fields, reject);
      if (item === undefined) continue;
      if (item.kind === 'rejected') {
        yield item;
        continue;
      }
      const record = { at: `${abs}:${n}`, label: `line ${n}`, pos: `L${n}`, ...(item.id !== undefined ? { id: item.id } : {}) };
      yield { kind: 'doc', docId: recordDocId(docIdBase, record, opts.globalIds), source: abs, text: item.text, ...(item.metadata ? { metadata: item.metadata } : {}), record, ...at };
    }
  } catch (e) {
    const why = describeFsError(e);
    yield { kind: 'rejected', path: abs, reason: lineNo > 1 ? `${why} (stopped before line ${lineNo})` : why };
  }
}

export type Parsed = { kind: 'record'; id: string | undefined; text: string; metadata: Record<string, unknown> | undefined };

/** One line to a record, a rejection, or undefined for a blank line (skipped silently). */
function parseLine(
  raw: Buffer,
  offset: number,
  invalidUtf8: ReadOptions['invalidUtf8'],
  fields: { id: string; text: string; metadata: string },
  reject: (reason: string) => Rejection,
): Parsed | Rejection | undefined {
  const bytes = raw.length > 0 && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
  const decoded = decodeUtf8(bytes, invalidUtf8);
  if ('badByte' in decoded) return reject(`invalid UTF-8 at byte ${offset + decoded.badByte}`);
  if (decoded.text.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(decoded.text);
  } catch (e) {
    return reject(`not valid JSON (${(e as Error).message})`);
  }
  return recordFromValue(value, fields, reject);
}

/**
 * A parsed JSON value to a record, or a rejection with the reason: the one set of rules for what
 * a record is, shared by JSONL lines and records handed to the programmatic API. `text` must be a
 * string with text left after normalization and no NUL; `id` a non-empty string or a finite
 * number, or absent; `metadata` an object jsonb can store, or absent.
 */
export function recordFromValue<R>(value: unknown, fields: { id: string; text: string; metadata: string }, reject: (reason: string) => R): Parsed | R {
  if (!isPlainObject(value)) return reject(`expected a JSON object, got ${describe(value)}`);
  const text = value[fields.text];
  if (typeof text !== 'string') return reject(text === undefined ? `missing string field ${JSON.stringify(fields.text)}` : `field ${JSON.stringify(fields.text)} must be a string, got ${describe(text)}`);
  if (text.includes('\u0000')) return reject('text contains NUL bytes, which Postgres text cannot store');
  const normalized = normalizeText(text);
  if (normalized.length === 0) return reject('no text');

  const rawId = value[fields.id];
  let id: string | undefined;
  if (typeof rawId === 'string' && rawId.length > 0 && !rawId.includes('\u0000')) id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = String(rawId);
  else if (rawId !== undefined && rawId !== null) return reject(`field ${JSON.stringify(fields.id)} must be a non-empty string or a number, got ${describe(rawId)}`);

  const meta = value[fields.metadata];
  let metadata: Record<string, unknown> | undefined;
  if (isPlainObject(meta)) {
    // jsonb rejects \u0000 as well; JSON.stringify spells a NUL that way.
    if (JSON.stringify(meta).includes('\\u0000')) return reject(`${JSON.stringify(fields.metadata)} contains NUL characters, which Postgres jsonb cannot store`);
    metadata = meta;
  } else if (meta !== undefined && meta !== null) return reject(`field ${JSON.stringify(fields.metadata)} must be an object, got ${describe(meta)}`);
  return { kind: 'record', id, text: normalized, metadata };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
  return `${typeof v === 'object' ? 'an' : 'a'} ${typeof v} (${JSON.stringify(v)?.slice(0, 40)})`;
}

/** Newlines in `[0, end)` and the byte at `end - 1`. */
async function scanPrefix(path: string, end: number): Promise<{ newlines: number; lastByte: number }> {
  let newlines = 0;
  let lastByte = -1;
  for await (const chunk of createReadStream(path, { start: 0, end: end - 1, highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
  }
  return { newlines, lastByte };
}
