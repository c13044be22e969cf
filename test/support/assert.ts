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
