/**
 * Writes into vector tables and the embedding cache. Cache hits are copied inside Postgres (no
 * vector leaves the database); fresh vectors arrive by binary COPY into a staging table and are
 * merged into the cache and the index in one transaction, idempotently.
 */
import type pg from 'pg';
import { withTransaction, type Db, type Queryable } from './db.ts';
import { copyBinary, encodeBinaryCopy, type Cell } from './copy-binary.ts';
import { quoteIdent } from './identifiers.ts';

/** Deletes the rows of `chunkIds` from a vector table (their text changed or they are gone). */
export async function deleteVectors(client: Queryable, table: string, chunkIds: string[]): Promise<number> {
  if (chunkIds.length === 0) return 0;
  const r = await client.query(`DELETE FROM ${quoteIdent(table)} WHERE chunk_id = ANY($1::bigint[])`, [chunkIds]);
  return r.rowCount ?? 0;
}

/**
 * For each (chunk, input hash) whose hash is in the cache, writes the cached vector into the
 * index table. Returns the chunk ids written (the rest are misses). One statement.
 */
export async function fillFromCache(db: Queryable, table: string, modelVersionId: number, items: { chunkId: string; inputHash: Buffer }[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const { rows } = await db.query<{ chunk_id: string }>(
    `INSERT INTO ${quoteIdent(table)} (chunk_id, model_version_id, input_hash, embedding)
     SELECT t.chunk_id, $1, t.h, e.embedding FROM unnest($2::bigint[], $3::bytea[]) AS t(chunk_id, h)
       JOIN embedding_cache e ON e.input_hash = t.h
     ON CONFLICT (chunk_id) DO UPDATE SET input_hash = EXCLUDED.input_hash, embedding = EXCLUDED.embedding
       WHERE ${quoteIdent(table)}.input_hash <> EXCLUDED.input_hash
     RETURNING chunk_id`,
    [modelVersionId, items.map((i) => i.chunkId), items.map((i) => i.inputHash)],
  );
  // A row already present with the same hash is not returned by ON CONFLICT … WHERE; it is a hit too.
  const written = new Set(rows.map((r) => r.chunk_id));
  if (written.size < items.length) {
    const { rows: present } = await db.query<{ chunk_id: string }>(
      `SELECT v.chunk_id FROM ${quoteIdent(table)} v JOIN unnest($1::bigint[], $2::bytea[]) AS t(chunk_id, h) ON v.chunk_id = t.chunk_id AND v.input_hash = t.h`,
      [items.map((i) => i.chunkId), items.map((i) => i.inputHash)],
    );
    for (const r of present) written.add(r.chunk_id);
  }
  return written;
}

export interface FreshVector {
  chunkId: string;
  inputHash: Buffer;
  /** The chunk's text hash when the vector was made: a row whose chunk changed since is not written. */
  textHash: Buffer;
  vector: Float32Array;
}

/**
 * Writes freshly embedded vectors to the cache and to the index table in one transaction:
 * binary COPY into a temp staging table, then two set-based merges. Replays change nothing.
 * Returns how many index rows were written.
 */
export async function writeFresh(db: Db, table: string, modelVersionId: number, rows: FreshVector[]): Promise<number> {
  if (rows.length === 0) return 0;
  const payload = encodeBinaryCopy(
    rows.map((r): Cell[] => [
      { t: 'int8', v: r.chunkId },
      { t: 'bytea', v: r.inputHash },
      { t: 'bytea', v: r.textHash },
      { t: 'vector', v: r.vector },
    ]),
  );
  return withTransaction(db, async (client) => {
    await stage(client, payload);
    await client.query(
      `INSERT INTO embedding_cache (input_hash, model_version_id, embedding)
       SELECT DISTINCT ON (input_hash) input_hash, $1, embedding FROM embedq_stage
       ON CONFLICT (input_hash) DO NOTHING`,
      [modelVersionId],
    );
    const r = await client.query(
      `INSERT INTO ${quoteIdent(table)} (chunk_id, model_version_id, input_hash, embedding)
       SELECT s.chunk_id, $1, s.input_hash, s.embedding FROM embedq_stage s
         JOIN chunks c ON c.id = s.chunk_id AND c.text_hash = s.text_hash
       ON CONFLICT (chunk_id) DO UPDATE SET input_hash = EXCLUDED.input_hash, embedding = EXCLUDED.embedding
         WHERE ${quoteIdent(table)}.input_hash <> EXCLUDED.input_hash`,
      [modelVersionId],
    );
    return r.rowCount ?? 0;
  });
}

async function stage(client: pg.PoolClient, payload: Buffer): Promise<void> {
  // A temp table lives as long as the pooled connection; ON COMMIT DELETE ROWS empties it per batch.
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS embedq_stage (chunk_id bigint, input_hash bytea, text_hash bytea, embedding vector) ON COMMIT DELETE ROWS`,
  );
  await copyBinary(client, 'embedq_stage', payload);
}

export interface SearchHit {
  chunkId: string;
  docId: string;
  source: string;
  ordinal: number;
  score: number;
  text: string;
}

/** k nearest chunks by cosine distance (HNSW when built, exact scan before). */
export async function searchVectors(db: Db, table: string, dims: number, query: Float32Array, k: number, tenant?: string): Promise<SearchHit[]> {
  const literal = `[${Array.from(query).join(',')}]`;
  const cast = dims > 2000 ? `halfvec(${dims})` : `vector(${dims})`;
  return withTransaction(db, async (client) => {
    await client.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(40, k * 2))}`);
    const { rows } = await client.query<{ chunk_id: string; doc_id: string; source: string; ordinal: number; score: number; text: string }>(
      `SELECT v.chunk_id, c.doc_id, d.source, c.ordinal, 1 - (v.embedding <=> $1::${cast}) AS score, c.text
         FROM (SELECT chunk_id, embedding FROM ${quoteIdent(table)} ORDER BY embedding <=> $1::${cast} LIMIT $2) v
         JOIN chunks c ON c.id = v.chunk_id
         JOIN documents d ON d.index_id = c.index_id AND d.tenant = c.tenant AND d.doc_id = c.doc_id
        WHERE $3::text IS NULL OR c.tenant = $3
        ORDER BY v.embedding <=> $1::${cast}`,
      [literal, k, tenant ?? null],
    );
    return rows.map((r) => ({ chunkId: r.chunk_id, docId: r.doc_id, source: r.source, ordinal: r.ordinal, score: Number(r.score), text: r.text }));
  });
}
