/**
 * Writes into vector tables and the embedding cache. Cache hits are copied inside Postgres (no
 * vector leaves the database); fresh vectors arrive by one binary COPY and reach the cache and
 * the index in one transaction, idempotently (see writeFresh).
 */
import type pg from 'pg';
import { withTransaction, type Db, type Queryable } from './db.ts';
import { copyBinary, encodeBinaryCopy, type Cell } from './copy-binary.ts';
import { quoteIdent } from './identifiers.ts';
import { inSpan } from '../telemetry.ts';
import { vectorColumnType, vectorStorage } from './vector-type.ts';

/** Deletes the rows of `chunkIds` from a vector table (their text changed or they are gone). */
export async function deleteVectors(client: Queryable, table: string, chunkIds: string[]): Promise<number> {
  if (chunkIds.length === 0) return 0;
  const r = await client.query(`DELETE FROM ${quoteIdent(table)} WHERE chunk_id = ANY($1::bigint[])`, [chunkIds]);
  return r.rowCount ?? 0;
}

/**
 * For each (chunk, input hash) whose hash is in the cache, writes the cached vector into the
 * index table (with its chunk's tenant; a chunk gone meanwhile is skipped). Returns the chunk
 * ids that are hits (the rest are misses). One statement.
 */
export async function fillFromCache(db: Queryable, table: string, modelVersionId: number, items: { chunkId: string; inputHash: Buffer }[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  return inSpan('cache lookup', { kind: 'client', attributes: { ...DB_ATTRS, 'db.operation.name': 'INSERT', 'db.collection.name': table, 'embedq.inputs': items.length } }, async (span) => {
    const hits = await cacheFill(db, table, modelVersionId, items);
    span.set({ 'embedq.cache_hits': hits.size });
    return hits;
  });
}

/** Span attributes of our Postgres statements (the OpenTelemetry database conventions). */
const DB_ATTRS = { 'db.system.name': 'postgresql' } as const;

async function cacheFill(db: Queryable, table: string, modelVersionId: number, items: { chunkId: string; inputHash: Buffer }[]): Promise<Set<string>> {
  // Every chunk whose hash is cached is a hit: written now, or already present with that hash.
  // The cache stores `vector`; an index above 2,000 dims stores `halfvec`: the insert casts.
  const { rows } = await db.query<{ chunk_id: string }>(
    `WITH hit AS (
       SELECT t.chunk_id, t.h, e.embedding FROM unnest($2::bigint[], $3::bytea[]) AS t(chunk_id, h)
         JOIN embedding_cache e ON e.input_hash = t.h),
     written AS (
       INSERT INTO ${quoteIdent(table)} (chunk_id, tenant, model_version_id, input_hash, embedding)
       SELECT hit.chunk_id, c.tenant, $1, hit.h, hit.embedding FROM hit JOIN chunks c ON c.id = hit.chunk_id
       ON CONFLICT (chunk_id) DO UPDATE SET input_hash = EXCLUDED.input_hash, embedding = EXCLUDED.embedding
         WHERE ${quoteIdent(table)}.input_hash <> EXCLUDED.input_hash)
     SELECT chunk_id FROM hit`,
    [modelVersionId, items.map((i) => i.chunkId), items.map((i) => i.inputHash)],
  );
  return new Set(rows.map((r) => r.chunk_id));
}

export interface FreshVector {
  chunkId: string;
  /** The chunk's tenant, as read from its row (vector tables carry it for tenant-scoped search). */
  tenant: string;
  inputHash: Buffer;
  /** The chunk's text hash when the vector was made: a row whose chunk changed since is not written. */
  textHash: Buffer;
  vector: Float32Array;
}

/**
 * Writes freshly embedded vectors to the cache and to the index table in one transaction.
 *
 * The common case (nothing there yet) is one binary COPY into the index table, the fastest way
 * into Postgres, and the cache rows filled from it by one INSERT … SELECT inside Postgres, so each
 * vector crosses the wire once (a halfvec index table, which cannot give full precision back,
 * sends the cache its own COPY). An index COPY that meets an existing key (a replay after a
 * crash, or another worker that embedded the same text) is rolled back to its savepoint and
 * redone through a staging table with set-based merges, so replays change nothing. Rows whose
 * chunk changed or vanished since the texts were read leave the index before commit; their
 * vectors stay in the cache.
 * Returns how many index rows were written.
 */
export function writeFresh(db: Db, table: string, modelVersionId: number, rows: FreshVector[]): Promise<number> {
  if (rows.length === 0) return Promise.resolve(0);
  return inSpan('write vectors', { kind: 'client', attributes: { ...DB_ATTRS, 'db.operation.name': 'COPY', 'db.collection.name': table, 'embedq.inputs': rows.length } }, () => freshWrite(db, table, modelVersionId, rows));
}

async function freshWrite(db: Db, table: string, modelVersionId: number, rows: FreshVector[]): Promise<number> {
  // The cache stores `vector`; the index table `vector(n)` or, above 2,000 dims, `halfvec(n)`.
  const storage = vectorStorage(rows[0]!.vector.length);
  const indexPayload = encodeBinaryCopy(
    rows.map((r): Cell[] => [
      { t: 'int8', v: r.chunkId },
      { t: 'text', v: r.tenant },
      { t: 'int4', v: modelVersionId },
      { t: 'bytea', v: r.inputHash },
      { t: storage, v: r.vector },
    ]),
  );
  const target = quoteIdent(table);
  return withTransaction(db, async (client) => {
    if (await copyUnlessConflict(client, `${target} (chunk_id, tenant, model_version_id, input_hash, embedding)`, indexPayload)) {
      // The common case. A full-precision index table feeds the cache inside Postgres, so each
      // vector crosses the wire once; a halfvec one cannot (the cache keeps full precision).
      if (storage === 'vector')
        await client.query(
          `INSERT INTO embedding_cache (input_hash, model_version_id, embedding)
           SELECT DISTINCT ON (v.input_hash) v.input_hash, $1, v.embedding FROM ${target} v WHERE v.chunk_id = ANY($2::bigint[])
           ON CONFLICT (input_hash) DO NOTHING`,
          [modelVersionId, rows.map((r) => r.chunkId)],
        );
      else await cacheFromPayload(client, modelVersionId, rows);
      const gone = await client.query(
        `DELETE FROM ${target} v USING unnest($1::bigint[], $2::bytea[]) AS t(chunk_id, text_hash)
          WHERE v.chunk_id = t.chunk_id AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = t.chunk_id AND c.text_hash = t.text_hash)`,
        [rows.map((r) => r.chunkId), rows.map((r) => r.textHash)],
      );
      return rows.length - (gone.rowCount ?? 0);
    }
    // A replay, or another worker that wrote some of these chunks: set-based merges from a staging table.
    await stage(client, stagePayload(rows));
    await cacheFromStage(client, modelVersionId);
    const r = await client.query(
      `INSERT INTO ${target} (chunk_id, tenant, model_version_id, input_hash, embedding)
       SELECT s.chunk_id, c.tenant, $1, s.input_hash, s.embedding FROM embedq_stage s
         JOIN chunks c ON c.id = s.chunk_id AND c.text_hash = s.text_hash
       ON CONFLICT (chunk_id) DO UPDATE SET input_hash = EXCLUDED.input_hash, embedding = EXCLUDED.embedding
         WHERE ${target}.input_hash <> EXCLUDED.input_hash`,
      [modelVersionId],
    );
    return r.rowCount ?? 0;
  });
}

/** The cache rows of `rows` from their own vectors (a halfvec index cannot give full precision back). */
async function cacheFromPayload(client: pg.PoolClient, modelVersionId: number, rows: FreshVector[]): Promise<void> {
  await stage(client, stagePayload(rows));
  await cacheFromStage(client, modelVersionId);
}

/** Adds the staged vectors to the cache, one row per input hash; a hash already there is kept. */
async function cacheFromStage(client: pg.PoolClient, modelVersionId: number): Promise<void> {
  await client.query(
    `INSERT INTO embedding_cache (input_hash, model_version_id, embedding)
     SELECT DISTINCT ON (input_hash) input_hash, $1, embedding FROM embedq_stage
     ON CONFLICT (input_hash) DO NOTHING`,
    [modelVersionId],
  );
}

/** COPY inside a savepoint; false (and rolled back) when a row's key already exists. */
async function copyUnlessConflict(client: pg.PoolClient, target: string, payload: Buffer): Promise<boolean> {
  await client.query('SAVEPOINT embedq_copy');
  try {
    await copyBinary(client, target, payload);
    await client.query('RELEASE SAVEPOINT embedq_copy');
    return true;
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e;
    await client.query('ROLLBACK TO SAVEPOINT embedq_copy');
    return false;
  }
}

function stagePayload(rows: FreshVector[]): Buffer {
  return encodeBinaryCopy(
    rows.map((r): Cell[] => [
      { t: 'int8', v: r.chunkId },
      { t: 'bytea', v: r.inputHash },
      { t: 'bytea', v: r.textHash },
      { t: 'vector', v: r.vector },
    ]),
  );
}

async function stage(client: pg.PoolClient, payload: Buffer): Promise<void> {
  // A temp table lives as long as the pooled connection; ON COMMIT DELETE ROWS empties it per batch.
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS embedq_stage (chunk_id bigint, input_hash bytea, text_hash bytea, embedding vector) ON COMMIT DELETE ROWS`,
  );
  await client.query('TRUNCATE embedq_stage');
  await copyBinary(client, 'embedq_stage', payload);
}

export interface SearchHit {
  chunkId: string;
  tenant: string;
  docId: string;
  source: string;
  ordinal: number;
  score: number;
  text: string;
  /** The document's metadata (a JSONL record's metadata object, a CSV row's columns), or null. */
  metadata: Record<string, unknown> | null;
}

/**
 * A metadata filter: every entry must hold, and an entry holds when the document's metadata has
 * the key with one of the values (JSON values, compared by type: `"2024"` and `2024` differ).
 */
export type MetadataFilter = readonly { key: string; values: readonly unknown[] }[];

export interface SearchOptions {
  /** pgvector's `hnsw.max_scan_tuples` for an iterative scan (tenant or filter). @default pgvector's (20,000) */
  maxScanTuples?: number;
  /** Only chunks of documents whose metadata matches, applied inside the nearest-neighbour scan. */
  filter?: MetadataFilter;
}

/**
 * The k nearest chunks of one tenant (or, with `tenant` null, of every tenant) by cosine distance,
 * optionally only of documents whose metadata matches `opts.filter`.
 *
 * The tenant and metadata conditions run inside the ordered scan, not after its LIMIT: without
 * HNSW that is an exact scan of the matching rows; with HNSW, pgvector's iterative index scan
 * (relaxed order, re-ordered here) goes on past ef_search until k matching rows are found. If it
 * stops short (after `hnsw.max_scan_tuples`, when matching rows are rare among the nearest), the
 * matching rows are scanned exactly instead (by the tenant index and the metadata GIN index), so
 * a search always gets min(k, matching chunks) results.
 */
export async function searchVectors(db: Db, table: string, dims: number, query: Float32Array, k: number, tenant: string | null, opts: SearchOptions = {}): Promise<SearchHit[]> {
  const literal = `[${Array.from(query).join(',')}]`;
  const params: unknown[] = [literal, k];
  const where: string[] = [];
  if (tenant !== null) where.push(`v.tenant = $${params.push(tenant)}`);
  if (opts.filter?.length) where.push(metadataCondition(opts.filter, params));
  const sql = nearestSql(quoteIdent(table), vectorColumnType(dims), where);
  const filtered = where.length > 0;
  return withTransaction(db, async (client) => {
    await client.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(40, k * 2))}`);
    if (filtered) {
      await client.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
      if (opts.maxScanTuples !== undefined) await client.query(`SET LOCAL hnsw.max_scan_tuples = ${Math.max(1, Math.floor(opts.maxScanTuples))}`);
    }
    let { rows } = await client.query<HitRow>(sql, params);
    if (filtered && rows.length < k) {
      // HNSW has no bitmap scan: with index scans off, the matching rows are found by bitmap scans and sorted exactly.
      await client.query('SET LOCAL enable_indexscan = off');
      ({ rows } = await client.query<HitRow>(sql, params));
    }
    return rows.map((r) => ({ chunkId: r.chunk_id, tenant: r.tenant, docId: r.doc_id, source: r.source, ordinal: r.ordinal, score: Number(r.score), text: r.text, metadata: r.metadata }));
  });
}

