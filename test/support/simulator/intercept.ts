/**
 * One-shot interceptors for the simulator's embeddings routes, for tests that need one exact
 * answer to one request: hold it until the test says so (a promise the test resolves), answer a
 * 429 with OpenAI's reset headers, or cut a 200 off mid-body.
 *
 *   const held = sim.intercept(holdUntil(release));   // next POST /v1/embeddings waits
 *   await held.arrived;                                 // the request is at the server
 *   release.resolve();                                  // now it is answered as usual
 *
 *   sim.intercept(() => rateLimited({ 'x-ratelimit-reset-requests': '20ms' }));
 *   sim.intercept(cutMidBody());                        // headers + half the body, then the socket closes
 */
import type { SimRequest } from './index.ts';
import { apiError } from './embeddings.ts';
import type { SimReply, SimState } from './route-types.ts';

/** Answers one request; `next()` is the route's own answer. */
export type Interceptor = (req: SimRequest, state: SimState, next: () => Promise<SimReply>) => SimReply | Promise<SimReply>;

export interface Intercepted {
  /** Resolves when the request reached the interceptor (its body is read). */
  readonly arrived: Promise<SimRequest>;
}

export interface InterceptQueue {
  add(fn: Interceptor, path: string): Intercepted;
  /** The first interceptor waiting for `path`, taken out of the queue. */
  take(path: string): ((req: SimRequest, state: SimState, next: () => Promise<SimReply>) => Promise<SimReply>) | undefined;
  clear(): void;
}

export function createInterceptQueue(): InterceptQueue {
  let queue: { path: string; run: (req: SimRequest, state: SimState, next: () => Promise<SimReply>) => Promise<SimReply> }[] = [];
  return {
    add(fn, path) {
      let arrive!: (r: SimRequest) => void;
      const arrived = new Promise<SimRequest>((resolve) => (arrive = resolve));
      queue.push({ path, run: async (req, state, next) => (arrive(req), fn(req, state, next)) });
      return { arrived };
    },
    take(path) {
      const i = queue.findIndex((q) => q.path === path);
      return i < 0 ? undefined : queue.splice(i, 1)[0]!.run;
    },
    clear() {
      queue = [];
    },
  };
}

/** Holds the request until `until` settles, then answers it as the route would have. */
export function holdUntil(until: Promise<unknown>): Interceptor {
  return async (_req, _state, next) => {
    await until;
    return next();
  };
}

/** OpenAI's 429 for requests per minute, with the headers given (reset times as Go durations). */
export function rateLimited(headers: Record<string, string>): SimReply {
  return {
    ...apiError(429, 'Rate limit reached for requests per min (RPM). Please try again shortly.', 'requests', 'rate_limit_exceeded'),
    headers,
    log: { fault: '429' },
  };
}

/**
 * The route's own 200, of which only the headers and the first `fraction` of the body are sent
 * (with the full content-length) before the connection closes: undici's "terminated".
 */
export function cutMidBody(fraction = 0.5): Interceptor {
  return async (_req, _state, next) => ({ ...(await next()), cutAt: fraction });
}
