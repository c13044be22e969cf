/**
 * Reads of the ledger (and of provider batch states) for `embedq log` and the server's /metrics.
 * Every function is one statement; the metric reads aggregate in SQL so a scrape costs a handful
 * of queries however many calls the ledger holds.
 */
import type { Queryable } from './db.ts';
import { IS_REQUEST_ROW, type LedgerEntry } from './ledger.ts';

/** One provider call (or one job's cache hits) as `embedq log` shows it: a ledger entry as stored. */
export interface LedgerRow extends Pick<LedgerEntry, 'tenant' | 'provider' | 'mode' | 'status' | 'inputs' | 'tokens'> {
  id: number;
  at: string;
  /** The resolved model version key, `provider/model@version:dims`. */
  modelVersion: string;
  latencyMs: number | null;
  costUsd: number;
  /** What the cache saved (cache_hit rows). */
  savedUsd: number;
  httpStatus: number | null;
  error: string | null;
  batchId: string | null;
  runId: string | null;
  /** The provider name the attempt went to (null for cache hits, batches and rows before deployments). */
  deployment: string | null;
  /** Sent to another deployment after one failed. */
  failover: boolean;
  /** The gateway key of an online row, by its display prefix (never the secret). */
  key: string | null;
  /** The `user` an online request named. */
  endUser: string | null;
  /** An online request's inputs answered from the cache. */
  cacheHits: number | null;
}

export interface LedgerFilter {
  tenant?: string | undefined;
  /** `provider/model`, `provider/model@version`, or a full model version key. */
  model?: string | undefined;
  since?: Date | undefined;
  /** Most rows, newest first. @default 100 */
  limit?: number;
}

/** The filter's WHERE clause over `ledger l LEFT JOIN model_versions mv`, on parameters $1–$3 ({@link filterParams}). */
const FILTER_WHERE = `($1::timestamptz IS NULL OR l.at >= $1)
        AND ($2::text IS NULL OR l.tenant = $2)
        AND ($3::text IS NULL OR mv.key = $3 OR mv.provider || '/' || mv.model = $3 OR mv.provider || '/' || mv.model || '@' || mv.version = $3)`;

const filterParams = (f: LedgerFilter) => [f.since ?? null, f.tenant ?? null, f.model ?? null];

/** The newest ledger rows matching the filter, newest first. */
export async function listLedger(db: Queryable, f: LedgerFilter = {}): Promise<LedgerRow[]> {
  const { rows } = await db.query<RawLedgerRow>(
    `SELECT l.id, l.at, l.tenant, coalesce(mv.key, '(unknown)') AS model_version, l.provider, l.mode, l.status, l.inputs,
            l.tokens, l.latency_ms, l.cost_usd, l.saved_usd, l.http_status, l.error, l.batch_id, l.run_id, l.deployment, l.failover,
            ak.prefix AS key_prefix, l.end_user, l.cache_hits
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id LEFT JOIN api_keys ak ON ak.id = l.api_key_id
      WHERE ${FILTER_WHERE}
      ORDER BY l.at DESC, l.id DESC
      LIMIT $4`,
    [...filterParams(f), f.limit ?? 100],
  );
  // pg returns bigint and numeric columns as strings (they may exceed a double); these fit.
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at.toISOString(),
    tenant: r.tenant,
    modelVersion: r.model_version,
    provider: r.provider,
    mode: r.mode,
    status: r.status,
    inputs: r.inputs,
    tokens: Number(r.tokens),
    latencyMs: r.latency_ms,
    costUsd: Number(r.cost_usd),
    savedUsd: Number(r.saved_usd),
    httpStatus: r.http_status,
    error: r.error,
    batchId: r.batch_id,
    runId: r.run_id,
    deployment: r.deployment,
    failover: r.failover,
    key: r.key_prefix === null ? null : `${r.key_prefix}…`,
    endUser: r.end_user,
    cacheHits: r.cache_hits,
  }));
}

/** Attempts the provider may have billed without the ledger knowing (`unknown`, or `sent` and not settled yet). */
export interface PossiblyBilled {
  calls: number;
  /** Their estimated tokens. */
  tokens: number;
  /** What those cost on the synchronous endpoint. */
  usd: number;
}

