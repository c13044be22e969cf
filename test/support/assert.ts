/**
 * The counts and sums tests assert on, read from a test's schema:
 *
 *   expect(await countRows(ctx, 'embedding_cache')).toBe(3);
 *   expect(await vectorCount(ctx, 'docs')).toBe(r.chunks);
 */
import type { Context } from '../../src/context.ts';
import { getIndex } from '../../src/store/indexes.ts';

/** Rows of `table` (the test's own names, or a `vec_…` table), those matching `where` if given ($n params). */
export async function countRows(ctx: Context, table: string, where?: string, params: unknown[] = []): Promise<number> {
  const { rows } = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}${where ? ` WHERE ${where}` : ''}`, params);
  return rows[0]!.n;
}

/** Vectors in the live table of index `name`. */
export async function vectorCount(ctx: Context, name: string): Promise<number> {
  return countRows(ctx, (await getIndex(ctx.db, name))!.live.tableName);
}

/** Vectors in `table` whose chunk no longer exists. */
export async function orphanVectors(ctx: Context, table: string): Promise<number> {
  return countRows(ctx, `${table} v`, 'NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)');
}

/** Sums of ledger columns over the rows matching `where`; a column no row matched sums to null. */
export async function ledgerSums(ctx: Context, where: string): Promise<{ inputs: number | null; tokens: number | null; costUsd: number | null; savedUsd: number | null }> {
  const { rows } = await ctx.db.query(
    `SELECT sum(inputs)::int AS inputs, sum(tokens)::int AS tokens, sum(cost_usd)::float AS "costUsd", sum(saved_usd)::float AS "savedUsd" FROM ledger WHERE ${where}`,
  );
  return rows[0];
}

/** Every stored document id, sorted. */
export async function docIds(ctx: Context): Promise<string[]> {
  return (await ctx.db.query<{ doc_id: string }>(`SELECT doc_id FROM documents ORDER BY doc_id`)).rows.map((r) => r.doc_id);
}

/**
 * Chunks of index `a` (tenant 'a') paired with the same document's chunk in index `b` (tenant
 * 'b'), and how many pairs hold the same vector (cosine distance below `tolerance`; 0: equal).
 */
export async function samePairs(ctx: Context, a: string, b: string, tolerance = 0): Promise<{ pairs: number; equal: number }> {
  const at = (await getIndex(ctx.db, a))!.live.tableName;
  const bt = (await getIndex(ctx.db, b))!.live.tableName;
  const same = tolerance === 0 ? 'av.embedding = bv.embedding' : `av.embedding <=> bv.embedding < ${Number(tolerance)}`;
  const { rows } = await ctx.db.query<{ pairs: number; equal: number }>(
    `SELECT count(*)::int AS pairs, count(*) FILTER (WHERE ${same})::int AS equal
       FROM chunks ac JOIN ${at} av ON av.chunk_id = ac.id
       JOIN chunks bc ON bc.doc_id = ac.doc_id AND bc.ordinal = ac.ordinal AND bc.tenant = 'b'
       JOIN ${bt} bv ON bv.chunk_id = bc.id
      WHERE ac.tenant = 'a'`,
  );
  return rows[0]!;
}
