/**
 * Records handed to the programmatic API (`ingest(records)`) packed into ingest jobs as they
 * stream in: nothing is held beyond the pack being filled, so an app can index a table of any
 * size from its own database. Each record is checked by the same rules as a JSONL line
 * (recordFromValue), and must have an id: its id is the document id, so that ingesting the
 * record again updates it instead of adding it twice.
 */
import { recordFromValue } from '../corpus/readers/jsonl.ts';
import { RECORDS_JOB_BYTES, RECORDS_PER_JOB, type InlineRecord } from './types.ts';

/** What an app passes: `{ id, text, metadata? }` objects, synchronously or asynchronously iterable. */
export type RecordInput = Iterable<unknown> | AsyncIterable<unknown>;

export interface RecordPack {
  records: InlineRecord[];
  rejected: { path: string; reason: string }[];
}

const FIELDS = { id: 'id', text: 'text', metadata: 'metadata' };

/**
 * The records as packs of at most {@link RECORDS_PER_JOB} records and about
 * {@link RECORDS_JOB_BYTES} bytes, each with the rejections met since the previous pack (path
 * `<label>:<n>`, n counting records from 1). The last pack may hold rejections only.
 */
export async function* packRecords(input: RecordInput, label: string): AsyncGenerator<RecordPack> {
  let pack: RecordPack = { records: [], rejected: [] };
  let bytes = 0;
  let n = 0;
  for await (const value of input as AsyncIterable<unknown>) {
    n++;
    const at = `${label}:${n}`;
    const r = recordFromValue(value, FIELDS, (reason) => ({ reject: reason }));
    if ('reject' in r || r.id === undefined) {
      pack.rejected.push({ path: at, reason: `record ${n}: ${'reject' in r ? r.reject : 'missing field "id": a record needs an id (a string or number), its document id'}` });
      continue;
    }
    const record: InlineRecord = { id: r.id, text: r.text, ...(r.metadata ? { metadata: r.metadata } : {}) };
    const size = Buffer.byteLength(JSON.stringify(record));
    if (size > RECORDS_JOB_BYTES) {
      pack.rejected.push({ path: at, reason: `record ${n} (id ${JSON.stringify(r.id)}): ${size} bytes, over the ${RECORDS_JOB_BYTES} a record may have` });
      continue;
    }
    if (pack.records.length > 0 && (pack.records.length >= RECORDS_PER_JOB || bytes + size > RECORDS_JOB_BYTES)) {
      yield pack;
      pack = { records: [], rejected: [] };
      bytes = 0;
    }
    pack.records.push(record);
    bytes += size;
  }
  if (pack.records.length > 0 || pack.rejected.length > 0) yield pack;
}
