/**
 * Schema migration 0007 renames the reembed tables (migrations → reembeds, migration_events →
 * reembed_events) on a database made by 0001-0006, keeping every row, id and constraint.
 */
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { currentReembed, getReembed, reembedHistory } from '../../src/reembed/store.ts';
import { migrate, readMigrations } from '../../src/store/migrate.ts';
import { dropIsolated, expect, test, testConfig } from '../support/fixtures.ts';

test('migration 0007 moves reembed rows and their events to reembeds and reembed_events', async () => {
  const ctx = createContext(testConfig(), { logger: createLogger('silent') });
  try {
    const files = readMigrations();
    await migrate(ctx.db, ctx.config.dbSchema, files.filter((f) => f.id < 7));
    // An index with three versions and two runs in the old tables: one finished, one open.
    await ctx.db.query(`INSERT INTO model_versions (key, provider, model, dims, native_dims, normalization, max_input_tokens) VALUES
      ('local/hash-v1@1:3', 'local', 'hash-v1', 3, 384, 'nfc-lf-trim-v1', 8191), ('local/hash-v1@1:4', 'local', 'hash-v1', 4, 384, 'nfc-lf-trim-v1', 8191)`);
    await ctx.db.query(`INSERT INTO indexes (name, chunk_tokens, chunk_overlap, tokenizer) VALUES ('old', 64, 0, 'word')`);
    await ctx.db.query(`INSERT INTO index_versions (index_id, version, table_name, model_version_id, dims, state) VALUES
      (1, 1, 'vec_old_1', 1, 3, 'ready'), (1, 2, 'vec_old_2', 2, 4, 'dropped'), (1, 3, 'vec_old_3', 2, 4, 'building')`);
    await ctx.db.query(`INSERT INTO index_aliases (index_id, index_version_id) VALUES (1, 1)`);
    await ctx.db.query(`INSERT INTO migrations (index_id, source_version_id, target_version_id, state, queries) VALUES
      (1, 1, 2, 'aborted', NULL), (1, 1, 3, 'backfilling', '[{"query": "q", "expected": ["1"]}]')`);
    await ctx.db.query(`INSERT INTO migration_events (migration_id, from_state, to_state, actor, reason) VALUES
      (1, NULL, 'planned', 'a', 'start'), (1, 'planned', 'aborted', 'a', 'stop'), (2, NULL, 'planned', 'b', 'start'), (2, 'planned', 'backfilling', 'b', 'go')`);

    const r = await migrate(ctx.db, ctx.config.dbSchema, files.filter((f) => f.id <= 7));
    expect(r.applied.map((a) => a.name)).toEqual(['0007_reembeds']);

    const { rows: gone } = await ctx.db.query(`SELECT to_regclass('migrations') AS m, to_regclass('migration_events') AS e`);
    expect(gone[0]).toEqual({ m: null, e: null });
    const { rows } = await ctx.db.query(`SELECT id::int, target_version_id AS t, state FROM reembeds ORDER BY id`);
    expect(rows).toEqual([{ id: 1, t: 2, state: 'aborted' }, { id: 2, t: 3, state: 'backfilling' }]);
    const { rows: events } = await ctx.db.query(`SELECT reembed_id::int AS r, to_state AS s FROM reembed_events ORDER BY id`);
    expect(events).toEqual([{ r: 1, s: 'planned' }, { r: 1, s: 'aborted' }, { r: 2, s: 'planned' }, { r: 2, s: 'backfilling' }]);

    // The code reads the moved rows.
    expect(await getReembed(ctx.db, '2')).toMatchObject({ state: 'backfilling', targetTable: 'vec_old_3', queries: [{ query: 'q', expected: ['1'] }] });
    expect((await currentReembed(ctx.db, 'old'))!.id).toBe('2');
    expect((await reembedHistory(ctx.db, '1')).map((h) => h.to)).toEqual(['planned', 'aborted']);

    // Constraints, the one-open index and the identity sequences came along under the new names.
    const { rows: names } = await ctx.db.query(
      `SELECT conname AS n FROM pg_constraint WHERE conrelid IN ('reembeds'::regclass, 'reembed_events'::regclass)
       UNION ALL SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind IN ('i', 'S') AND relname ~ '^(reembed|migration)'
       ORDER BY 1`,
      [ctx.config.dbSchema],
    );
    expect(names.map((n) => n.n)).toEqual([
      'reembed_events_id_seq',
      'reembed_events_pkey',
      'reembed_events_pkey',
      'reembed_events_reembed_id_fkey',
      'reembeds_id_seq',
      'reembeds_index_id_fkey',
      'reembeds_mode_check',
      'reembeds_one_open',
      'reembeds_pkey',
      'reembeds_pkey',
      'reembeds_source_version_id_fkey',
      'reembeds_state_check',
      'reembeds_target_version_id_fkey',
    ]);
    await expect(ctx.db.query(`INSERT INTO reembeds (index_id, source_version_id, target_version_id) VALUES (1, 1, 3)`)).rejects.toThrow(/reembeds_one_open/);
    await ctx.db.query(`UPDATE reembeds SET state = 'aborted' WHERE id = 2`);
    const { rows: next } = await ctx.db.query(`INSERT INTO reembeds (index_id, source_version_id, target_version_id) VALUES (1, 1, 3) RETURNING id::int`);
    // The identity continues after the old rows (the refused insert above took 3).
    expect(next[0].id).toBe(4);
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
});
