/** Reads of the embedding cache (its writes go with the index rows, in vectors.ts). */
import type { Queryable } from './db.ts';

/** Which of `hashes` the cache holds, as hex strings. One statement. */
export async function cachedInputHashes(db: Queryable, hashes: Buffer[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const { rows } = await db.query<{ input_hash: Buffer }>(`SELECT input_hash FROM embedding_cache WHERE input_hash = ANY($1::bytea[])`, [hashes]);
  return new Set(rows.map((r) => r.input_hash.toString('hex')));
}
