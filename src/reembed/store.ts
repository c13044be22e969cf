/** Reembed rows and their state changes (compare-and-set, logged in reembed_events). */
import type { Queryable } from '../store/db.ts';
import { quoteIdent } from '../store/identifiers.ts';
import { liveAndReembedVersions, type IndexVersion } from '../store/indexes.ts';
import { InvalidTransitionError, OPEN_STATES, canTransition, type ReembedState } from './states.ts';

export interface Reembed {
  id: string;
  indexId: number;
  indexName: string;
  sourceVersionId: number;
  targetVersionId: number;
  sourceTable: string;
  targetTable: string;
  sourceModel: string;
  targetModel: string;
  state: ReembedState;
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

const COLUMNS = `m.id::text, m.index_id AS "indexId", i.name AS "indexName", m.source_version_id AS "sourceVersionId",
    m.target_version_id AS "targetVersionId", sv.table_name AS "sourceTable", tv.table_name AS "targetTable",
    smv.key AS "sourceModel", tmv.key AS "targetModel", m.state, m.mode, m.coverage_threshold::float AS "coverageThreshold",
    m.quality_floor::float AS "qualityFloor", m.auto_cutover AS "autoCutover", m.queries, m.backfill_cursor::text AS "backfillCursor",
    m.backfill_done AS "backfillDone", m.quality, m.forced, m.created_at AS "createdAt", m.updated_at AS "updatedAt"`;
const FROM = `FROM reembeds m JOIN indexes i ON i.id = m.index_id
  JOIN index_versions sv ON sv.id = m.source_version_id JOIN index_versions tv ON tv.id = m.target_version_id
  JOIN model_versions smv ON smv.id = sv.model_version_id JOIN model_versions tmv ON tmv.id = tv.model_version_id`;
const SELECT = `SELECT ${COLUMNS} ${FROM}`;

/**
 * The run id that tracks a reembed's backfill work: `mig-<id>-<created ms>`. The creation time
 * keeps it (and the content-derived ids of its jobs) unique even when a recreated database
 * numbers reembeds from 1 again under the same Redis prefix.
 */
export function reembedRunId(m: { id: string; createdAt: Date | string }): string {
  return `mig-${m.id}-${new Date(m.createdAt).getTime()}`;
}

/** The reembed id of a run id made by {@link reembedRunId}, or null for an ordinary run. */
export function reembedOfRun(runId: string): string | null {
  return /^mig-(\d+)-\d+$/.exec(runId)?.[1] ?? null;
}

export async function getReembed(db: Queryable, id: string): Promise<Reembed | null> {
  const { rows } = await db.query<Reembed>(`${SELECT} WHERE m.id = $1::bigint`, [id]);
  return rows[0] ?? null;
}

/** The index's open reembed, else its latest one. */
export async function currentReembed(db: Queryable, indexName: string): Promise<Reembed | null> {
  const { rows } = await db.query<Reembed>(
    `${SELECT} WHERE i.name = $1 ORDER BY (m.state = ANY($2)) DESC, m.id DESC LIMIT 1`,
    [indexName, OPEN_STATES],
  );
  return rows[0] ?? null;
}

export async function reembedHistory(db: Queryable, id: string): Promise<{ from: string | null; to: string; actor: string; reason: string; at: Date }[]> {
  const { rows } = await db.query(`SELECT from_state AS "from", to_state AS "to", actor, reason, at FROM reembed_events WHERE reembed_id = $1 ORDER BY id`, [id]);
  return rows;
}

/** Every open reembed, with when it entered its current state (its latest event). One statement. */
export async function openReembeds(db: Queryable): Promise<(Reembed & { stateSince: Date })[]> {
  const { rows } = await db.query<Reembed & { stateSince: Date }>(
    `SELECT ${COLUMNS}, (SELECT max(e.at) FROM reembed_events e WHERE e.reembed_id = m.id) AS "stateSince" ${FROM} WHERE m.state = ANY($1) ORDER BY m.id`,
    [OPEN_STATES],
  );
  return rows;
}

/**
 * Moves a reembed from `from` to `to` if, and only if, it is in `from` now (compare-and-set),
 * and logs who and why. Throws {@link InvalidTransitionError} otherwise. Run it inside the
 * transaction that makes the change the state describes.
 */
export async function transition(db: Queryable, id: string, from: ReembedState, to: ReembedState, actor: string, reason: string): Promise<void> {
  if (!canTransition(from, to)) throw new InvalidTransitionError(id, from, to);
  const r = await db.query(`UPDATE reembeds SET state = $3, updated_at = now() WHERE id = $1::bigint AND state = $2`, [id, from, to]);
  if (r.rowCount !== 1) {
    const { rows } = await db.query<{ state: string }>(`SELECT state FROM reembeds WHERE id = $1::bigint`, [id]);
    throw new InvalidTransitionError(id, from, to, rows[0]?.state ?? 'missing');
  }
  await logEvent(db, id, from, to, actor, reason);
}

/** Logs a state change (`from` null for the row's creation) with who and why. */
async function logEvent(db: Queryable, id: string, from: ReembedState | null, to: ReembedState, actor: string, reason: string): Promise<void> {
  await db.query(`INSERT INTO reembed_events (reembed_id, from_state, to_state, actor, reason) VALUES ($1, $2, $3, $4, $5)`, [id, from, to, actor, reason]);
}

export async function setCursor(db: Queryable, id: string, cursor: string, done: boolean): Promise<void> {
  await db.query(`UPDATE reembeds SET backfill_cursor = greatest(backfill_cursor, $2::bigint), backfill_done = $3, updated_at = now() WHERE id = $1::bigint`, [id, cursor, done]);
}

export async function setQuality(db: Queryable, id: string, q: GateNumbers): Promise<void> {
  await db.query(`UPDATE reembeds SET quality = $2, updated_at = now() WHERE id = $1::bigint`, [id, JSON.stringify(q)]);
}

/** The index's open reembed, if any. */
export async function findOpenReembed(db: Queryable, indexId: number): Promise<{ id: string; state: ReembedState } | null> {
  const { rows } = await db.query<{ id: string; state: ReembedState }>(`SELECT id::text, state FROM reembeds WHERE index_id = $1 AND state = ANY($2)`, [indexId, OPEN_STATES]);
  return rows[0] ?? null;
}

export interface NewReembed {
  indexId: number;
  sourceVersionId: number;
  targetVersionId: number;
  mode: 'sync' | 'batch';
  coverage: number;
  qualityFloor: number;
  autoCutover: boolean;
  queries: { query: string; expected: string[] }[] | null;
}

/** Inserts a planned reembed, logged with who and why; returns its id. */
export async function insertReembed(db: Queryable, m: NewReembed, actor: string, reason: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO reembeds (index_id, source_version_id, target_version_id, mode, coverage_threshold, quality_floor, auto_cutover, queries)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text`,
    [m.indexId, m.sourceVersionId, m.targetVersionId, m.mode, m.coverage, m.qualityFloor, m.autoCutover, m.queries ? JSON.stringify(m.queries) : null],
  );
  const id = rows[0]!.id;
  await logEvent(db, id, null, 'planned', actor, reason);
  return id;
}

/** Records that a cutover went past the quality gate. */
export async function markForced(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE reembeds SET forced = true WHERE id = $1::bigint`, [id]);
}

