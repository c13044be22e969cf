/**
 * A streaming RFC 4180 record splitter (comma, double quotes, LF or CRLF) working on bytes.
 *
 * Why not csv-parse: with `skip_records_with_error`, csv-parse 7 stops parsing the rest of the
 * current input chunk after a CSV_MAX_RECORD_SIZE error, so the records after a giant one vanish
 * without a trace; without it, the first giant record ends the whole file. Here a record over the
 * limit is measured while its bytes stream past, reported, and parsing goes on at the next record.
 */
import { formatSize } from './limits.ts';
import { decodeUtf8 } from './utf8.ts';

export type CsvRecord = {
  /** 1-based line on which the record starts. */
  line: number;
  /** Byte offset of the record's first byte. */
  offset: number;
  /** The fields, unquoted; undefined when `reason` says why the record could not be read. */
  fields: string[] | undefined;
  reason?: string;
  /** Byte offset and line of the record after this one (where a resumed read starts). */
  next?: { offset: number; line: number };
};

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const AFTER_QUOTE = 3;
const MALFORMED = 4;

/**
 * Splits CSV bytes into records. Blank lines are skipped. A quote inside an unquoted field is
 * kept as a literal character (as most writers produce it); text after a closing quote makes the
 * record malformed; an unclosed quote at the end of the file is reported on the record that
 * opened it. A UTF-8 byte-order mark at the start is dropped.
 */
export async function* csvRecords(
  chunks: AsyncIterable<Buffer>,
  opts: { maxRecordBytes: number; invalidUtf8: 'reject' | 'replace'; /** Where `chunks` start in the file: a record's first byte and its line (a `next` of an earlier read). */ from?: { offset: number; line: number } },
): AsyncGenerator<CsvRecord> {
  const max = opts.maxRecordBytes;
  let state = FIELD_START;
  let line = opts.from?.line ?? 1;
  let fileOffset = opts.from?.offset ?? 0;
  // The record being read: where it started, its length so far, its bytes (unless over the limit).
  let recLine = line;
  let recOffset = fileOffset;
  let recLen = 0;
  let parts: Buffer[] = [];
  let over = false;
  // Field bounds, relative to the record's first byte.
  let starts: number[] = [];
  let ends: number[] = [];
  let quoted: boolean[] = [];
  let fieldStart = 0;
  let closeQuote = 0;
  let malformed: string | undefined;

  const field = (s: number, e: number, q: boolean): void => {
    starts.push(s);
    ends.push(e);
    quoted.push(q);
  };
  const finish = (): CsvRecord | undefined => {
    const rec: CsvRecord = { line: recLine, offset: recOffset, fields: undefined };
    const bytes = over ? undefined : parts.length === 1 ? parts[0]! : Buffer.concat(parts, recLen);
    const f = { starts, ends, quoted };
    parts = [];
    starts = [];
    ends = [];
    quoted = [];
    state = FIELD_START;
    const wasMalformed = malformed;
    malformed = undefined;
    if (over || bytes === undefined) {
      over = false;
      rec.reason = `record is ${formatSize(recLen)}, over the ${formatSize(max)} limit (maxRecordBytes)`;
      return rec;
    }
    // A CR before the LF ends the line, not the last field.
    const last = f.starts.length - 1;
    if (!f.quoted[last] && f.ends[last]! > f.starts[last]! && bytes[f.ends[last]! - 1] === 13) f.ends[last]!--;
    if (last === 0 && !f.quoted[0] && f.ends[0] === f.starts[0]) return undefined;
    if (wasMalformed !== undefined) {
      rec.reason = wasMalformed;
      return rec;
    }
    const decoded = decodeUtf8(bytes, opts.invalidUtf8);
    if ('badByte' in decoded) {
      rec.reason = `invalid UTF-8 at byte ${recOffset + decoded.badByte}`;
      return rec;
    }
    rec.fields = f.starts.map((s, k) => {
      const v = bytes.toString('utf8', s, f.ends[k]);
      return f.quoted[k] && v.includes('""') ? v.replaceAll('""', '"') : v;
    });
    return rec;
  };

  const skipped = (): void => {
    fileOffset = BOM.length;
    recOffset = BOM.length;
  };
  for await (const chunk of opts.from && opts.from.offset > 0 ? chunks : withoutBom(chunks, skipped)) {
    let segStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const pos = recLen + (i - segStart);
      let end = false;
      switch (state) {
        case FIELD_START:
          if (b === 34) {
            state = QUOTED;
            fieldStart = pos + 1;
          } else if (b === 44) field(pos, pos, false);
          else if (b === 10) {
            field(pos, pos, false);
            end = true;
          } else {
            state = UNQUOTED;
            fieldStart = pos;
          }
          break;
        case UNQUOTED:
        case MALFORMED:
          if (b === 44 || b === 10) {
            field(fieldStart, pos, false);
            state = FIELD_START;
            end = b === 10;
          }
          break;
        case QUOTED:
          if (b === 34) {
            state = AFTER_QUOTE;
            closeQuote = pos;
          }
          break;
        case AFTER_QUOTE:
          if (b === 34) state = QUOTED;
          else if (b === 44 || b === 10) {
            field(fieldStart, closeQuote, true);
            state = FIELD_START;
            end = b === 10;
          } else if (b !== 13) {
            malformed ??= `unexpected ${JSON.stringify(String.fromCharCode(b))} after a closing quote (a quote inside a quoted field must be doubled: "")`;
            state = MALFORMED;
          }
          break;
      }
      if (b === 10) line++;
      if (!end) continue;
      if (!over) parts.push(chunk.subarray(segStart, i));
      recLen += i - segStart;
      if (recLen > max) over = true;
      const rec = finish();
      if (rec !== undefined) yield { ...rec, next: { offset: fileOffset + i + 1, line } };
      recLen = 0;
      recLine = line;
      recOffset = fileOffset + i + 1;
      segStart = i + 1;
    }
    if (segStart < chunk.length) {
      if (!over) parts.push(chunk.subarray(segStart));
      recLen += chunk.length - segStart;
      if (recLen > max && !over) {
        over = true;
        parts = [];
      }
    }
    fileOffset += chunk.length;
  }

  if (state === QUOTED) {
    yield { line: recLine, offset: recOffset, fields: undefined, reason: 'a quoted field is never closed: the rest of the file was read as part of this record' };
    return;
  }
  if (recLen === 0 && starts.length === 0) return;
  if (state === AFTER_QUOTE) field(fieldStart, closeQuote, true);
  else if (state === FIELD_START) field(recLen, recLen, false);
  else field(fieldStart, recLen, false);
  const rec = finish();
  if (rec !== undefined) yield { ...rec, next: { offset: fileOffset, line } };
}

/** The chunks without a leading UTF-8 byte-order mark, however the first bytes are chunked. */
async function* withoutBom(chunks: AsyncIterable<Buffer>, skipped: () => void): AsyncGenerator<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of chunks) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) continue;
    const first: Buffer = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
    if (first !== head) skipped();
    head = undefined;
    if (first.length > 0) yield first;
  }
  if (head !== undefined && head.length > 0) yield head;
}