interface HitRow {
  chunk_id: string;
  tenant: string;
  doc_id: string;
  source: string;
  ordinal: number;
  score: number;
  text: string;
  metadata: Record<string, unknown> | null;
}

/** The SQL condition of a metadata filter on vector row `v`: containment (`@>`, served by the GIN index), values as parameters. */
function metadataCondition(filter: MetadataFilter, params: unknown[]): string {
  const terms = filter.map(({ key, values }) => {
    if (values.length === 0) return 'false';
    return `(${values.map((value) => `d.metadata @> $${params.push(JSON.stringify({ [key]: value }))}::jsonb`).join(' OR ')})`;
  });
  return `EXISTS (SELECT 1 FROM chunks c JOIN documents d ON d.index_id = c.index_id AND d.tenant = c.tenant AND d.doc_id = c.doc_id
                  WHERE c.id = v.chunk_id AND ${terms.join(' AND ')})`;
}

function nearestSql(table: string, cast: string, where: string[]): string {
  // MATERIALIZED keeps the LIMIT on the vector scan; the outer ORDER BY re-orders a relaxed-order scan.
  return `WITH nearest AS MATERIALIZED (
      SELECT v.chunk_id, v.embedding <=> $1::${cast} AS distance FROM ${table} v
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY v.embedding <=> $1::${cast} LIMIT $2)
    SELECT n.chunk_id, c.tenant, c.doc_id, d.source, c.ordinal, 1 - n.distance AS score, c.text, d.metadata
      FROM nearest n
      JOIN chunks c ON c.id = n.chunk_id
      JOIN documents d ON d.index_id = c.index_id AND d.tenant = c.tenant AND d.doc_id = c.doc_id
     ORDER BY n.distance, n.chunk_id`;
}

/** Deletes the cache entries of model versions no live index uses (none but dropped ones). Returns how many. */
export async function deleteUnusedCache(db: Queryable): Promise<number> {
  const r = await db.query(
    `DELETE FROM embedding_cache c USING model_versions mv
      WHERE mv.id = c.model_version_id AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE v.model_version_id = mv.id AND v.state <> 'dropped')`,
  );
  return r.rowCount ?? 0;
}
