/**
 * Documents looked up by where they came from (their `source` path), for source re-syncs.
 * One statement per call, whatever the number of documents.
 */
import type pg from 'pg';
import type { Queryable } from './db.ts';

/**
 * Stored documents of an index and tenant whose source file is gone: the source lies under one
 * of `roots` (the root itself, or root + `/` + …, never a sibling such as `docs2` for `docs`), is
 * not in `present` (the files read this time), and is not under one of `keep` (paths that could
 * not be read this time: what lies below them is unknown, so it stays).
 */
export async function vanishedDocuments(
  db: Queryable,
  indexId: number,
  tenant: string,
  o: { roots: string[]; present: string[]; keep: string[] },
): Promise<{ docId: string; source: string }[]> {
  if (o.roots.length === 0) return [];
  const { rows } = await db.query<{ doc_id: string; source: string }>(
    `SELECT d.doc_id, d.source FROM documents d
      WHERE d.index_id = $1 AND d.tenant = $2
        AND EXISTS (SELECT 1 FROM unnest($3::text[]) r WHERE d.source = r OR starts_with(d.source, rtrim(r, '/') || '/'))
        AND NOT d.source = ANY($4::text[])
        AND NOT EXISTS (SELECT 1 FROM unnest($5::text[]) k WHERE d.source = k OR starts_with(d.source, rtrim(k, '/') || '/'))`,
    [indexId, tenant, o.roots, o.present, o.keep],
  );
  return rows.map((r) => ({ docId: r.doc_id, source: r.source }));
}

/**
 * Of the candidate old ids, those stored for a document with the same source (an index written
 * by an older embedq, see docs/ingest.md), each with the id it should have now and whether a
 * document under that id is stored too.
 */
export async function findLegacyDocuments(
  db: Queryable,
  indexId: number,
  tenant: string,
  candidates: { oldId: string; source: string; newId: string }[],
): Promise<{ oldId: string; newId: string; newStored: boolean }[]> {
  if (candidates.length === 0) return [];
  const { rows } = await db.query<{ old_id: string; new_id: string; new_stored: boolean }>(
    `SELECT c.old_id, c.new_id, EXISTS (SELECT 1 FROM documents n WHERE n.index_id = $1 AND n.tenant = $2 AND n.doc_id = c.new_id) AS new_stored
       FROM unnest($3::text[], $4::text[], $5::text[]) AS c(old_id, source, new_id)
       JOIN documents d ON d.index_id = $1 AND d.tenant = $2 AND d.doc_id = c.old_id AND d.source = c.source`,
    [indexId, tenant, candidates.map((c) => c.oldId), candidates.map((c) => c.source), candidates.map((c) => c.newId)],
  );
  return rows.map((r) => ({ oldId: r.old_id, newId: r.new_id, newStored: r.new_stored }));
}

/**
 * Gives documents new ids in place: the document row moves, its chunks (and with their ids, their
 * vectors) stay, so nothing is embedded again. Three set-based statements, in the caller's transaction.
 */
export async function renameDocuments(client: pg.PoolClient, indexId: number, tenant: string, renames: { oldId: string; newId: string }[]): Promise<void> {
  if (renames.length === 0) return;
  const args = [indexId, tenant, renames.map((r) => r.oldId), renames.map((r) => r.newId)];
  await client.query(
    `INSERT INTO documents (index_id, tenant, doc_id, source, content_hash, chunk_count, metadata, updated_at)
     SELECT d.index_id, d.tenant, r.new_id, d.source, d.content_hash, d.chunk_count, d.metadata, d.updated_at
       FROM unnest($3::text[], $4::text[]) AS r(old_id, new_id)
       JOIN documents d ON d.index_id = $1 AND d.tenant = $2 AND d.doc_id = r.old_id
     ON CONFLICT (index_id, tenant, doc_id) DO NOTHING`,
    args,
  );
  await client.query(
    `UPDATE chunks c SET doc_id = r.new_id FROM unnest($3::text[], $4::text[]) AS r(old_id, new_id)
      WHERE c.index_id = $1 AND c.tenant = $2 AND c.doc_id = r.old_id`,
    args,
  );
  await client.query(`DELETE FROM documents WHERE index_id = $1 AND tenant = $2 AND doc_id = ANY($3::text[])`, args.slice(0, 3));
}
