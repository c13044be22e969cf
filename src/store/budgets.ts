/** Per-tenant budgets and the spend they are checked against (one query per check). */
import { withTransaction, type Db, type Queryable } from './db.ts';

export interface Budget {
  tenant: string;
  usdPerDay: number | null;
  usdPerMonth: number | null;
  tokensPerDay: number | null;
  tokensPerMonth: number | null;
  onExceed: 'delay' | 'fail';
}

export async function setBudget(db: Queryable, b: Budget): Promise<void> {
  await db.query(
    `INSERT INTO tenant_budgets (tenant, usd_per_day, usd_per_month, tokens_per_day, tokens_per_month, on_exceed)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant) DO UPDATE SET usd_per_day = $2, usd_per_month = $3, tokens_per_day = $4, tokens_per_month = $5, on_exceed = $6, updated_at = now()`,
    [b.tenant, b.usdPerDay, b.usdPerMonth, b.tokensPerDay, b.tokensPerMonth, b.onExceed],
  );
}

export async function clearBudget(db: Queryable, tenant: string): Promise<boolean> {
  return ((await db.query(`DELETE FROM tenant_budgets WHERE tenant = $1`, [tenant])).rowCount ?? 0) > 0;
}

export async function listBudgets(db: Queryable): Promise<Budget[]> {
  const { rows } = await db.query(
    `SELECT tenant, usd_per_day::float AS "usdPerDay", usd_per_month::float AS "usdPerMonth", tokens_per_day::float AS "tokensPerDay",
            tokens_per_month::float AS "tokensPerMonth", on_exceed AS "onExceed" FROM tenant_budgets ORDER BY tenant`,
  );
  return rows;
}

export interface BudgetCheck {
  ok: boolean;
  budget: Budget | null;
  spent: { usdDay: number; usdMonth: number; tokensDay: number; tokensMonth: number };
  /** Why the tenant is over, for the job's failure or delay reason. */
  reason?: string;
  /** When the exceeded period resets (UTC). */
  resetsAt?: Date;
}

/**
 * Whether `tenant` may spend `upcomingTokens` more now. Days and months are UTC. Spend is what
 * the ledger recorded (provider-reported usage); the upcoming call counts with its estimate.
 */
export async function checkBudget(db: Queryable, tenant: string, upcomingTokens: number, upcomingUsd: number, now = new Date()): Promise<BudgetCheck> {
  const { rows } = await db.query<{ b: Budget | null; usd_day: string; usd_month: string; tok_day: string; tok_month: string; held_usd: string; held_tok: string }>(
    `SELECT (SELECT row_to_json(x) FROM (SELECT tenant, usd_per_day::float AS "usdPerDay", usd_per_month::float AS "usdPerMonth",
               tokens_per_day::float AS "tokensPerDay", tokens_per_month::float AS "tokensPerMonth", on_exceed AS "onExceed"
               FROM tenant_budgets WHERE tenant = $1) x) AS b,
            coalesce(sum(cost_usd) FILTER (WHERE at >= date_trunc('day', $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), 0) AS usd_day,
            coalesce(sum(cost_usd), 0) AS usd_month,
            coalesce(sum(tokens) FILTER (WHERE at >= date_trunc('day', $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), 0) AS tok_day,
            coalesce(sum(tokens), 0) AS tok_month,
            (SELECT coalesce(sum(usd), 0) FROM budget_reservations WHERE tenant = $1 AND expires_at > $2) AS held_usd,
            (SELECT coalesce(sum(tokens), 0) FROM budget_reservations WHERE tenant = $1 AND expires_at > $2) AS held_tok
       FROM ledger WHERE tenant = $1 AND status = 'ok' AND at >= date_trunc('month', $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
    [tenant, now],
  );
  const r = rows[0]!;
  // Held by gateway requests in flight (reserveBudget): spent for every check until released.
  const held = { usd: Number(r.held_usd), tokens: Number(r.held_tok) };
  const spent = { usdDay: Number(r.usd_day) + held.usd, usdMonth: Number(r.usd_month) + held.usd, tokensDay: Number(r.tok_day) + held.tokens, tokensMonth: Number(r.tok_month) + held.tokens };
  const b = r.b;
  if (!b) return { ok: true, budget: null, spent };
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const over: [boolean, string, Date][] = [
    [b.usdPerDay !== null && spent.usdDay + upcomingUsd > b.usdPerDay, `daily budget $${b.usdPerDay} (spent $${spent.usdDay.toFixed(6)} today)`, day],
    [b.tokensPerDay !== null && spent.tokensDay + upcomingTokens > b.tokensPerDay, `daily budget ${b.tokensPerDay} tokens (spent ${spent.tokensDay} today)`, day],
    [b.usdPerMonth !== null && spent.usdMonth + upcomingUsd > b.usdPerMonth, `monthly budget $${b.usdPerMonth} (spent $${spent.usdMonth.toFixed(6)} this month)`, month],
    [b.tokensPerMonth !== null && spent.tokensMonth + upcomingTokens > b.tokensPerMonth, `monthly budget ${b.tokensPerMonth} tokens (spent ${spent.tokensMonth} this month)`, month],
  ];
  const hit = over.find(([x]) => x);
  if (!hit) return { ok: true, budget: b, spent };
  return { ok: false, budget: b, spent, reason: `tenant ${tenant} would exceed its ${hit[1]} with ${upcomingTokens} more tokens`, resetsAt: hit[2] };
}

/** Whether the tenant has a budget: one primary-key lookup, for {@link reserveBudget}'s `budgeted`. */
export async function tenantHasBudget(db: Queryable, tenant: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM tenant_budgets WHERE tenant = $1::text`, [tenant]);
  return (rowCount ?? 0) > 0;
}

/**
 * Checks the budget and, when it allows, holds `tokens` and `usd` against it until
 * {@link releaseBudget} (or `ttlMs`, for a process that died), all under a per-tenant advisory
 * lock: of two requests racing for the last of a budget, the second sees the first's hold. A
 * tenant without a budget holds nothing (`id` null).
 * @param opts.budgeted {@link tenantHasBudget}'s answer, when the caller asked it already (the
 *   gateway does, in its first round trip) @default asked here
 */
export async function reserveBudget(
  db: Db,
  tenant: string,
  tokens: number,
  usd: number,
  ttlMs: number,
  opts: { now?: Date; budgeted?: boolean } = {},
): Promise<{ check: BudgetCheck; id: string | null }> {
  const now = opts.now ?? new Date();
  // Most tenants have no budget: no lock and no sums over the month's ledger.
  if (!(opts.budgeted ?? (await tenantHasBudget(db, tenant)))) return { check: { ok: true, budget: null, spent: { usdDay: 0, usdMonth: 0, tokensDay: 0, tokensMonth: 0 } }, id: null };
  return withTransaction(db, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('embedq:budget:' || $1, 0))`, [tenant]);
    const check = await checkBudget(client, tenant, tokens, usd, now);
    if (!check.ok || !check.budget) return { check, id: null };
    const { rows } = await client.query<{ id: string }>(`INSERT INTO budget_reservations (tenant, tokens, usd, expires_at) VALUES ($1, $2, $3, $4) RETURNING id::text AS id`, [
      tenant,
      tokens,
      usd,
      new Date(now.getTime() + ttlMs),
    ]);
    return { check, id: rows[0]!.id };
  });
}

/** Lets go of a hold (its attempts are in the ledger now); expired holds are swept with it. */
export async function releaseBudget(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM budget_reservations WHERE id = $1::bigint OR expires_at < now() - interval '1 hour'`, [id]);
}
