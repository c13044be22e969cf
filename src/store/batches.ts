/** provider_batches, their items, and the misses waiting to be gathered into a batch. */
import type pg from 'pg';
import type { Db, Queryable } from './db.ts';

export interface PendingRow {
  indexVersionId: number;
  chunkId: string;
  inputHash: Buffer;
  tenant: string;
  runId: string;
  tokens: number;
}

export async function queuePending(db: Queryable, rows: PendingRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO batch_pending (index_version_id, chunk_id, input_hash, tenant, run_id, tokens)
     SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::int[])
     ON CONFLICT (index_version_id, chunk_id) DO UPDATE SET input_hash = EXCLUDED.input_hash, run_id = EXCLUDED.run_id, tokens = EXCLUDED.tokens`,
    [rows.map((r) => r.indexVersionId), rows.map((r) => r.chunkId), rows.map((r) => r.inputHash), rows.map((r) => r.tenant), rows.map((r) => r.runId), rows.map((r) => r.tokens)],
  );
}

/** Takes up to `limit` pending misses of one version and tenant (skipping rows another submitter holds). */
export async function claimPending(client: pg.PoolClient, indexVersionId: number, tenant: string, limit: number): Promise<{ chunkId: string; inputHash: Buffer; tokens: number }[]> {
  const { rows } = await client.query<{ chunk_id: string; input_hash: Buffer; tokens: number }>(
    `DELETE FROM batch_pending WHERE (index_version_id, chunk_id) IN (
       SELECT index_version_id, chunk_id FROM batch_pending WHERE index_version_id = $1 AND tenant = $2
        ORDER BY chunk_id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING chunk_id, input_hash, tokens`,
    [indexVersionId, tenant, limit],
  );
  return rows.map((r) => ({ chunkId: r.chunk_id, inputHash: r.input_hash, tokens: r.tokens })).sort((a, b) => Number(BigInt(a.chunkId) - BigInt(b.chunkId)));
}

export type BatchStatus =
  | 'preparing' | 'uploaded' | 'validating' | 'in_progress' | 'finalizing' | 'completed'
  | 'failed' | 'expired' | 'cancelling' | 'cancelled' | 'ingested' | 'rejected';

/** Statuses after which the provider does no more work on the batch. */
export const PROVIDER_DONE: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

/** The statuses a provider reports while it holds the batch (OpenAI's names; Cohere's map onto them). */
const AT_PROVIDER: readonly BatchStatus[] = ['validating', 'in_progress', 'finalizing', 'cancelling', ...PROVIDER_DONE];

/**
 * The lifecycle of a provider batch, one named step per change (the model is
 * src/reembed/states.ts). Each step's entry lists the statuses it may start from:
 *
 *   preparing ─markUploaded→ uploaded ─markSubmitted→ (the provider's status) ─recordPoll→ …
 *     ─markReadBack→ ingested | failed | rejected
 *
 * Every step is a compare-and-set (the status must be one of its entry, and a batch read back is
 * never changed again) and says whether it applied, so a stale view (a second poller, a replayed
 * submit) changes nothing.
 */
export const BATCH_STEPS = {
  markUploaded: ['preparing'],
  markSubmitted: ['uploaded'],
  recordPoll: AT_PROVIDER,
  markReadBack: PROVIDER_DONE,
} as const satisfies Record<string, readonly BatchStatus[]>;

/** Applies one step: `sets` are fixed SQL assignments with parameters from $3 on. */
async function step(db: Queryable, name: keyof typeof BATCH_STEPS, id: string, sets: string, values: unknown[]): Promise<boolean> {
  const r = await db.query(
    `UPDATE provider_batches SET ${sets}, updated_at = now() WHERE id = $1::bigint AND status = ANY($2) AND ingested_at IS NULL`,
    [id, BATCH_STEPS[name], ...values],
  );
  return (r.rowCount ?? 0) > 0;
}

/** The request file is uploaded: status `uploaded`, with its file id. */
export function markUploaded(db: Queryable, id: string, inputFileId: string): Promise<boolean> {
  return step(db, 'markUploaded', id, `input_file_id = $3, status = 'uploaded'`, [inputFileId]);
}

/** The provider created the batch: its id, the status it reported, and when (this process's clock). */
export function markSubmitted(db: Queryable, id: string, providerBatchId: string, status: BatchStatus): Promise<boolean> {
  return step(db, 'markSubmitted', id, `provider_batch_id = $3, status = $4, submitted_at = $5`, [providerBatchId, status, new Date()]);
}

/** What a poll (or a cancel) of the provider reported. */
export interface BatchPoll {
  status: BatchStatus;
  outputFileId: string | null;
  errorFileId: string | null;
  /** The provider's validation errors, kept for a failed batch. */
  errors?: unknown;
}

/** A poll from a provider batch as the batch backends return it (OpenAI's field names). */
export function pollOf(pb: { status: string; output_file_id?: string | null; error_file_id?: string | null; errors?: unknown }): BatchPoll {
  return { status: pb.status as BatchStatus, outputFileId: pb.output_file_id ?? null, errorFileId: pb.error_file_id ?? null, errors: pb.errors ?? null };
}

/** Records a poll; a status after which the provider does no more work stamps `finished_at` once. */
export function recordPoll(db: Queryable, id: string, p: BatchPoll): Promise<boolean> {
  const failed = p.status === 'failed';
  return step(
    db,
    'recordPoll',
    id,
    `status = $3, output_file_id = $4, error_file_id = $5, errors = CASE WHEN $6 THEN $7::jsonb ELSE errors END,
     finished_at = CASE WHEN $3 = ANY($8) THEN coalesce(finished_at, now()) ELSE finished_at END`,
    [p.status, p.outputFileId, p.errorFileId, failed, failed && p.errors != null ? JSON.stringify(p.errors) : null, PROVIDER_DONE],
  );
}

/** What reading a finished batch back came to. */
export interface BatchReadBack {
  status: 'ingested' | 'failed' | 'rejected';
  completed?: number;
  failed?: number;
  tokensBilled?: number;
  /** Kept only when given: otherwise the row keeps what the provider reported. */
  errors?: unknown;
}

/** The batch is read back: its final status and counts, `ingested_at` now. Never applied twice. */
export function markReadBack(db: Queryable, id: string, r: BatchReadBack): Promise<boolean> {
  return step(
    db,
    'markReadBack',
    id,
    `status = $3, completed = coalesce($4, completed), failed = coalesce($5, failed), tokens_billed = coalesce($6, tokens_billed),
     errors = coalesce($7::jsonb, errors), ingested_at = now()`,
    [r.status, r.completed ?? null, r.failed ?? null, r.tokensBilled ?? null, r.errors !== undefined ? JSON.stringify(r.errors) : null],
  );
}

export interface BatchRow {
  id: string;
  provider: string;
  modelVersionId: number;
  indexVersionId: number;
  tenant: string;
  runId: string;
  submitJobId: string;
  status: BatchStatus;
  providerBatchId: string | null;
  inputFileId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  requests: number;
  inputs: number;
  tokensEstimated: number;
  completed: number;
  failed: number;
  tokensBilled: number;
  errors: unknown;
  createdAt: Date;
  submittedAt: Date | null;
  finishedAt: Date | null;
  ingestedAt: Date | null;
}

const COLS = `id::text, provider, model_version_id AS "modelVersionId", index_version_id AS "indexVersionId", tenant, run_id AS "runId",
  submit_job_id AS "submitJobId", status, provider_batch_id AS "providerBatchId", input_file_id AS "inputFileId",
  output_file_id AS "outputFileId", error_file_id AS "errorFileId", requests, inputs, tokens_estimated::int AS "tokensEstimated",
  completed, failed, tokens_billed::int AS "tokensBilled", errors, created_at AS "createdAt", submitted_at AS "submittedAt",
  finished_at AS "finishedAt", ingested_at AS "ingestedAt"`;

export async function createBatch(
  client: Queryable,
  b: { provider: string; modelVersionId: number; indexVersionId: number; tenant: string; runId: string; submitJobId: string },
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO provider_batches (provider, model_version_id, index_version_id, tenant, run_id, submit_job_id)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`,
    [b.provider, b.modelVersionId, b.indexVersionId, b.tenant, b.runId, b.submitJobId],
  );
  return rows[0]!.id;
}

