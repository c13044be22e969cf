import { redactUrls } from '../config/redact.ts';
import type { Queryable } from './db.ts';

/**
 * `sent`: a provider attempt ledgered before it went out and not settled yet (in flight, or its
 * worker died). `unknown`: no answer came back (a timeout, a dropped connection, a crash found by
 * the sweep), so the provider may have billed it: counted as possibly billed, with its estimate.
 */
export type LedgerStatus = 'ok' | 'error' | 'retry' | 'cache_hit' | 'sent' | 'unknown' | RequestStatus;

/** An online request's own row (mode `online`): answered, refused by embedq (auth, limits, input), or failed at the provider. */
export const REQUEST_STATUSES = ['served', 'refused', 'failed'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/**
 * SQL: the row is an online request's own (alias `l`). It repeats what its provider attempts
 * billed, so every count of calls, tokens or money leaves it out.
 */
export const IS_REQUEST_ROW = `l.status IN (${REQUEST_STATUSES.map((x) => `'${x}'`).join(', ')})`;

export interface LedgerEntry {
  tenant: string;
  provider: string;
  modelVersionId: number;
  mode: 'sync' | 'batch' | 'cache' | 'online';
  status: LedgerStatus;
  inputs: number;
  tokens: number;
  latencyMs?: number | null;
  costUsd?: number;
  savedUsd?: number;
  attempt?: number | null;
  httpStatus?: number | null;
  error?: string | null;
  batchId?: string | null;
  jobId?: string | null;
  runId?: string | null;
  /** The provider name the attempt was sent to, when a model has deployments (else its own provider). */
  deployment?: string | null;
  /** Sent to another deployment after one failed (a failover). */
  failover?: boolean;
  /** The gateway key an online request came with (its attempts carry it too). */
  apiKeyId?: string | null;
  /** The request's `user` field. */
  endUser?: string | null;
  /** An online request's inputs answered from the cache. */
  cacheHits?: number | null;
}

/** Appends ledger rows in one multi-row statement. */
export async function recordLedger(db: Queryable, entries: LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const col = <K extends keyof LedgerEntry>(k: K) => entries.map((e) => e[k] ?? null);
  await db.query(
    `INSERT INTO ledger (tenant, provider, model_version_id, mode, status, inputs, tokens, latency_ms, cost_usd, saved_usd, attempt, http_status, error, batch_id, job_id, run_id, deployment, failover,
                         api_key_id, end_user, cache_hits)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::int[], $9::numeric[], $10::numeric[],
                          $11::int[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::boolean[], $19::bigint[], $20::text[], $21::int[])`,
    [
      col('tenant'), col('provider'), col('modelVersionId'), col('mode'), col('status'), col('inputs'), col('tokens'), col('latencyMs'),
      entries.map((e) => e.costUsd ?? 0), entries.map((e) => e.savedUsd ?? 0), col('attempt'), col('httpStatus'), entries.map((e) => (e.error == null ? null : redactUrls(e.error))),
      col('batchId'), col('jobId'), col('runId'), col('deployment'), entries.map((e) => e.failover ?? false), col('apiKeyId'), col('endUser'), col('cacheHits'),
    ],
  );
}

/** A provider attempt about to be sent. */
export type AttemptStart = Pick<LedgerEntry, 'tenant' | 'provider' | 'modelVersionId' | 'mode' | 'inputs' | 'tokens' | 'attempt' | 'jobId' | 'runId' | 'deployment' | 'failover' | 'apiKeyId' | 'endUser'>;

/**
 * Ledgers one provider attempt before it is sent: status `sent`, the estimated tokens, no cost
 * yet. One row per request attempt, never per input. Returns the row's id for {@link settleAttempt}.
 */
export async function recordAttempt(db: Queryable, a: AttemptStart): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO ledger (tenant, provider, model_version_id, mode, status, inputs, tokens, attempt, job_id, run_id, deployment, failover, api_key_id, end_user)
     VALUES ($1, $2, $3, $4, 'sent', $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [a.tenant, a.provider, a.modelVersionId, a.mode, a.inputs, a.tokens, a.attempt ?? null, a.jobId ?? null, a.runId ?? null, a.deployment ?? null, a.failover ?? false, a.apiKeyId ?? null, a.endUser ?? null],
  );
  return rows[0]!.id;
}

/** How an attempt ended: billed tokens and cost for `ok`, the estimate (no cost) for `unknown`, none otherwise. */
export interface AttemptOutcome {
  status: 'ok' | 'retry' | 'error' | 'unknown';
  tokens: number;
  costUsd: number;
  latencyMs: number | null;
  httpStatus: number | null;
  error: string | null;
}

/** Settles an attempt row; the real outcome also replaces a sweep's `unknown` (a call slower than the bound). */
export async function settleAttempt(db: Queryable, id: string, o: AttemptOutcome): Promise<void> {
  await db.query(
    `UPDATE ledger SET status = $2, tokens = $3, cost_usd = $4, latency_ms = $5, http_status = $6, error = $7
      WHERE id = $1 AND status IN ('sent', 'unknown')`,
    [id, o.status, o.tokens, o.costUsd, o.latencyMs, o.httpStatus, o.error == null ? null : redactUrls(o.error)],
  );
}

/**
 * How long an attempt may stay `sent` before the sweep calls it `unknown`: a provider attempt
 * times out after 60 s (the providers' `timeoutMs`), so twice that is never one still in flight.
 */
export const UNSETTLED_AFTER_MS = 120_000;

/** The `error` of an attempt the sweep settled. */
export const NEVER_SETTLED = 'sent but never settled (its worker stopped mid-call): possibly billed';

/**
 * Marks attempts still `sent` after `olderThanMs` as `unknown`: no attempt is in flight that long
 * (each has a timeout), so its worker died between sending and settling. Returns how many.
 */
export async function sweepUnsettled(db: Queryable, olderThanMs: number): Promise<number> {
  const r = await db.query(
    `UPDATE ledger SET status = 'unknown', error = $2 WHERE status = 'sent' AND at < now() - $1::double precision * interval '1 millisecond'`,
    [olderThanMs, NEVER_SETTLED],
  );
  return r.rowCount ?? 0;
}
