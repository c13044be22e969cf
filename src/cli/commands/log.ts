import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { listLedger, possiblyBilled, type LedgerRow, type PossiblyBilled } from '../../store/ledger-read.ts';
import type { CommandEnv } from '../command.ts';
import { parseWholeNumber } from '../numbers.ts';
import { possiblyBilledNote, table, usd } from '../output.ts';
import { parseSince } from '../parse.ts';

export interface LogOptions {
  tenant?: string | undefined;
  /** `provider/model`, `provider/model@version` or a full model version key. */
  model?: string | undefined;
  /** ISO date/time, or a duration back from now (24h, 7d). */
  since?: string | undefined;
  /** Most rows to show, newest first. @default 100 */
  limit?: string | number | undefined;
}

export interface LogResult {
  since: string | null;
  limit: number;
  /** True when more rows match than `limit`. */
  more: boolean;
  rows: LedgerRow[];
  /** Over every matching row, listed or not: attempts sent and never answered (`unknown`) or still in flight (`sent`). */
  possiblyBilled: PossiblyBilled;
}

/** Most rows `--limit` accepts: the log is for reading; `embedq spend` aggregates. */
export const MAX_LOG_LIMIT = 10_000;

function parseLimit(v: string | number | undefined): number {
  if (v === undefined) return 100;
  return parseWholeNumber('--limit', String(v), { min: 1, max: MAX_LOG_LIMIT });
}

/** `embedq log`: provider calls (and cache hits) from the ledger, newest first. */
export async function runLog(ctx: Context, o: LogOptions = {}): Promise<LogResult> {
  const limit = parseLimit(o.limit);
  const since = parseSince(o.since);
  // One row more than asked tells whether the list was cut.
  const filter = { tenant: o.tenant, model: o.model, since };
  const [rows, maybe] = await Promise.all([listLedger(ctx.db, { ...filter, limit: limit + 1 }), possiblyBilled(ctx.db, filter)]);
  return { since: since?.toISOString() ?? null, limit, more: rows.length > limit, rows: rows.slice(0, limit), possiblyBilled: maybe };
}

export function formatLog(r: LogResult): string {
  if (r.rows.length === 0) return r.since ? `no provider calls since ${r.since}` : 'no provider calls recorded yet';
  const usdOrDash = (x: number) => (x ? usd(x) : '-');
  const body = table(
    ['TIME', 'TENANT', 'MODEL VERSION', 'PROVIDER', 'DEPLOYMENT', 'MODE', 'STATUS', 'INPUTS', 'HITS', 'TOKENS', 'LATENCY', 'COST', 'SAVED', 'KEY', 'BATCH'],
    r.rows.map((x) => [
      x.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      x.tenant,
      x.modelVersion,
      x.provider,
      x.deployment === null ? '-' : `${x.deployment}${x.failover ? ' (failover)' : ''}`,
      x.mode,
      x.httpStatus && x.status !== 'ok' ? `${x.status} ${x.httpStatus}` : x.status,
      x.inputs,
      x.cacheHits ?? '-',
      x.tokens,
      x.latencyMs === null ? '-' : `${x.latencyMs}ms`,
      usdOrDash(x.costUsd),
      usdOrDash(x.savedUsd),
      x.key ?? '-',
      x.batchId ?? '-',
    ]),
  );
  const more = r.more ? `${body}\n(newest ${r.limit} shown; --limit or --since for others)` : body;
  const { calls, tokens, usd: maybe } = r.possiblyBilled;
  return calls ? `${more}\n${possiblyBilledNote(calls, tokens, maybe)}` : more;
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('log')
    .description('provider calls from the ledger, newest first: tenant, model version, deployment, mode, status, tokens, latency, cost, cache savings')
    .option('--tenant <id>', 'only this tenant')
    .option('--model <id>', 'only this model: provider/model, provider/model@version or a model version key')
    .option('--since <when>', 'ISO date, or a duration back from now: 30m, 24h, 7d')
    .option('--limit <n>', 'most rows to show', '100')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, o: LogOptions) => (out.result(await runLog(ctx, o), formatLog), 0)));
}