/** {@link PossiblyBilled} over every row matching the filter (not only a listed page); one statement. */
export async function possiblyBilled(db: Queryable, f: LedgerFilter = {}): Promise<PossiblyBilled> {
  const { rows } = await db.query<{ calls: string; tokens: string; usd: string }>(
    `SELECT count(*) AS calls, coalesce(sum(l.tokens), 0) AS tokens, coalesce(sum(l.tokens * coalesce(mv.price_sync_per_mtok, 0) / 1e6), 0) AS usd
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id
      WHERE l.status IN ('sent', 'unknown') AND ${FILTER_WHERE}`,
    filterParams(f),
  );
  return { calls: Number(rows[0]!.calls), tokens: Number(rows[0]!.tokens), usd: Number(rows[0]!.usd) };
}

interface RawLedgerRow {
  id: string;
  at: Date;
  tenant: string;
  model_version: string;
  provider: string;
  mode: LedgerRow['mode'];
  status: LedgerRow['status'];
  inputs: number;
  tokens: string;
  latency_ms: number | null;
  cost_usd: string;
  saved_usd: string;
  http_status: number | null;
  error: string | null;
  batch_id: string | null;
  run_id: string | null;
  deployment: string | null;
  failover: boolean;
  key_prefix: string | null;
  end_user: string | null;
  cache_hits: number | null;
}

/** Ledger totals per (provider, model version, mode, status), over all time. */
export interface CallTotals {
  provider: string;
  model: string;
  mode: LedgerRow['mode'];
  status: LedgerRow['status'];
  calls: number;
  inputs: number;
  tokens: number;
  /** Calls the provider answered with HTTP 429. */
  rateLimited: number;
}

export async function callTotals(db: Queryable): Promise<CallTotals[]> {
  const { rows } = await db.query<{ provider: string; model: string; mode: CallTotals['mode']; status: CallTotals['status']; calls: string; inputs: string; tokens: string; limited: string }>(
    `SELECT l.provider, coalesce(mv.key, '(unknown)') AS model, l.mode, l.status, count(*) AS calls,
            coalesce(sum(l.inputs), 0) AS inputs, coalesce(sum(l.tokens), 0) AS tokens,
            count(*) FILTER (WHERE l.http_status = 429) AS limited
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id
      WHERE NOT ${IS_REQUEST_ROW}
      GROUP BY 1, 2, 3, 4`,
  );
  return rows.map((r) => ({ ...r, calls: Number(r.calls), inputs: Number(r.inputs), tokens: Number(r.tokens), rateLimited: Number(r.limited) }));
}

/**
 * Chunks answered from the cache and chunks embedded by a provider, from {@link callTotals}'s
 * rows, and the cache-hit ratio hits / (hits + embedded), 0 before any work: the one rule for
 * /metrics and the status page.
 */
export function cacheHits(rows: readonly CallTotals[]): { hits: number; embedded: number; ratio: number } {
  let hits = 0;
  let embedded = 0;
  for (const r of rows) {
    if (r.status === 'cache_hit') hits += r.inputs;
    else if (r.status === 'ok') embedded += r.inputs;
  }
  return { hits, embedded, ratio: hits + embedded ? hits / (hits + embedded) : 0 };
}

/** Attempts per (model version, deployment, status), and how many of them were failovers. */
export interface DeploymentTotals {
  model: string;
  deployment: string;
  status: LedgerRow['status'];
  calls: number;
  failovers: number;
}

export async function deploymentTotals(db: Queryable): Promise<DeploymentTotals[]> {
  const { rows } = await db.query<{ model: string; deployment: string; status: DeploymentTotals['status']; calls: string; failovers: string }>(
    `SELECT coalesce(mv.key, '(unknown)') AS model, l.deployment, l.status, count(*) AS calls, count(*) FILTER (WHERE l.failover) AS failovers
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id
      WHERE l.deployment IS NOT NULL AND NOT ${IS_REQUEST_ROW}
      GROUP BY 1, 2, 3`,
  );
  return rows.map((r) => ({ ...r, calls: Number(r.calls), failovers: Number(r.failovers) }));
}

/** Per (provider, model version): how many timed calls fall in each latency bucket, and their sum. */
export interface LatencyBuckets {
  provider: string;
  model: string;
  /** counts[i] = calls with latency in (bounds[i-1], bounds[i]]; the last entry is above every bound. */
  counts: number[];
  sumMs: number;
}