/** Target versions whose backfill has not ended, except the given reembed's. */
export async function targetsStillBackfilling(db: Queryable, exceptId: string | null): Promise<number[]> {
  const before: readonly ReembedState[] = ['planned', 'backfilling'];
  const { rows } = await db.query<{ v: number }>(`SELECT target_version_id AS v FROM reembeds WHERE state = ANY($1) AND id::text IS DISTINCT FROM $2`, [before, exceptId]);
  return rows.map((r) => r.v);
}

/** Row counts of the source and the target table. */
export async function countRows(db: Queryable, sourceTable: string, targetTable: string): Promise<{ source: number; target: number }> {
  const { rows } = await db.query<{ s: string; t: string }>(
    `SELECT (SELECT count(*) FROM ${quoteIdent(sourceTable)}) AS s, (SELECT count(*) FROM ${quoteIdent(targetTable)}) AS t`,
  );
  return { source: Number(rows[0]!.s), target: Number(rows[0]!.t) };
}

/** Points the index's alias at `to` if it points at `from` now; false when it did not. */
export async function swapAlias(db: Queryable, indexId: number, from: number, to: number): Promise<boolean> {
  const r = await db.query(`UPDATE index_aliases SET index_version_id = $2, updated_at = now() WHERE index_id = $1 AND index_version_id = $3`, [indexId, to, from]);
  return r.rowCount === 1;
}

