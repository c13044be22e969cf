import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { SPEND_GROUPS, spendBy, type SpendGroup, type SpendRow } from '../../store/spend.ts';
import type { CommandEnv } from '../command.ts';
import { possiblyBilledNote, table, usd } from '../output.ts';
import { parseSince } from '../parse.ts';

export interface SpendResult {
  by: SpendGroup;
  since: string | null;
  rows: SpendRow[];
  total: Omit<SpendRow, 'key' | 'key2'>;
}

export async function runSpend(ctx: Context, o: { by: string; since?: string | undefined; tenant?: string | undefined }): Promise<SpendResult> {
  if (!(SPEND_GROUPS as readonly string[]).includes(o.by)) throw new UsageError(`--by must be ${SPEND_GROUPS.join(', ')}, not ${JSON.stringify(o.by)}`);
  const since = parseSince(o.since);
  const rows = await spendBy(ctx.db, o.by as SpendGroup, { ...(since ? { since } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) });
  const zero: Omit<SpendRow, 'key' | 'key2'> = { calls: 0, tokens: 0, spentUsd: 0, cacheTokensSaved: 0, cacheSavedUsd: 0, batchSavedUsd: 0, possiblyBilledCalls: 0, possiblyBilledTokens: 0, possiblyBilledUsd: 0 };
  const fields = Object.keys(zero) as (keyof typeof zero)[];
  const total = rows.reduce((t, r) => Object.fromEntries(fields.map((f) => [f, t[f] + r[f]])) as typeof zero, zero);
  return { by: o.by as SpendGroup, since: since?.toISOString() ?? null, rows, total };
}

export function formatSpend(s: SpendResult): string {
  if (s.rows.length === 0) return 'no provider calls recorded yet';
  const line = (key: string, r: Omit<SpendRow, 'key' | 'key2'>) => [key, r.calls, r.tokens, usd(r.spentUsd), r.cacheTokensSaved, usd(r.cacheSavedUsd), usd(r.batchSavedUsd), r.possiblyBilledCalls ? usd(r.possiblyBilledUsd) : '-'];
  const body = table([s.by.toUpperCase(), 'CALLS', 'TOKENS', 'SPENT', 'CACHE TOKENS SAVED', 'CACHE SAVED', 'BATCH SAVED', 'POSSIBLY BILLED'], [...s.rows.map((r) => line(r.key, r)), line('TOTAL', s.total)]);
  return s.total.possiblyBilledCalls ? `${body}\n${possiblyBilledNote(s.total.possiblyBilledCalls, s.total.possiblyBilledTokens, s.total.possiblyBilledUsd)}` : body;
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('spend')
    .description('money spent on providers, with what the cache and batch mode saved, from the ledger')
    .option('--by <group>', `${SPEND_GROUPS.join(', ')} (key: the gateway's virtual keys)`, 'model')
    .option('--since <when>', 'ISO date, or a duration back from now: 24h, 7d')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, o: { by: string; since?: string; tenant?: string }) => (out.result(await runSpend(ctx, o), formatSpend), 0)));
}
