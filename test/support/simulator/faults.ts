/**
 * Scheduled faults for `POST /v1/embeddings`, switched on by `startSimulator({ schedule })` and
 * off by default, so ordinary tests never see them. Faults are chosen by the number of the
 * request (1, 2, 3… in arrival order), not by chance or the clock, so a run sees the same number
 * of each fault however fast the machine is:
 *
 *   { every5xx: 10 }                                    requests 10, 20, 30… answer 500
 *   { burst429: { every: 50, size: 5, retryAfterMs } }  requests 50–54, 100–104… answer 429 with Retry-After
 *   { slow: { every: 7, ms: 2000 } }                    requests 7, 14… answer 200 after 2 s
 *   { cut: { every: 23 } }                              requests 23, 46… send half of a 200 body, then drop the connection
 *
 * One request gets at most one fault (429 first, then 500, cut, slow). `onRequest(fn)` calls
 * `fn(n)` as request n arrives, before it is answered: a harness kills a worker "after the k-th
 * request" there. A cut body's inputs count among the simulator's embedded inputs (the provider
 * did the work and bills it, as a real one would) and also apart, in `cutInputs`: no client could
 * have read them, so the caller pays for them again.
 */
import { apiError } from './embeddings.ts';
import type { SimReply } from './route-types.ts';

export interface FaultPlan {
  every5xx?: number;
  burst429?: { every: number; size: number; retryAfterMs: number };
  slow?: { every: number; ms: number };
  cut?: { every: number };
}

export type ScheduledFault = '500' | '429' | 'slow' | 'cut';

export interface FaultStats {
  requests: number;
  '500': number;
  '429': number;
  slow: number;
  cut: number;
  /** Inputs of the cut responses. */
  cutInputs: number;
}

/** What the embeddings route does with request n: answer `reply` instead, or answer late or cut. */
export interface FaultDecision {
  kind: ScheduledFault;
  reply?: SimReply;
  delayMs?: number;
  cut?: boolean;
}

export interface FaultSchedule {
  /** Numbers request n and decides its fault, if any. */
  take(inputs: number): FaultDecision | undefined;
  onRequest(fn: (n: number) => void): void;
  stats(): FaultStats;
}

const hits = (n: number, every: number | undefined) => every !== undefined && every > 0 && n % every === 0;

export function createFaultSchedule(plan: FaultPlan): FaultSchedule {
  let n = 0;
  const listeners: ((n: number) => void)[] = [];
  const counts: FaultStats = { requests: 0, '500': 0, '429': 0, slow: 0, cut: 0, cutInputs: 0 };
  const decide = (i: number): FaultDecision | undefined => {
    const b = plan.burst429;
    if (b && b.every > 0 && i >= b.every && i % b.every < b.size) {
      const secs = Math.max(1, Math.ceil(b.retryAfterMs / 1000));
      return {
        kind: '429',
        reply: {
          ...apiError(429, `Rate limit reached for requests. Please try again in ${(b.retryAfterMs / 1000).toFixed(3)}s.`, 'requests', 'rate_limit_exceeded'),
          headers: { 'retry-after': String(secs), 'retry-after-ms': String(b.retryAfterMs), 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': `${b.retryAfterMs}ms` },
        },
      };
    }
    if (hits(i, plan.every5xx)) return { kind: '500', reply: apiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error') };
    if (hits(i, plan.cut?.every)) return { kind: 'cut', cut: true };
    if (plan.slow && hits(i, plan.slow.every)) return { kind: 'slow', delayMs: plan.slow.ms };
    return undefined;
  };
  return {
    take(inputs) {
      const i = ++n;
      counts.requests++;
      for (const fn of listeners) fn(i);
      const d = decide(i);
      if (d) {
        counts[d.kind]++;
        if (d.cut) counts.cutInputs += inputs;
      }
      return d;
    },
    onRequest: (fn) => void listeners.push(fn),
    stats: () => ({ ...counts }),
  };
}
