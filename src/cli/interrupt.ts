/**
 * Ctrl-C (SIGINT) or SIGTERM while a command waits on a run: release what this process holds,
 * say what happened and how to resume, and exit 130. A second signal exits at once.
 */
import { progressBreak } from './progress.ts';

export function exitOnInterrupt(release: () => Promise<string[]>): () => void {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`${progressBreak()}embedq: interrupted; releasing this process's jobs (press Ctrl-C again to exit now)\n`);
    release()
      .then(
        (lines) => lines.forEach((l) => process.stderr.write(`embedq: ${l}\n`)),
        (e: unknown) => process.stderr.write(`embedq: could not release every job (${(e as Error).message}); they return to the queue when their locks expire\n`),
      )
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
