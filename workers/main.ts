/**
 * The worker process (`embedq worker`): runs every queue's processor until SIGTERM/SIGINT, then
 * shuts down gracefully — active jobs finish, nothing new is taken, connections close. A second
 * signal exits at once; jobs then active are picked up again after their lock expires.
 */
import type { Context } from '../src/context.ts';
import { startWorkers, type RunningWorkers, type WorkerOptions } from './runtime.ts';

export async function runWorkerProcess(ctx: Context, opts: WorkerOptions & { onReady?: () => void } = {}): Promise<void> {
  // Signal handlers go in before anything starts, so a signal during startup is a clean stop too.
  let running: RunningWorkers | undefined;
  let stopped: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let signalled = false;
  const stop = (sig: NodeJS.Signals) => {
    if (signalled) {
      ctx.logger.warn({ sig }, 'second signal: exiting now');
      process.exit(130);
    }
    signalled = true;
    ctx.logger.info({ sig }, 'shutting down: finishing active jobs');
    process.stderr.write(`embedq worker: ${sig} received, finishing active jobs (send again to exit now)\n`);
    (running ? running.close() : Promise.resolve()).then(stopped, stopped);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    running = await startWorkers(ctx, opts);
    if (signalled) await running.close();
    else opts.onReady?.();
    await done;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
