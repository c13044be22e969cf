/** Migration rows and their state changes (compare-and-set, logged in migration_events). */
import type { Queryable } from '../store/db.ts';
import { InvalidTransitionError, canTransition, type MigrationState } from './states.ts';

export interface Migration {
  id: string;
  indexId: number;
  indexName: string;
  sourceVersionId: number;
  targetVersionId: number;
  sourceTable: string;
  targetTable: string;
  sourceModel: string;
  targetModel: string;
  state: MigrationState;
  mode: 'sync' | 'batch';
  coverageThreshold: number;
  qualityFloor: number;
  autoCutover: boolean;
  queries: { query: string; expected: string[] }[] | null;
  backfillCursor: string;
  backfillDone: boolean;
  quality: GateNumbers | null;
  forced: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface GateNumbers {
  method: 'queries' | 'sampled';
  k: number;
  n: number;
  coverage: number;
  source: { recall: number; mrr: number };
  target: { recall: number; mrr: number };
  passed: boolean;
  reason: string;
}

const SELECT = `SELECT m.id::text, m.index_id AS "indexId", i.name AS "indexName", m.source_version_id AS "sourceVersionId",
    m.target_version_id AS "targetVersionId", sv.table_name AS "sourceTable", tv.table_name AS "targetTable",
    smv.key AS "sourceModel", tmv.key AS "targetModel", m.state, m.mode, m.coverage_threshold::float AS "coverageThreshold",
    m.quality_floor::float AS "qualityFloor", m.auto_cutover AS "autoCutover", m.queries, m.backfill_cursor::text AS "backfillCursor",
    m.backfill_done AS "backfillDone", m.quality, m.forced, m.created_at AS "createdAt", m.updated_at AS "updatedAt"
  FROM migrations m JOIN indexes i ON i.id = m.index_id
  JOIN index_versions sv ON sv.id = m.source_version_id JOIN index_versions tv ON tv.id = m.target_version_id
  JOIN model_versions smv ON smv.id = sv.model_version_id JOIN model_versions tmv ON tmv.id = tv.model_version_id`;

/**
 * The run id that tracks a migration's backfill work: `mig-<id>-<created ms>`. The creation time
 * keeps it (and the content-derived ids of its jobs) unique even when a recreated database
 * numbers migrations from 1 again under the same Redis prefix.
 */
export function migrationRunId(m: { id: string; createdAt: Date | string }): string {
  return `mig-${m.id}-${new Date(m.createdAt).getTime()}`;
}

/** The migration id of a run id made by {@link migrationRunId}, or null for an ordinary run. */
export function migrationOfRun(runId: string): string | null {
  return /^mig-(\d+)-\d+$/.exec(runId)?.[1] ?? null;
}

export async function getMigration(db: Queryable, id: string): Promise<Migration | null> {
  const { rows } = await db.query<Migration>(`${SELECT} WHERE m.id = $1::bigint`, [id]);
  return rows[0] ?? null;
}

/** The index's open migration, else its latest one. */
export async function currentMigration(db: Queryable, indexName: string): Promise<Migration | null> {
  const { rows } = await db.query<Migration>(
    `${SELECT} WHERE i.name = $1 ORDER BY (m.state IN ('planned','backfilling','validating','ready','cut_over')) DESC, m.id DESC LIMIT 1`,
    [indexName],
  );
  return rows[0] ?? null;
}

export async function migrationHistory(db: Queryable, id: string): Promise<{ from: string | null; to: string; actor: string; reason: string; at: Date }[]> {
  const { rows } = await db.query(`SELECT from_state AS "from", to_state AS "to", actor, reason, at FROM migration_events WHERE migration_id = $1 ORDER BY id`, [id]);
  return rows;
}

/**
 * Moves a migration from `from` to `to` if, and only if, it is in `from` now (compare-and-set),
 * and logs who and why. Throws {@link InvalidTransitionError} otherwise. Run it inside the
 * transaction that makes the change the state describes.
 */
export async function transition(db: Queryable, id: string, from: MigrationState, to: MigrationState, actor: string, reason: string): Promise<void> {
  if (!canTransition(from, to)) throw new InvalidTransitionError(id, from, to);
  const r = await db.query(`UPDATE migrations SET state = $3, updated_at = now() WHERE id = $1::bigint AND state = $2`, [id, from, to]);
  if (r.rowCount !== 1) {
    const { rows } = await db.query<{ state: string }>(`SELECT state FROM migrations WHERE id = $1::bigint`, [id]);
    throw new InvalidTransitionError(id, from, to, rows[0]?.state ?? 'missing');
  }
  await db.query(`INSERT INTO migration_events (migration_id, from_state, to_state, actor, reason) VALUES ($1, $2, $3, $4, $5)`, [id, from, to, actor, reason]);
}

export async function setCursor(db: Queryable, id: string, cursor: string, done: boolean): Promise<void> {
  await db.query(`UPDATE migrations SET backfill_cursor = greatest(backfill_cursor, $2::bigint), backfill_done = $3, updated_at = now() WHERE id = $1::bigint`, [id, cursor, done]);
}

export async function setQuality(db: Queryable, id: string, q: GateNumbers): Promise<void> {
  await db.query(`UPDATE migrations SET quality = $2, updated_at = now() WHERE id = $1::bigint`, [id, JSON.stringify(q)]);
}
