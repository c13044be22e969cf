/**
 * Documents and chunks, written a page at a time: one statement per page for each step
 * (arrays through unnest), never one per chunk.
 */
import type pg from 'pg';
import type { Queryable } from './db.ts';
import { quoteIdent } from './identifiers.ts';

export interface DocRow {
  docId: string;
  source: string;
  contentHash: Buffer;
  chunkCount: number;
  metadata: Record<string, unknown> | null;
}

export interface ChunkRow {
  docId: string;
  ordinal: number;
  text: string;
  textHash: Buffer;
  charStart: number;
  charEnd: number;
  tokens: number;
}

/**
 * The given documents that are already stored: content hash, whether each has metadata, and,
 * with `vecTable` (a quoted identifier), whether any of its chunks has no row there (an earlier
 * run was interrupted between storing chunks and their vectors). One statement.
 */
export async function storedContentHashes(
  db: Queryable,
  indexId: number,
  tenant: string,
  docIds: string[],
  vecTable?: string,
): Promise<Map<string, { hash: Buffer; hasMetadata: boolean; missingVectors: boolean }>> {
  const missing = vecTable
    ? `EXISTS (SELECT 1 FROM chunks c WHERE c.index_id = d.index_id AND c.tenant = d.tenant AND c.doc_id = d.doc_id
                 AND NOT EXISTS (SELECT 1 FROM ${vecTable} v WHERE v.chunk_id = c.id))`
    : 'false';
  const { rows } = await db.query<{ doc_id: string; content_hash: Buffer; has_metadata: boolean; missing: boolean }>(
    `SELECT d.doc_id, d.content_hash, d.metadata IS NOT NULL AS has_metadata, ${missing} AS missing
       FROM documents d WHERE d.index_id = $1 AND d.tenant = $2 AND d.doc_id = ANY($3::text[])`,
    [indexId, tenant, docIds],
  );
  return new Map(rows.map((r) => [r.doc_id, { hash: r.content_hash, hasMetadata: r.has_metadata, missingVectors: r.missing }]));
}

/**
 * Sets the metadata of stored documents whose text is unchanged (a record's metadata edited in
 * place); rows whose metadata is already that are not written. Returns how many changed. One statement.
 */
export async function updateMetadata(db: Queryable, indexId: number, tenant: string, docs: { docId: string; metadata: Record<string, unknown> | null }[]): Promise<number> {
  if (docs.length === 0) return 0;
  const r = await db.query(
    `UPDATE documents d SET metadata = u.metadata, updated_at = now()
       FROM unnest($3::text[], $4::jsonb[]) AS u(doc_id, metadata)
      WHERE d.index_id = $1 AND d.tenant = $2 AND d.doc_id = u.doc_id AND d.metadata IS DISTINCT FROM u.metadata`,
    [indexId, tenant, docs.map((d) => d.docId), docs.map((d) => (d.metadata ? JSON.stringify(d.metadata) : null))],
  );
  return r.rowCount ?? 0;
}

export async function upsertDocuments(client: pg.PoolClient, indexId: number, tenant: string, docs: DocRow[]): Promise<void> {
  if (docs.length === 0) return;
  await client.query(
    `INSERT INTO documents (index_id, tenant, doc_id, source, content_hash, chunk_count, metadata)
     SELECT $1, $2, d.doc_id, d.source, d.content_hash, d.chunk_count, d.metadata
       FROM unnest($3::text[], $4::text[], $5::bytea[], $6::int[], $7::jsonb[]) AS d(doc_id, source, content_hash, chunk_count, metadata)
     ON CONFLICT (index_id, tenant, doc_id) DO UPDATE
       SET source = EXCLUDED.source, content_hash = EXCLUDED.content_hash, chunk_count = EXCLUDED.chunk_count,
           metadata = EXCLUDED.metadata, updated_at = now()`,
    [
      indexId,
      tenant,
      docs.map((d) => d.docId),
      docs.map((d) => d.source),
      docs.map((d) => d.contentHash),
      docs.map((d) => d.chunkCount),
      docs.map((d) => (d.metadata ? JSON.stringify(d.metadata) : null)),
    ],
  );
}

/**
 * Upserts chunks by (doc, ordinal). Returns the chunks whose text is new or changed: their old
 * vectors (if any) are stale and must go.
 */