export async function addBatchItems(client: Queryable, batchId: string, items: { customId: string; position: number; chunkId: string; inputHash: Buffer; tokens: number }[]): Promise<void> {
  if (items.length === 0) return;
  await client.query(
    `INSERT INTO provider_batch_items (batch_id, custom_id, position, chunk_id, input_hash, tokens)
     SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bytea[], $6::int[])`,
    [batchId, items.map((i) => i.customId), items.map((i) => i.position), items.map((i) => i.chunkId), items.map((i) => i.inputHash), items.map((i) => i.tokens)],
  );
}

export async function batchBySubmitJob(db: Queryable, jobId: string): Promise<BatchRow | null> {
  const { rows } = await db.query<BatchRow>(`SELECT ${COLS} FROM provider_batches WHERE submit_job_id = $1`, [jobId]);
  return rows[0] ?? null;
}

export async function getBatch(db: Queryable, id: string): Promise<BatchRow | null> {
  const { rows } = await db.query<BatchRow>(
    `SELECT ${COLS} FROM provider_batches WHERE ($1 ~ '^[0-9]+$' AND id = $1::bigint) OR provider_batch_id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function listBatches(db: Queryable, opts: { open?: boolean; limit?: number } = {}): Promise<BatchRow[]> {
  const { rows } = await db.query<BatchRow>(
    `SELECT ${COLS} FROM provider_batches WHERE NOT $1 OR ingested_at IS NULL ORDER BY provider_batches.id DESC LIMIT $2`,
    [opts.open ?? false, opts.limit ?? 50],
  );
  return rows;
}

/** Items of a batch grouped by request line, in position order. */
export async function batchItems(db: Queryable, batchId: string): Promise<Map<string, { chunkId: string; inputHash: Buffer; tokens: number }[]>> {
  const { rows } = await db.query<{ custom_id: string; chunk_id: string; input_hash: Buffer; tokens: number }>(
    `SELECT custom_id, chunk_id, input_hash, tokens FROM provider_batch_items WHERE batch_id = $1 ORDER BY custom_id, position`,
    [batchId],
  );
  const out = new Map<string, { chunkId: string; inputHash: Buffer; tokens: number }[]>();
  for (const r of rows) {
    let list = out.get(r.custom_id);
    if (!list) out.set(r.custom_id, (list = []));
    list.push({ chunkId: r.chunk_id, inputHash: r.input_hash, tokens: r.tokens });
  }
  return out;
}

export type { Db };

// The steps of a submit (src/pipeline/batch-submit.ts), one statement each.

/** Records how the claimed items were packed: request lines, inputs and estimated tokens. */
export async function recordPacked(client: Queryable, id: string, p: { requests: number; inputs: number; tokensEstimated: number }): Promise<void> {
  await client.query(`UPDATE provider_batches SET requests = $2, inputs = $3, tokens_estimated = $4 WHERE id = $1`, [id, p.requests, p.inputs, p.tokensEstimated]);
}

/** Removes items whose chunk changed or vanished before upload: they leave the batch. */
export async function dropBatchItems(db: Queryable, batchId: string, chunkIds: string[]): Promise<void> {
  if (chunkIds.length === 0) return;
  await db.query(`DELETE FROM provider_batch_items WHERE batch_id = $1 AND chunk_id = ANY($2::bigint[])`, [batchId, chunkIds]);
}


/** How many of a run's provider batches are not read back yet. */
export async function openBatchCountOfRun(db: Queryable, runId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provider_batches WHERE run_id = $1 AND ingested_at IS NULL`, [runId]);
  return rows[0]!.n;
}

/** Provider batches not read back yet, counted by status. */
export async function openBatchesByStatus(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM provider_batches WHERE ingested_at IS NULL GROUP BY 1`);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
