/**
 * Bull Board at `/admin/queues`: every embedq queue under the configured Redis prefix, behind
 * the admin token (src/server/auth.ts). The board can retry, promote, clean and empty jobs and
 * pause and resume queues, nothing else: Bull Board's routes that create a job or edit one (its
 * data, delay, priority, schedulers) are refused here before Bull Board sees them, because a job
 * is an instruction to a worker (an ingest job names files to read). Writes must also come from
 * the board's own page, never from another site riding on the browser's remembered login.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono, HonoRequest, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { QUEUES, type QueueName } from '../queue/names.ts';
import type { Queues } from '../queue/producer.ts';
import { isLoopbackHost, requireAdmin } from './auth.ts';

/** Where the dashboard is mounted. */
export const ADMIN_PATH = '/admin/queues';

/** One line per queue on the board, so an operator knows what a stuck queue means. */
const DESCRIPTIONS: Partial<Record<QueueName, string>> = {
  ingest: 'read, chunk and hash documents; answer what the cache holds',
  embed: 'cache misses sent to the provider synchronously (rate-limited)',
  finalize: 'close a run: build the HNSW index, record counts',
  batches: 'provider batch API: submit, poll, read results',
  reembed: 'backfill of an open `embedq reembed` migration into the target index',
  schedules: 'scheduled work: cache GC, spend rollup, source re-syncs (embedq schedules)',
};

export interface AdminDeps {
  queues: Queues;
  /** The admin token; undefined only on loopback (checked by `checkBind` before listening). */
  adminToken: string | undefined;
}

/** Mounts the board and its guards on `app`. */
export function mountAdmin(app: Hono, deps: AdminDeps): void {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: Object.values(QUEUES).map((name) => new BullMQAdapter(deps.queues[name], { description: DESCRIPTIONS[name] ?? '' })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'embedq' } },
  });
  const guards = [requireAdmin(deps.adminToken), sameOriginWrites(), onlyAllowedWrites(), ...(deps.adminToken ? [] : [loopbackHostOnly()])];
  for (const path of [ADMIN_PATH, `${ADMIN_PATH}/*`]) app.use(path, ...guards);
  app.route(ADMIN_PATH, serverAdapter.registerPlugin());
}

/**
 * The board's state-changing routes that embedq lets through (all `PUT`, paths under
 * {@link ADMIN_PATH}): pause and resume (all queues or one), promote and empty one queue, retry
 * and clean one queue's jobs of a status, and retry, clean or promote one job. An allowlist, not a
 * blocklist, so a route a newer Bull Board adds stays closed until it is reviewed.
 */
export const ALLOWED_WRITES: readonly RegExp[] = [
  /^\/api\/queues\/(pause|resume)$/,
  /^\/api\/queues\/[^/]+\/(pause|resume|promote|empty)$/,
  /^\/api\/queues\/[^/]+\/(retry|clean)\/[^/]+$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/(retry|clean|promote)$/,
];

/** Refuses every write but {@link ALLOWED_WRITES}: adding a job, editing its data, delay or priority, schedulers, concurrency, rate limits, obliterate. */
function onlyAllowedWrites(): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) {
      const path = c.req.path.slice(ADMIN_PATH.length);
      if (method !== 'PUT' || !ALLOWED_WRITES.some((r) => r.test(path)))
        throw new HTTPException(403, {
          message: `the dashboard does not create or edit jobs (${method} ${c.req.path} refused); it can retry, promote, clean and empty jobs and pause and resume queues. New work comes from \`embedq ingest\`, \`embedq reembed\` and \`embedq schedules\``,
        });
    }
    await next();
  };
}

/**
 * Refuses state-changing requests sent by another site (CSRF). Browsers mark every request with
 * `Sec-Fetch-Site`, and older ones send `Origin` on cross-origin writes; tools like curl send
 * neither and pass.
 */
function sameOriginWrites(): MiddlewareHandler {
  return async (c, next) => {
    if (!['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      const crossSite = site ? !['same-origin', 'none'].includes(site) : origin !== undefined && hostOf(origin) !== requestHost(c.req);
      if (crossSite) throw new HTTPException(403, { message: 'dashboard changes must come from the dashboard itself (cross-site request refused)' });
    }
    await next();
  };
}

/**
 * Without a token the board is open to this machine only. A web page elsewhere could still point
 * its own host name at 127.0.0.1 (DNS rebinding) and read the board as same-origin; such requests
 * carry that foreign name in `Host`, so only loopback names are served.
 */
function loopbackHostOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = requestHost(c.req);
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    if (!isLoopbackHost(name)) throw new HTTPException(403, { message: `the open dashboard answers only to loopback host names, not ${JSON.stringify(host)}; set EMBEDQ_ADMIN_TOKEN to serve it under other names` });
    await next();
  };
}

/** The Host header, or the URL's host for requests built in-process (`app.request`). */
function requestHost(req: HonoRequest): string {
  return req.header('host') ?? new URL(req.url).host;
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
