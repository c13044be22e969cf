/**
 * The short chaos run inside `npm test` (bench/chaos/presets.ts SHORT): 2,000 chunks through two
 * `embedq worker` processes with its own Redis and Postgres, while workers are SIGKILLed, Redis
 * and Postgres restarted once each, and the provider answers 5xx, 429 bursts, slow and cut
 * responses. Faults fall on simulator request numbers, not on the clock; the checks read only the
 * end state. One run, one test per invariant, so a failure names what broke.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { formatSummary, runChaos, type ChaosSummary } from '../../bench/chaos/harness.ts';
import { SHORT } from '../../bench/chaos/presets.ts';

let s: ChaosSummary;
// The run bounds itself (SHORT.timeoutMs, then at most 2 minutes for the second ingest and the
// teardown); the hook's timeout is only the last safety net above that.
beforeAll(async () => {
  s = await runChaos({ ...SHORT, log: (l) => console.error(l) });
  console.log(formatSummary(s));
}, SHORT.timeoutMs + 5 * 60_000);

describe('chaos (short): after kills, restarts and provider faults', () => {
  test('the faults happened: workers killed, Redis and Postgres restarted once each', () => {
    expect(s.kills).toBeGreaterThan(0);
    expect(s.restarts).toEqual({ redis: 1, postgres: 1 });
  });

  test('nothing lost: every record is a document, every chunk has a vector', () => {
    expect({ chunks: s.chunks, documents: s.documents, missing: s.missing }).toEqual({ chunks: SHORT.chunks, documents: SHORT.chunks, missing: 0 });
  });

  test('nothing doubled: one vector per chunk', () => {
    expect({ vectors: s.vectors, duplicates: s.duplicates }).toEqual({ vectors: SHORT.chunks, duplicates: 0 });
  });

  test('every vector is the simulator’s for its chunk’s text', () => {
    expect(s.wrong).toBe(0);
  });

  test('no job failed for good', () => {
    expect(s.failedReasons).toEqual([]);
    expect(s.failedJobs).toBe(0);
  });

  test('the CLI rode out the restarts (exit 0, nothing re-run by hand) and no worker died by itself', () => {
    expect(s.cli).toEqual({ code: 0 });
    expect(s.workerCrashes).toEqual([]);
  });

  test('the ledger matches the simulator, but for attempts left unknown; none left unsettled', () => {
    expect(s.unsettled).toBe(0);
    expect(s.simInputs - s.ledgerInputs).toBeGreaterThanOrEqual(0);
    expect(s.simInputs - s.ledgerInputs).toBeLessThanOrEqual(s.unknownInputs);
  });

  test('a second ingest makes no provider call', () => {
    expect(s.rerunCalls).toBe(0);
  });
});
