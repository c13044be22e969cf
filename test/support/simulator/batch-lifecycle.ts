/**
 * One batch's life by the clock: the statuses it passes through (validating → in_progress →
 * finalizing → completed, or failed / expired / cancelling → cancelled), how many lines are done
 * at a given moment, and the batch object with every documented field (timestamps in Unix
 * seconds, null until reached).
 */
import type { BatchKnobs } from './batches.ts';
import type { BatchInput } from './batch-input.ts';
import { countOutcomes, type LineOutcome, type OutputFaults } from './batch-output.ts';
import { unixSeconds } from './http.ts';

export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export type Stamp = Exclude<BatchStatus, 'validating'>;

export interface SimBatch {
  seq: number;
  id: string;
  endpoint: string;
  inputFileId: string;
  metadata: Record<string, string> | null;
  createdMs: number;
  plan: Pick<BatchKnobs, 'batchValidatingMs' | 'batchInProgressMs' | 'batchFinalizingMs' | 'batchCancellingMs' | 'batchExpire' | 'batchStuckFinalizing'>;
  faults: OutputFaults;
  input: BatchInput;
  outcomes: LineOutcome[];
  order: number[];
  status: BatchStatus;
  at: Partial<Record<Stamp, number>>;
  /** Lines processed when the batch stopped (cancel or expiry). */
  stoppedAfter?: number;
  outputFileId?: string;
  errorFileId?: string;
}

const DAY_MS = 86_400_000;

/** Lines done at `now` (they run at an even pace through `in_progress`). */
export function processedAt(b: SimBatch, now: number): number {
  if (b.stoppedAfter !== undefined) return b.stoppedAfter;
  const start = b.at.in_progress;
  if (start === undefined) return 0;
  // An expiring batch gets through half of its lines by the end of its window.
  const n = b.plan.batchExpire ? Math.floor(b.input.lines.length / 2) : b.input.lines.length;
  const done = b.plan.batchInProgressMs <= 0 ? n : Math.floor((n * (now - start)) / b.plan.batchInProgressMs);
  return Math.min(n, Math.max(0, done));
}

/** Moves `b` through every transition whose time has come, in order; `finish` writes its files when it stops. */
export function advance(b: SimBatch, now: number, finish: (b: SimBatch, processed: number, expireRest: boolean) => void): void {
  const p = b.plan;
  for (;;) {
    const t0 = b.createdMs;
    if (b.status === 'validating' && now >= t0 + p.batchValidatingMs) {
      const at = t0 + p.batchValidatingMs;
      b.status = b.input.errors.length ? 'failed' : 'in_progress';
      b.at[b.status] = at;
    } else if (b.status === 'in_progress' && p.batchExpire && now >= b.at.in_progress! + p.batchInProgressMs) {
      b.stoppedAfter = Math.floor(b.input.lines.length / 2);
      b.status = 'expired';
      b.at.expired = b.at.in_progress! + p.batchInProgressMs;
      finish(b, b.stoppedAfter, true);
    } else if (b.status === 'in_progress' && !p.batchExpire && now >= b.at.in_progress! + p.batchInProgressMs) {
      b.status = 'finalizing';
      b.at.finalizing = b.at.in_progress! + p.batchInProgressMs;
    } else if (b.status === 'finalizing' && !p.batchStuckFinalizing && now >= b.at.finalizing! + p.batchFinalizingMs) {
      b.status = 'completed';
      b.at.completed = b.at.finalizing! + p.batchFinalizingMs;
      finish(b, b.input.lines.length, false);
    } else if (b.status === 'cancelling' && now >= b.at.cancelling! + p.batchCancellingMs) {
      b.status = 'cancelled';
      b.at.cancelled = b.at.cancelling! + p.batchCancellingMs;
      // OpenAI keeps the lines finished before the cancel in the output file.
      if (b.stoppedAfter! > 0) finish(b, b.stoppedAfter!, false);
    } else return;
  }
}

/** The batch as the API returns it. */
export function batchObject(b: SimBatch, now: number): Record<string, unknown> {
  // Counts exist once validation passed (a batch cancelled while validating never had any).
  const validated = b.at.in_progress !== undefined;
  const c = validated ? countOutcomes(b.outcomes, b.order, processedAt(b, now)) : { completed: 0, failed: 0, tokens: 0 };
  // Expired lines are failures too: they sit in the error file.
  const failed = c.failed + (b.status === 'expired' ? b.input.lines.length - b.stoppedAfter! : 0);
  const s = (k: Stamp) => (b.at[k] === undefined ? null : unixSeconds(b.at[k]));
  return {
    id: b.id,
    object: 'batch',
    endpoint: b.endpoint,
    model: b.status === 'validating' ? null : (b.input.model ?? null),
    errors: b.input.errors.length && b.status === 'failed' ? { object: 'list', data: b.input.errors } : null,
    input_file_id: b.inputFileId,
    completion_window: '24h',
    status: b.status,
    output_file_id: b.outputFileId ?? null,
    error_file_id: b.errorFileId ?? null,
    created_at: unixSeconds(b.createdMs),
    in_progress_at: s('in_progress'),
    expires_at: unixSeconds(b.createdMs + DAY_MS),
    finalizing_at: s('finalizing'),
    completed_at: s('completed'),
    failed_at: s('failed'),
    expired_at: s('expired'),
    cancelling_at: s('cancelling'),
    cancelled_at: s('cancelled'),
    request_counts: { total: validated ? b.input.lines.length : 0, completed: c.completed, failed },
    usage: { input_tokens: c.tokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: c.tokens },
    metadata: b.metadata,
  };
}
