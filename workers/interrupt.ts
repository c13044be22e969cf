/**
 * Releasing a process's jobs when it is interrupted (Ctrl-C on a waiting `embedq ingest`): the
 * workers stop taking jobs and every job active in this process goes straight back to the queue,
 * its lock removed, so another worker (or a re-run) picks it up now rather than after the lock
 * expires. Whatever the abandoned handlers still do is harmless: every write is idempotent.
 */
import { Job, type Queue, type Worker } from 'bullmq';

/** Attach {@link ActiveJobs.watch} to each worker as it is created: a worker takes jobs at once. */
export class ActiveJobs {
  readonly #workers: Worker[] = [];
  readonly #active = new Map<string, Job>();

  watch(w: Worker): void {
    const key = (job: Job) => `${job.queueName}\u0000${job.id}`;
    this.#workers.push(w);
    w.on('active', (job) => this.#active.set(key(job), job));
    w.on('completed', (job) => this.#active.delete(key(job)));
    w.on('failed', (job) => job && this.#active.delete(key(job)));
  }

  /**
   * Closes the workers without waiting for their jobs (so none is fetched again), then moves this
   * process's active jobs back to waiting through `queues` (the workers' connections are closing).
   * Returns how many moved.
   */
  async release(queues: Queue[]): Promise<number> {
    await Promise.all(this.#workers.map((w) => w.close(true)));
    const jobs = [...this.#active.values()];
    this.#active.clear();
    const moved = await Promise.all(
      jobs.map(async (j) => {
        const queue = queues.find((q) => q.name === j.queueName);
        const job = queue && j.id && j.token ? await Job.fromId(queue, j.id) : undefined;
        return job ? job.moveToWait(j.token).then(() => 1, () => 0) : 0;
      }),
    );
    return moved.reduce<number>((a, b) => a + b, 0);
  }
}
