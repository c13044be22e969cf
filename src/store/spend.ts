import type { Queryable } from './db.ts';
import { IS_REQUEST_ROW } from './ledger.ts';

export const SPEND_GROUPS = ['tenant', 'model', 'day', 'mode', 'key'] as const;
export type SpendGroup = (typeof SPEND_GROUPS)[number];

export interface SpendRow {
  key: string;
  /** The second group's value, when the rows are grouped by two ({@link spendBy}'s `thenBy`). */
  key2?: string;
  calls: number;
  tokens: number;
  spentUsd: number;
  /** Tokens the cache answered instead of the provider. */
  cacheTokensSaved: number;
  cacheSavedUsd: number;
  /** What the batch-mode tokens would have cost more on the synchronous endpoint. */
  batchSavedUsd: number;
  /** Attempts sent and never answered (`unknown`) or still in flight (`sent`): the provider may have billed them. */
  possiblyBilledCalls: number;
  /** Their estimated tokens, and what those would cost on the synchronous endpoint; not in `spentUsd`. */
  possiblyBilledTokens: number;
  possiblyBilledUsd: number;
}

const KEYS: Record<SpendGroup, string> = {
  tenant: 'l.tenant',
  model: `coalesce(mv.key, '(unknown)')`,
  day: `to_char(date_trunc('day', l.at), 'YYYY-MM-DD')`,
  mode: 'l.mode',
  // A key by id and prefix (never its secret); rows of ingest and batch runs have none.
  key: `coalesce(ak.id::text || ' ' || ak.prefix || '…', '(no key)')`,
};


/** Spend from the ledger, grouped by one key (or two, with `thenBy`); one statement. */
export async function spendBy(db: Queryable, by: SpendGroup, opts: { since?: Date; tenant?: string; thenBy?: SpendGroup } = {}): Promise<SpendRow[]> {
  const two = opts.thenBy !== undefined;
  const { rows } = await db.query<{ key: string; key2: string | null; calls: string; tokens: string; spent: string; cache_tokens: string; cache_saved: string; batch_saved: string; maybe_calls: string; maybe_tokens: string; maybe_usd: string }>(
    `SELECT ${KEYS[by]} AS key, ${two ? KEYS[opts.thenBy!] : 'NULL'} AS key2,
            count(*) FILTER (WHERE l.mode <> 'cache' AND NOT ${IS_REQUEST_ROW}) AS calls,
            coalesce(sum(l.tokens) FILTER (WHERE l.status = 'ok'), 0) AS tokens,
            coalesce(sum(l.cost_usd) FILTER (WHERE l.status = 'ok'), 0) AS spent,
            coalesce(sum(l.tokens) FILTER (WHERE l.status = 'cache_hit'), 0) AS cache_tokens,
            coalesce(sum(l.saved_usd) FILTER (WHERE l.status = 'cache_hit' OR l.status = 'served'), 0) AS cache_saved,
            coalesce(sum(l.tokens * (mv.price_sync_per_mtok - coalesce(mv.price_batch_per_mtok, mv.price_sync_per_mtok)) / 1e6)
                     FILTER (WHERE l.mode = 'batch' AND l.status = 'ok'), 0) AS batch_saved,
            count(*) FILTER (WHERE l.status IN ('sent', 'unknown')) AS maybe_calls,
            coalesce(sum(l.tokens) FILTER (WHERE l.status IN ('sent', 'unknown')), 0) AS maybe_tokens,
            coalesce(sum(l.tokens * coalesce(mv.price_sync_per_mtok, 0) / 1e6) FILTER (WHERE l.status IN ('sent', 'unknown')), 0) AS maybe_usd
       FROM ledger l LEFT JOIN model_versions mv ON mv.id = l.model_version_id${by === 'key' || opts.thenBy === 'key' ? ' LEFT JOIN api_keys ak ON ak.id = l.api_key_id' : ''}
      WHERE ($1::timestamptz IS NULL OR l.at >= $1) AND ($2::text IS NULL OR l.tenant = $2)
      GROUP BY 1, 2 ORDER BY ${two ? '1, 2' : '5 DESC, 1'}`,
    [opts.since ?? null, opts.tenant ?? null],
  );
  return rows.map((r) => ({
    key: r.key,
    ...(two ? { key2: r.key2! } : {}),
    calls: Number(r.calls),
    tokens: Number(r.tokens),
    spentUsd: Number(r.spent),
    cacheTokensSaved: Number(r.cache_tokens),
    cacheSavedUsd: Number(r.cache_saved),
    batchSavedUsd: Number(r.batch_saved),
    possiblyBilledCalls: Number(r.maybe_calls),
    possiblyBilledTokens: Number(r.maybe_tokens),
    possiblyBilledUsd: Number(r.maybe_usd),
  }));
}

/** Rolls the ledger of today and yesterday (UTC) up into spend_daily, replacing those days' rows. Returns the rows written. */
export async function rollUpSpend(db: Queryable): Promise<number> {
  const r = await db.query(
    `INSERT INTO spend_daily (day, tenant, model_version_id, mode, calls, tokens, cost_usd, saved_usd)
     SELECT (l.at AT TIME ZONE 'UTC')::date, l.tenant, coalesce(l.model_version_id, 0), l.mode, count(*) FILTER (WHERE NOT ${IS_REQUEST_ROW}),
            coalesce(sum(l.tokens) FILTER (WHERE l.status NOT IN ('sent', 'unknown') AND NOT ${IS_REQUEST_ROW}), 0),
            coalesce(sum(l.cost_usd) FILTER (WHERE NOT ${IS_REQUEST_ROW}), 0), coalesce(sum(l.saved_usd), 0)
       FROM ledger l WHERE l.at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 day'
      GROUP BY 1, 2, 3, 4
     ON CONFLICT (day, tenant, model_version_id, mode) DO UPDATE
       SET calls = EXCLUDED.calls, tokens = EXCLUDED.tokens, cost_usd = EXCLUDED.cost_usd, saved_usd = EXCLUDED.saved_usd`,
  );
  return r.rowCount ?? 0;
}
