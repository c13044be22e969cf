import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { spendBy, type SpendGroup, type SpendRow } from '../../store/spend.ts';
import type { CommandEnv } from '../main.ts';
import { table } from '../output.ts';

export interface SpendResult {
  by: SpendGroup;
  since: string | null;
  rows: SpendRow[];
  total: Omit<SpendRow, 'key'>;
}

/** Parses `--since`: an ISO date/time, or a duration back from now like 24h, 7d, 30m. */
export function parseSince(v: string | undefined, now = Date.now()): Date | undefined {
  if (!v) return undefined;
  const m = /^(\d+)([mhd])$/.exec(v);
  if (m) return new Date(now - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since must be an ISO date (2026-11-01) or a duration like 24h, 7d, got ${JSON.stringify(v)}`);
  return d;
}

export async function runSpend(ctx: Context, o: { by: string; since?: string | undefined; tenant?: string | undefined }): Promise<SpendResult> {
  if (!['tenant', 'model', 'day', 'mode'].includes(o.by)) throw new UsageError(`--by must be tenant, model, day or mode, not ${JSON.stringify(o.by)}`);
  const since = parseSince(o.since);
  const rows = await spendBy(ctx.db, o.by as SpendGroup, { ...(since ? { since } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) });
  const total = rows.reduce(
    (t, r) => ({ calls: t.calls + r.calls, tokens: t.tokens + r.tokens, spentUsd: t.spentUsd + r.spentUsd, cacheTokensSaved: t.cacheTokensSaved + r.cacheTokensSaved, cacheSavedUsd: t.cacheSavedUsd + r.cacheSavedUsd, batchSavedUsd: t.batchSavedUsd + r.batchSavedUsd }),
    { calls: 0, tokens: 0, spentUsd: 0, cacheTokensSaved: 0, cacheSavedUsd: 0, batchSavedUsd: 0 },
  );
  return { by: o.by as SpendGroup, since: since?.toISOString() ?? null, rows, total };
}

export function formatSpend(s: SpendResult): string {
  if (s.rows.length === 0) return 'no provider calls recorded yet';
  const usd = (x: number) => `$${x.toFixed(6)}`;
  const rows = s.rows.map((r) => [r.key, r.calls, r.tokens, usd(r.spentUsd), r.cacheTokensSaved, usd(r.cacheSavedUsd), usd(r.batchSavedUsd)]);
  rows.push(['TOTAL', s.total.calls, s.total.tokens, usd(s.total.spentUsd), s.total.cacheTokensSaved, usd(s.total.cacheSavedUsd), usd(s.total.batchSavedUsd)]);
  return table([s.by.toUpperCase(), 'CALLS', 'TOKENS', 'SPENT', 'CACHE TOKENS SAVED', 'CACHE SAVED', 'BATCH SAVED'], rows);
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('spend')
    .description('money spent on providers, with what the cache and batch mode saved, from the ledger')
    .option('--by <group>', 'tenant, model, day or mode', 'model')
    .option('--since <when>', 'ISO date, or a duration back from now: 24h, 7d')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, o: { by: string; since?: string; tenant?: string }) => (out.result(await runSpend(ctx, o), formatSpend), 0)));
}
