/**
 * The worker process (`embedq worker`): runs every queue's processor until SIGTERM/SIGINT, then
 * shuts down gracefully — active jobs finish, nothing new is taken, connections close. A second
 * signal exits at once; jobs then active are picked up again after their lock expires.
 */
import type { Context } from '../src/context.ts';
import { startWorkers, type WorkerOptions } from './runtime.ts';

export async function runWorkerProcess(ctx: Context, opts: WorkerOptions & { onReady?: () => void } = {}): Promise<void> {
  const running = await startWorkers(ctx, opts);
  opts.onReady?.();
  await new Promise<void>((resolve) => {
    let signalled = false;
    const stop = (sig: NodeJS.Signals) => {
      if (signalled) {
        ctx.logger.warn({ sig }, 'second signal: exiting now');
        process.exit(130);
      }
      signalled = true;
      ctx.logger.info({ sig }, 'shutting down: finishing active jobs');
      process.stderr.write(`embedq worker: ${sig} received, finishing active jobs (send again to exit now)\n`);
      running.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
