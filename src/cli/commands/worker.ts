import type { Command } from 'commander';
import { runWorkerProcess } from '../../../workers/main.ts';
import { pingRedis } from '../../queue/connection.ts';
import { connect } from '../../store/db.ts';
import type { CommandEnv } from '../main.ts';
import { wholeNumber } from '../numbers.ts';

export function register(program: Command, env: CommandEnv): void {
  program
    .command('worker')
    .description('run the queue processors (ingest, embed, finalize) until SIGTERM/SIGINT; start more for more throughput')
    .option('--concurrency <n>', 'embed jobs at once in this process (default: config worker.concurrency)', wholeNumber('--concurrency', { min: 1 }))
    .option('--ingest-concurrency <n>', 'ingest jobs at once in this process', wholeNumber('--ingest-concurrency', { min: 1 }))
    .action(
      env.handler(async (ctx, _out, opts: { concurrency?: number; ingestConcurrency?: number }) => {
        await pingRedis(ctx.config.redisUrl);
        (await connect(ctx.db)).release();
        await runWorkerProcess(ctx, {
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
          ...(opts.ingestConcurrency ? { ingestConcurrency: opts.ingestConcurrency } : {}),
          onReady: () => process.stderr.write(`embedq worker: ready (pid ${process.pid}, prefix ${ctx.config.redisPrefix})\n`),
        });
        return 0;
      }),
    );
}
