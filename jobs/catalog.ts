/**
 * The typed job catalog: queue name → handler. A queue without a handler (or a handler of the
 * wrong payload type) fails the type check.
 */
import type { Job } from 'bullmq';
import type { QueueName } from '../src/queue/names.ts';
import type { JobDeps } from './deps.ts';
import { handleBackfill, type BackfillPayload } from './backfill.ts';
import { handleBatches, type BatchesPayload } from './batch.ts';
import { handleEmbed, type EmbedPayload } from './embed.ts';
import { handleFinalize, type FinalizePayload } from './finalize.ts';
import { handleIngest, type IngestPayload } from './ingest.ts';
import { handleSchedules, type ScheduledIngestPayload } from './schedules.ts';

export interface Payloads {
  ingest: IngestPayload;
  embed: EmbedPayload;
  finalize: FinalizePayload;
  batches: BatchesPayload;
  reembed: BackfillPayload;
  schedules: ScheduledIngestPayload | Record<string, never>;
}

export type Handler<N extends QueueName> = (deps: JobDeps, job: Job<Payloads[N]>) => Promise<unknown>;

export const CATALOG: { [N in QueueName]: Handler<N> } = {
  ingest: handleIngest,
  embed: handleEmbed,
  finalize: handleFinalize,
  batches: handleBatches,
  reembed: handleBackfill,
  schedules: handleSchedules,
};