export async function upsertChunks(client: pg.PoolClient, indexId: number, tenant: string, chunks: ChunkRow[]): Promise<{ id: string; docId: string; ordinal: number }[]> {
  if (chunks.length === 0) return [];
  const { rows } = await client.query<{ id: string; doc_id: string; ordinal: number }>(
    `INSERT INTO chunks (index_id, tenant, doc_id, ordinal, text, text_hash, char_start, char_end, tokens)
     SELECT $1, $2, c.* FROM unnest($3::text[], $4::int[], $5::text[], $6::bytea[], $7::int[], $8::int[], $9::int[])
            AS c(doc_id, ordinal, text, text_hash, char_start, char_end, tokens)
     ON CONFLICT (index_id, tenant, doc_id, ordinal) DO UPDATE
       SET text = EXCLUDED.text, text_hash = EXCLUDED.text_hash, char_start = EXCLUDED.char_start,
           char_end = EXCLUDED.char_end, tokens = EXCLUDED.tokens, updated_at = now()
       WHERE chunks.text_hash <> EXCLUDED.text_hash
     RETURNING id, doc_id, ordinal`,
    [
      indexId,
      tenant,
      chunks.map((c) => c.docId),
      chunks.map((c) => c.ordinal),
      chunks.map((c) => c.text),
      chunks.map((c) => c.textHash),
      chunks.map((c) => c.charStart),
      chunks.map((c) => c.charEnd),
      chunks.map((c) => c.tokens),
    ],
  );
  return rows.map((r) => ({ id: r.id, docId: r.doc_id, ordinal: r.ordinal }));
}

/** Deletes chunks past each document's new chunk count; returns their ids. */
export async function trimChunks(client: pg.PoolClient, indexId: number, tenant: string, docs: { docId: string; chunkCount: number }[]): Promise<string[]> {
  if (docs.length === 0) return [];
  const { rows } = await client.query<{ id: string }>(
    `DELETE FROM chunks c USING unnest($3::text[], $4::int[]) AS t(doc_id, n)
      WHERE c.index_id = $1 AND c.tenant = $2 AND c.doc_id = t.doc_id AND c.ordinal >= t.n
      RETURNING c.id`,
    [indexId, tenant, docs.map((d) => d.docId), docs.map((d) => d.chunkCount)],
  );
  return rows.map((r) => r.id);
}

/** Chunk ids (with doc id and ordinal) of the given documents that have no row in `vecTable`. */
export async function chunksWithoutVectors(
  db: Queryable,
  vecTable: string,
  indexId: number,
  tenant: string,
  docIds: string[],
): Promise<{ id: string; docId: string; ordinal: number }[]> {
  if (docIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; doc_id: string; ordinal: number }>(
    `SELECT c.id, c.doc_id, c.ordinal FROM chunks c
      WHERE c.index_id = $1 AND c.tenant = $2 AND c.doc_id = ANY($3::text[])
        AND NOT EXISTS (SELECT 1 FROM ${vecTable} v WHERE v.chunk_id = c.id)`,
    [indexId, tenant, docIds],
  );
  return rows.map((r) => ({ id: r.id, docId: r.doc_id, ordinal: r.ordinal }));
}

/** Texts of chunks by id (for embed jobs, which carry ids and hashes, never texts). */
export async function chunkTexts(db: Queryable, ids: string[]): Promise<Map<string, { tenant: string; text: string; textHash: Buffer; tokens: number }>> {
  const { rows } = await db.query<{ id: string; tenant: string; text: string; text_hash: Buffer; tokens: number }>(
    `SELECT id, tenant, text, text_hash, tokens FROM chunks WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { tenant: r.tenant, text: r.text, textHash: r.text_hash, tokens: r.tokens }]));
}

/**
 * Removes documents (gone from their source) with their chunks and their vectors in every given
 * vector table, in one transaction.
 */
export async function deleteDocuments(client: pg.PoolClient, indexId: number, tenant: string, docIds: string[], vectorTables: string[]): Promise<number> {
  if (docIds.length === 0) return 0;
  const { rows } = await client.query<{ id: string }>(
    `DELETE FROM chunks WHERE index_id = $1 AND tenant = $2 AND doc_id = ANY($3::text[]) RETURNING id`,
    [indexId, tenant, docIds],
  );
  const ids = rows.map((r) => r.id);
  for (const t of vectorTables) await client.query(`DELETE FROM ${quoteIdent(t)} WHERE chunk_id = ANY($1::bigint[])`, [ids]);
  const r = await client.query(`DELETE FROM documents WHERE index_id = $1 AND tenant = $2 AND doc_id = ANY($3::text[])`, [indexId, tenant, docIds]);
  return r.rowCount ?? 0;
}
