/**
 * Documents looked up by where they came from (their `source` path), for source re-syncs.
 * One statement per call, whatever the number of documents.
 */
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
