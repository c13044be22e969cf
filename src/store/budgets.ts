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
  spent: Spent;
  /** Why the tenant is over, for the job's failure or delay reason. */
  reason?: string;
  /** When the exceeded period resets (UTC). */
  resetsAt?: Date;
}

/** What a tenant has spent in the current UTC day and month; holds of requests in flight count as spent. */
export interface Spent {
  usdDay: number;
  usdMonth: number;
  tokensDay: number;
  tokensMonth: number;
}

/**
 * The one statement of what tenants spent (provider-reported usage in the ledger, plus the holds
 * of gateway requests in flight, which count as spent until released), for the tenants `from`
 * yields as `t.tenant`. `now` is the placeholder of the current time. Days and months are UTC.
 */
function spentSql(from: string, now: string): string {
  const day = `date_trunc('day', ${now}::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  const month = `date_trunc('month', ${now}::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  return `SELECT t.tenant, b.budget, s.usd_day + h.usd AS usd_day, s.usd_month + h.usd AS usd_month, s.tok_day + h.tok AS tok_day, s.tok_month + h.tok AS tok_month
    FROM ${from}
    LEFT JOIN LATERAL (SELECT json_build_object('tenant', tenant, 'usdPerDay', usd_per_day::float, 'usdPerMonth', usd_per_month::float,
                'tokensPerDay', tokens_per_day::float, 'tokensPerMonth', tokens_per_month::float, 'onExceed', on_exceed) AS budget
           FROM tenant_budgets WHERE tenant = t.tenant) b ON true
    CROSS JOIN LATERAL (SELECT coalesce(sum(cost_usd) FILTER (WHERE at >= ${day}), 0)::float AS usd_day, coalesce(sum(cost_usd), 0)::float AS usd_month,
                coalesce(sum(tokens) FILTER (WHERE at >= ${day}), 0)::float AS tok_day, coalesce(sum(tokens), 0)::float AS tok_month
           FROM ledger WHERE tenant = t.tenant AND status = 'ok' AND at >= ${month}) s
    CROSS JOIN LATERAL (SELECT coalesce(sum(usd), 0)::float AS usd, coalesce(sum(tokens), 0)::float AS tok
           FROM budget_reservations WHERE tenant = t.tenant AND expires_at > ${now}) h`;
}

interface SpentRow {
  tenant: string;
  budget: Budget | null;
  usd_day: number;
  usd_month: number;
  tok_day: number;
  tok_month: number;
}
const spentOf = (r: SpentRow): Spent => ({ usdDay: r.usd_day, usdMonth: r.usd_month, tokensDay: r.tok_day, tokensMonth: r.tok_month });

/** A budget's four limits: which field caps which part of {@link Spent}, and over which period. */
export const BUDGET_LIMITS = [
  { limit: 'usdPerDay', spent: 'usdDay', period: 'day', unit: 'usd' },
  { limit: 'tokensPerDay', spent: 'tokensDay', period: 'day', unit: 'tokens' },
  { limit: 'usdPerMonth', spent: 'usdMonth', period: 'month', unit: 'usd' },
  { limit: 'tokensPerMonth', spent: 'tokensMonth', period: 'month', unit: 'tokens' },
] as const satisfies readonly { limit: keyof Budget; spent: keyof Spent; period: 'day' | 'month'; unit: 'usd' | 'tokens' }[];

/**
 * Whether `tenant` may spend `upcomingTokens` more now. Days and months are UTC. Spend is what
 * the ledger recorded (provider-reported usage); the upcoming call counts with its estimate.
 */
export async function checkBudget(db: Queryable, tenant: string, upcomingTokens: number, upcomingUsd: number, now = new Date()): Promise<BudgetCheck> {
  const { rows } = await db.query<SpentRow>(spentSql(`(SELECT $1::text AS tenant) t`, '$2'), [tenant, now]);
  const spent = spentOf(rows[0]!);
  const b = rows[0]!.budget;
  if (!b) return { ok: true, budget: null, spent };
  const resets = {
    day: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)),
    month: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  };
  const upcoming = { usd: upcomingUsd, tokens: upcomingTokens };
  const hit = BUDGET_LIMITS.find((l) => b[l.limit] !== null && spent[l.spent] + upcoming[l.unit] > b[l.limit]!);
  if (!hit) return { ok: true, budget: b, spent };
  const when = hit.period === 'day' ? 'today' : 'this month';
  const what = hit.unit === 'usd' ? `$${b[hit.limit]} (spent $${spent[hit.spent].toFixed(6)} ${when})` : `${b[hit.limit]} tokens (spent ${spent[hit.spent]} ${when})`;
  return { ok: false, budget: b, spent, reason: `tenant ${tenant} would exceed its ${hit.period === 'day' ? 'daily' : 'monthly'} budget ${what} with ${upcomingTokens} more tokens`, resetsAt: resets[hit.period] };
}

/** Every budgeted tenant with its budget and what it has spent in the current periods. One statement. */
export async function budgetUsage(db: Queryable, now = new Date()): Promise<{ budget: Budget; spent: Spent }[]> {
  const { rows } = await db.query<SpentRow>(`${spentSql('tenant_budgets t', '$1')} ORDER BY t.tenant`, [now]);
  return rows.map((r) => ({ budget: r.budget!, spent: spentOf(r) }));
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