/** Points the index's alias at `versionId`, whatever it points at now. */
export async function pointAlias(db: Queryable, indexId: number, versionId: number): Promise<void> {
  await db.query(`UPDATE index_aliases SET index_version_id = $2, updated_at = now() WHERE index_id = $1`, [indexId, versionId]);
}

export async function markVersionReady(db: Queryable, versionId: number): Promise<void> {
  await db.query(`UPDATE index_versions SET state = 'ready' WHERE id = $1`, [versionId]);
}

/** Marks a version dropped, forgets its pending batch rows and drops its table. */
export async function dropVersion(db: Queryable, versionId: number, table: string): Promise<void> {
  await db.query(`UPDATE index_versions SET state = 'dropped' WHERE id = $1`, [versionId]);
  await db.query(`DELETE FROM batch_pending WHERE index_version_id = $1`, [versionId]);
  await db.query(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
}

/** The next page of the index's chunks after `cursor`, by id (keyset, never OFFSET). */
export async function chunkPage(db: Queryable, indexId: number, cursor: string, pageSize: number): Promise<{ id: string; tenant: string; text: string; tokens: number }[]> {
  const { rows } = await db.query<{ id: string; tenant: string; text: string; tokens: number }>(
    `SELECT c.id::text AS id, c.tenant, c.text, c.tokens FROM chunks c WHERE c.index_id = $1 AND c.id > $2::bigint ORDER BY c.id LIMIT $3`,
    [indexId, cursor, pageSize],
  );
  return rows;
}

/** Up to `n` chunks of the index in a fixed pseudo-random order. */
export async function sampleChunks(db: Queryable, indexId: number, n: number): Promise<{ id: string; text: string }[]> {
  const { rows } = await db.query<{ id: string; text: string }>(
    `SELECT id::text, text FROM chunks WHERE index_id = $1 ORDER BY hashtext(chunks.id::text), chunks.id LIMIT $2`,
    [indexId, n],
  );
  return rows;
}

/** Which of `ids` are chunk ids or document ids of the index. */
export async function knownChunkOrDocIds(db: Queryable, indexId: number, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text FROM chunks WHERE index_id = $1 AND id::text = ANY($2::text[])
     UNION SELECT doc_id FROM documents WHERE index_id = $1 AND doc_id = ANY($2::text[])`,
    [indexId, ids],
  );
  return new Set(rows.map((r) => r.id));
}

/** Tokens and dollars of the run's settled provider calls. */
export async function runSpend(db: Queryable, runId: string): Promise<{ tokens: number; costUsd: number }> {
  const { rows } = await db.query<{ t: string; c: string }>(
    `SELECT coalesce(sum(tokens), 0) AS t, coalesce(sum(cost_usd), 0) AS c FROM ledger WHERE run_id = $1 AND status = 'ok'`,
    [runId],
  );
  return { tokens: Number(rows[0]!.t), costUsd: Number(rows[0]!.c) };
}

/**
 * Versions every write to index `indexId` must reach: the live one, plus both sides of an open
 * reembed (dual-write: the target while it is built, the source until it is retired, so a
 * rollback finds it complete).
 */
export function writeTargets(db: Queryable, indexId: number): Promise<IndexVersion[]> {
  return liveAndReembedVersions(db, indexId, OPEN_STATES);
}
