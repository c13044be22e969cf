/**
 * Ledgers a provider call's attempts as they happen: each one before it is sent (`sent`, with
 * its estimate), settled when it ends. A worker that dies in between leaves a `sent` row, which
 * the sweep turns into `unknown` (possibly billed), so the ledger never falls short of the bill.
 * One row per request attempt, never one per input.
 */
import type { EmbedAttempt, EmbedCall, EmbedOptions } from '../providers/types.ts';
import type { Queryable } from '../store/db.ts';
import { recordAttempt, recordLedger, settleAttempt, type AttemptOutcome, type LedgerEntry } from '../store/ledger.ts';

export type AttemptBase = Pick<LedgerEntry, 'tenant' | 'provider' | 'modelVersionId' | 'mode' | 'jobId' | 'runId' | 'apiKeyId' | 'endUser'>;

export interface AttemptLedger extends Required<Pick<EmbedOptions, 'onSend' | 'onCall'>> {
  /** Resolves when every settle has been written; rejects with the first that failed. */
  settled(): Promise<void>;
}

/** What an ended attempt costs: billed when ok, possibly billed (its estimate, no cost yet) when no answer came back. */
export function outcomeOf(c: EmbedCall, pricePerMTok: number): AttemptOutcome {
  const status = c.status === 'ok' ? 'ok' : c.outcomeUnknown ? 'unknown' : c.status;
  return {
    status,
    tokens: status === 'ok' || status === 'unknown' ? c.tokens : 0,
    costUsd: status === 'ok' ? (c.tokens / 1e6) * pricePerMTok : 0,
    latencyMs: Math.round(c.latencyMs),
    httpStatus: c.httpStatus ?? null,
    error: c.error ?? null,
  };
}

/**
 * @param settleDb where the settles go (@default db). The `sent` row is what keeps the ledger from
 *   falling short of the bill, so it is always written on `db` and awaited before the send; a
 *   settle lost in a crash leaves that row to the sweep (`unknown`, possibly billed).
 */
export function attemptLedger(db: Queryable, base: AttemptBase, pricePerMTok: number, settleDb: Queryable = db): AttemptLedger {
  const ids = new Map<string, Promise<string>>();
  const pending: Promise<unknown>[] = [];
  const keyOf = (a: Pick<EmbedAttempt, 'request' | 'attempt'>) => `${a.request}:${a.attempt}`;
  return {
    async onSend(a) {
      const id = recordAttempt(db, { ...base, inputs: a.inputs, tokens: a.tokens, attempt: a.attempt, deployment: a.deployment ?? null, failover: a.failover ?? false });
      ids.set(keyOf(a), id);
      await id;
    },
    onCall(c) {
      const o = outcomeOf(c, pricePerMTok);
      const id = ids.get(keyOf(c));
      // A provider without onSend (local) reports its call only once it ended: one settled row.
      const write = id ? id.then((x) => settleAttempt(settleDb, x, o)) : recordLedger(settleDb, [{ ...base, inputs: c.inputs, attempt: c.attempt, deployment: c.deployment ?? null, failover: c.failover ?? false, ...o }]);
      write.catch(() => undefined); // surfaced by settled()
      pending.push(write);
    },
    async settled() {
      await Promise.all(pending);
    },
  };
}