/**
 * Latency histogram, bucketed in SQL (`boundsMs` ascending integers): of every provider call with
 * a measured latency, or (`online`) of the gateway's requests, end to end.
 */
export async function latencyBuckets(db: Queryable, boundsMs: readonly number[], of: 'provider' | 'online' = 'provider'): Promise<LatencyBuckets[]> {
  // width_bucket counts the thresholds <= its operand; with integer milliseconds, feeding it
  // latency - 1 counts the bounds strictly below the latency, which is Prometheus' `le` bucket.
  const { rows } = await db.query<{ provider: string; model: string; bucket: number; n: string; sum_ms: string }>(
    `SELECT l.provider, coalesce(mv.key, '(unknown)') AS model, width_bucket(l.latency_ms - 1, $1::int[]) AS bucket,
            count(*) AS n, sum(l.latency_ms) AS sum_ms
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id
      WHERE l.latency_ms IS NOT NULL AND l.mode <> 'cache' AND ${of === 'online' ? '' : 'NOT '}${IS_REQUEST_ROW}
      GROUP BY 1, 2, 3`,
    [boundsMs],
  );
  const out = new Map<string, LatencyBuckets>();
  for (const r of rows) {
    const k = `${r.provider}\u0000${r.model}`;
    let s = out.get(k);
    if (!s) out.set(k, (s = { provider: r.provider, model: r.model, counts: Array<number>(boundsMs.length + 1).fill(0), sumMs: 0 }));
    s.counts[r.bucket]! += Number(r.n);
    s.sumMs += Number(r.sum_ms);
  }
  return [...out.values()];
}

/** The gateway's requests per (model version, status, HTTP status), with their inputs and cache hits. */
export interface OnlineTotals {
  model: string;
  status: string;
  httpStatus: number;
  requests: number;
  inputs: number;
  hits: number;
}

export async function onlineTotals(db: Queryable): Promise<OnlineTotals[]> {
  const { rows } = await db.query<{ model: string; status: string; http_status: number; n: string; inputs: string; hits: string }>(
    `SELECT coalesce(mv.key, '(unknown)') AS model, l.status, coalesce(l.http_status, 0) AS http_status, count(*) AS n,
            coalesce(sum(l.inputs), 0) AS inputs, coalesce(sum(l.cache_hits), 0) AS hits
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id
      WHERE ${IS_REQUEST_ROW}
      GROUP BY 1, 2, 3`,
  );
  return rows.map((r) => ({ model: r.model, status: r.status, httpStatus: r.http_status, requests: Number(r.n), inputs: Number(r.inputs), hits: Number(r.hits) }));
}

/** Money spent per (tenant, model version), over all time. */
export async function spendTotals(db: Queryable): Promise<{ tenant: string; model: string; usd: number }[]> {
  const { rows } = await db.query<{ tenant: string; model: string; usd: string }>(
    `SELECT l.tenant, coalesce(mv.key, '(unknown)') AS model, coalesce(sum(l.cost_usd), 0) AS usd
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id
      WHERE l.mode <> 'cache' AND NOT ${IS_REQUEST_ROW}
      GROUP BY 1, 2`,
  );
  return rows.map((r) => ({ tenant: r.tenant, model: r.model, usd: Number(r.usd) }));
}

/**
 * Provider batches per (provider, status), every batch ever created; how many of them are not
 * read back yet (open); and for the open ones the age in seconds of the oldest (since it was submitted, or created if not yet).
 */
export async function batchStatusCounts(db: Queryable): Promise<{ provider: string; status: string; n: number; open: number; oldestOpenSeconds: number | null }[]> {
  const { rows } = await db.query<{ provider: string; status: string; n: number; open: number; oldestOpenSeconds: number | null }>(
    `SELECT provider, status, count(*)::int AS n, (count(*) FILTER (WHERE ingested_at IS NULL))::int AS open,
            extract(epoch FROM now() - min(coalesce(submitted_at, created_at)) FILTER (WHERE ingested_at IS NULL))::float AS "oldestOpenSeconds"
       FROM provider_batches GROUP BY 1, 2`,
  );
  return rows;
}
