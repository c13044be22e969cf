import type { Command } from 'commander';
import { runWorkerProcess } from '../../../workers/main.ts';
import { pingRedis } from '../../queue/connection.ts';
import { connect } from '../../store/db.ts';
import { schemaState } from '../../store/migrate.ts';
import type { Context } from '../../context.ts';
import { coerceError } from '../../errors.ts';
import { lostService } from '../../outage.ts';
import { describeServiceError } from '../../service-errors.ts';
import type { CommandEnv } from '../command.ts';
import { wholeNumber } from '../numbers.ts';

export function register(program: Command, env: CommandEnv): void {
  program
    .command('worker')
    .description('run the queue processors (ingest, embed, finalize) until SIGTERM/SIGINT; start more for more throughput')
    .option('--concurrency <n>', 'embed jobs at once in this process (default: config worker.concurrency)', wholeNumber('--concurrency', { min: 1 }))
    .option('--ingest-concurrency <n>', 'ingest jobs at once in this process', wholeNumber('--ingest-concurrency', { min: 1 }))
    .action(
      env.handler(async (ctx, _out, opts: { concurrency?: number; ingestConcurrency?: number }) => {
        await waitForServices(ctx);
        await waitForSchema(ctx);
        await runWorkerProcess(ctx, {
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
          ...(opts.ingestConcurrency ? { ingestConcurrency: opts.ingestConcurrency } : {}),
          onReady: () => process.stderr.write(`embedq worker: ready (pid ${process.pid}, prefix ${ctx.config.redisPrefix})\n`),
        });
        return 0;
      }),
    );
}

/**
 * Checks until `blocker` finds nothing in the way (null), with backoff from 250 ms to 5 s. What
 * is in the way is said once, and `resumed` once it has cleared. A service that is down (connection
 * refused, reset, …) is in the way too; one that can never work as configured (wrong credentials,
 * no such database) ends the worker at once with the reason.
 */
async function waitUntilClear(ctx: Context, blocker: () => Promise<string | null>, resumed: string): Promise<void> {
  let waitMs = 250;
  let said = false;
  for (;;) {
    let reason: string | null;
    try {
      reason = await blocker();
    } catch (caught) {
      const e = describeServiceError(coerceError(caught), ctx.config);
      if (!lostService(e, ctx.config)) throw e;
      reason = `${e.message.split('. ')[0]}; waiting for it`;
    }
    if (reason === null) {
      if (said) process.stderr.write(`embedq worker: ${resumed}; starting\n`);
      return;
    }
    if (!said) process.stderr.write(`embedq worker: ${reason} (Ctrl-C to stop)…\n`);
    said = true;
    await new Promise((r) => setTimeout(r, waitMs));
    waitMs = Math.min(5000, waitMs * 2);
  }
}

/**
 * Waits until the database schema is up to date. A worker of a newer release, deployed before
 * `embedq db migrate` ran, would otherwise take jobs and fail them on tables or columns that are
 * not there yet, spending their attempts; it says once what it waits for instead.
 */
function waitForSchema(ctx: Context): Promise<void> {
  return waitUntilClear(ctx, async () => {
    const { pending } = await schemaState(ctx.db, ctx.config.dbSchema);
    return pending.length ? `the database schema ${ctx.config.dbSchema} is not up to date (${pending.length} pending migrations); waiting for \`embedq db migrate\`` : null;
  }, 'the schema is up to date');
}

/**
 * Waits until Redis and Postgres answer. A worker is a long-running process, often restarted by a
 * supervisor in the middle of an outage.
 */
function waitForServices(ctx: Context): Promise<void> {
  return waitUntilClear(ctx, async () => {
    await pingRedis(ctx.config.redisUrl);
    (await connect(ctx.db)).release();
    return null;
  }, 'services answer');
}
