import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { assertTenant } from '../../tenant.ts';
import { checkBudget, clearBudget, listBudgets, setBudget, type Budget } from '../../store/budgets.ts';
import type { CommandEnv } from '../command.ts';
import { parseDecimal, parseWholeNumber } from '../numbers.ts';
import { table } from '../output.ts';

function amount(name: string, v: string | undefined): number | null {
  if (v === undefined) return null;
  return name.startsWith('--tokens') ? parseWholeNumber(name, v) : parseDecimal(name, v);
}

export async function runBudgetsList(ctx: Context): Promise<(Budget & { spent: Awaited<ReturnType<typeof checkBudget>>['spent'] })[]> {
  const out = [];
  for (const b of await listBudgets(ctx.db)) out.push({ ...b, spent: (await checkBudget(ctx.db, b.tenant, 0, 0)).spent });
  return out;
}

export function register(program: Command, env: CommandEnv): void {
  const budgets = program.command('budgets').description('per-tenant spending limits, checked before every provider call');
  budgets
    .command('set')
    .description('set (replace) a tenant budget; a tenant over it has its jobs delayed (default) or failed, never dropped')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--usd-per-day <n>', 'dollars per UTC day')
    .option('--usd-per-month <n>', 'dollars per UTC month')
    .option('--tokens-per-day <n>', 'tokens per UTC day')
    .option('--tokens-per-month <n>', 'tokens per UTC month')
    .option('--on-exceed <what>', 'delay (jobs wait until the budget allows) or fail (jobs fail with the reason)', 'delay')
    .option('--json', 'print the result as JSON')
    .action(
      env.handler(async (ctx, out, o: { tenant: string; usdPerDay?: string; usdPerMonth?: string; tokensPerDay?: string; tokensPerMonth?: string; onExceed: string }) => {
        if (o.onExceed !== 'delay' && o.onExceed !== 'fail') throw new UsageError('--on-exceed must be delay or fail');
        const b: Budget = {
          tenant: assertTenant(o.tenant),
          usdPerDay: amount('--usd-per-day', o.usdPerDay),
          usdPerMonth: amount('--usd-per-month', o.usdPerMonth),
          tokensPerDay: amount('--tokens-per-day', o.tokensPerDay),
          tokensPerMonth: amount('--tokens-per-month', o.tokensPerMonth),
          onExceed: o.onExceed,
        };
        if ([b.usdPerDay, b.usdPerMonth, b.tokensPerDay, b.tokensPerMonth].every((x) => x === null)) throw new UsageError('give at least one limit (--usd-per-day, --usd-per-month, --tokens-per-day, --tokens-per-month)');
        await setBudget(ctx.db, b);
        out.result(b, (x) => `budget for ${x.tenant} set (over it: ${x.onExceed})`);
        return 0;
      }),
    );
  budgets
    .command('list')
    .description('budgets with what each tenant spent today and this month')
    .option('--json', 'print the result as JSON')
    .action(
      env.handler(async (ctx, out) => {
        const rows = await runBudgetsList(ctx);
        const f = (x: number | null) => (x === null ? '-' : String(x));
        out.result(rows, (r) =>
          r.length === 0
            ? 'no budgets set'
            : table(
                ['TENANT', 'USD/DAY', 'SPENT TODAY', 'USD/MONTH', 'SPENT MONTH', 'TOKENS/DAY', 'TOKENS TODAY', 'TOKENS/MONTH', 'ON EXCEED'],
                r.map((b) => [b.tenant, f(b.usdPerDay), b.spent.usdDay.toFixed(6), f(b.usdPerMonth), b.spent.usdMonth.toFixed(6), f(b.tokensPerDay), b.spent.tokensDay, f(b.tokensPerMonth), b.onExceed]),
              ),
        );
        return 0;
      }),
    );
  budgets
    .command('clear')
    .description("remove a tenant's budget")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, o: { tenant: string }) => (out.result({ cleared: await clearBudget(ctx.db, assertTenant(o.tenant)) }, (r) => (r.cleared ? 'budget cleared' : 'that tenant had no budget')), 0)));
}
