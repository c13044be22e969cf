/**
 * The gateway's pipeline (src/store/pipeline.ts) against real Postgres: statements issued in one
 * turn of the event loop share one round trip, each caller gets its own result exactly as the
 * pool would have given it, and a statement that fails fails only its own caller.
 */
import pg from 'pg';
import { Pipeline } from '../../src/store/pipeline.ts';
import { expect, test } from '../support/fixtures.ts';

/** The test's pool, counting the calls that reach it (each is one round trip). */
function counted(db: pg.Pool) {
  const calls: string[] = [];
  return { calls, target: { query: ((text: string, values?: unknown[]) => (calls.push(text), db.query(text, values))) as pg.Pool['query'] } };
}

const TABLE = `CREATE TABLE odd (id bigserial PRIMARY KEY, t text, n numeric, f float8, b boolean, at timestamptz, h bytea, hs bytea[], ts text[], big bigint NOT NULL)`;

const VALUES: unknown[][] = [
  ["it's a \\ back'slash", 1e-7, -0.5, true, new Date('2026-12-03T12:00:00.123Z'), Buffer.from([0, 255, 39, 92]), [Buffer.from('a'), Buffer.alloc(0)], ['a,b', '"q"', '{x}', 'NULL', ''], '9007199254740993'],
  ['newline\nand tab\t and emoji 🦜 and $1 and $2', 2 ** 53, Number.MIN_VALUE, false, null, null, [], [null, 'e\\'], '-1'],
  ['', 0, 1e300, null, new Date(0), Buffer.alloc(0), null, null, '0'],
];
const INSERT = `INSERT INTO odd (t, n, f, b, at, h, hs, ts, big) VALUES ($1, $2, $3, $4, $5, $6, $7::bytea[], $8::text[], $9) RETURNING id, t`;

test('statements of one turn share one round trip, and every value comes back as the pool itself would store it', async ({ ctx }) => {
  await ctx.db.query(TABLE);
  const { calls, target } = counted(ctx.db);
  const pipe = new Pipeline(target);
  const results = await Promise.all(VALUES.map((v) => pipe.query<{ id: string; t: string }>(INSERT, v)));
  expect(calls).toHaveLength(1);
  expect(results.map((r) => r.rows[0]!.t)).toEqual(VALUES.map((v) => v[0]));
  expect(new Set(results.map((r) => r.rows[0]!.id)).size).toBe(3);
  // The same rows through the pool's own (server-bound) parameters.
  for (const v of VALUES) await ctx.db.query(INSERT, v);
  const { rows } = await ctx.db.query(`SELECT t, n::text, f, b, at, h, hs, ts, big::text FROM odd ORDER BY id`);
  expect(rows.slice(0, 3)).toEqual(rows.slice(3));
  expect(rows[0]).toMatchObject({ t: VALUES[0]![0], n: '0.0000001', big: '9007199254740993', h: Buffer.from([0, 255, 39, 92]) });
  // Reads in a batch see what they would alone.
  const [count, one] = await Promise.all([pipe.query<{ n: string }>(`SELECT count(*)::text AS n FROM odd WHERE big = $1`, ['-1']), pipe.query<{ t: string }>(`SELECT t FROM odd WHERE id = $1`, [results[1]!.rows[0]!.id])]);
  expect(calls).toHaveLength(2);
  expect(count.rows[0]!.n).toBe('2');
  expect(one.rows[0]!.t).toBe(VALUES[1]![0]);
  expect(count.rowCount).toBe(1);
});

test('a failing statement fails its own caller only: the batch is run again one by one and nothing is written twice', async ({ ctx }) => {
  await ctx.db.query(TABLE);
  const { calls, target } = counted(ctx.db);
  const pipe = new Pipeline(target);
  const row = (t: string, big: string | null) => pipe.query(INSERT, [t, 1, 1, true, null, null, null, null, big]);
  const outcomes = await Promise.allSettled([row('a', '1'), row('b', null), row('c', '3'), pipe.query(`SELECT 1 / $1::int AS x`, [0]), row('d', '4')]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(pg.DatabaseError);
  expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/null value in column "big"/);
  expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/division by zero/);
  // One batch, then each of the five alone.
  expect(calls).toHaveLength(6);
  const { rows } = await ctx.db.query<{ t: string }>(`SELECT t FROM odd ORDER BY t`);
  expect(rows.map((r) => r.t)).toEqual(['a', 'c', 'd']);
});

test('a lone statement, and one whose parameters are too large to inline, go with server-bound parameters', async ({ ctx }) => {
  await ctx.db.query(TABLE);
  const { calls, target } = counted(ctx.db);
  const pipe = new Pipeline(target);
  const big = 'x'.repeat(100_000);
  const [a, b] = await Promise.all([pipe.query(INSERT, [big, 1, 1, true, null, null, null, null, '1']), pipe.query(INSERT, ['small', 1, 1, true, null, null, null, null, '2'])]);
  expect(a.rows[0]!.t).toBe(big);
  expect(b.rows[0]!.t).toBe('small');
  // Neither was batched: the large one alone, and then the other had nobody to share with.
  expect(calls).toEqual([INSERT, INSERT]);
  await pipe.query(`SELECT 1`);
  expect(calls).toHaveLength(3);
  await expect(pipe.query(`SELECT $2::int`, [1])).rejects.toThrow(/refers to \$2 but has 1 parameters/);
});
