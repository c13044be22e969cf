import type { Context } from '../src/context.ts';
import type { BatchClients } from '../src/providers/batch-clients.ts';
import type { ProviderPool } from '../src/providers/pool.ts';
import type { Queues } from '../src/queue/producer.ts';
import type { RunTracker } from '../src/queue/runs.ts';

/** What every job handler receives: built once per worker process. */
export interface JobDeps {
  ctx: Context;
  queues: Queues;
  runs: RunTracker;
  providers: ProviderPool;
  batchClients: BatchClients;
  /** Fires when the worker begins to shut down: no new provider requests, those in flight finish. */
  drain?: AbortSignal;
}
