/**
 * Reads of the embedding cache, and the gateway's writes to it (ingest's writes go with the index
 * rows, in vectors.ts).
 */
import { decodeVectorBinary, encodeVectorBinary } from './copy-binary.ts';
import type { Queryable } from './db.ts';

/** Which of `hashes` the cache holds, as hex strings. One statement. */
export async function cachedInputHashes(db: Queryable, hashes: Buffer[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const { rows } = await db.query<{ input_hash: Buffer }>(`SELECT input_hash FROM embedding_cache WHERE input_hash = ANY($1::bytea[])`, [hashes]);
  return new Set(rows.map((r) => r.input_hash.toString('hex')));
}

/** The cached vectors of `hashes`, by hex hash, each exactly as stored. One statement. */
export async function cachedVectors(db: Queryable, hashes: readonly Buffer[]): Promise<Map<string, Float32Array>> {
  if (hashes.length === 0) return new Map();
  const { rows } = await db.query<{ input_hash: Buffer; v: Buffer }>(`SELECT input_hash, vector_send(embedding) AS v FROM embedding_cache WHERE input_hash = ANY($1::bytea[])`, [hashes]);
  return new Map(rows.map((r) => [r.input_hash.toString('hex'), decodeVectorBinary(r.v)]));
}

/** Rows per cache INSERT: two parameters each, under Postgres' 65,535 per statement. */
const CACHE_ROWS_PER_STATEMENT = 8192;

/**
 * Adds vectors to the cache (`model_version_id` names their version); a hash already there is
 * kept as it is, so two requests that embedded the same text write it once. One statement per
 * 8,192 rows, each vector a binary parameter (pgvector's own form): on this machine a fifth of the
 * server time of sending them as text (BENCHMARKS.md, "Gateway").
 */
export async function addToCache(db: Queryable, modelVersionId: number, rows: readonly { inputHash: Buffer; vector: Float32Array }[]): Promise<void> {
  for (let start = 0; start < rows.length; start += CACHE_ROWS_PER_STATEMENT) {
    const part = rows.slice(start, start + CACHE_ROWS_PER_STATEMENT);
    await db.query(
      `INSERT INTO embedding_cache (input_hash, model_version_id, embedding)
       VALUES ${part.map((_, i) => `($${2 * i + 2}::bytea, $1::int, $${2 * i + 3}::vector)`).join(', ')}
       ON CONFLICT (input_hash) DO NOTHING`,
      [modelVersionId, ...part.flatMap((r) => [r.inputHash, encodeVectorBinary(r.vector)])],
    );
  }
}
