import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { migrate, type MigrateResult } from '../../store/migrate.ts';
import type { CommandEnv } from '../command.ts';

/** `embedq db migrate`: applies pending migrations; a second run applies nothing. */
export async function runMigrate(ctx: Context): Promise<MigrateResult> {
  return migrate(ctx.db, ctx.config.dbSchema);
}

export function register(program: Command, env: CommandEnv): void {
  const db = program.command('db').description('database schema management');
  db.command('migrate')
    .description('apply pending schema migrations (idempotent: a second run applies nothing)')
    .option('--json', 'print the result as JSON')
    .action(
      env.handler(async (ctx, out) => {
        const r = await runMigrate(ctx);
        out.result(r, (v) =>
          v.applied.length === 0
            ? `schema ${v.schema}: up to date (${v.alreadyApplied} migrations applied earlier), nothing to do`
            : `schema ${v.schema}: applied ${v.applied.map((a) => a.name).join(', ')}`,
        );
        return 0;
      }),
    );
}
