/**
 * Bull Board at `/admin/queues`: every embedq queue under the configured Redis prefix, behind
 * the admin token (src/server/auth.ts). The board can retry, clean and empty queues, so writes
 * must also come from the board's own page, never from another site riding on the browser's
 * remembered basic-auth login.
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
  const guards = [requireAdmin(deps.adminToken), sameOriginWrites(), ...(deps.adminToken ? [] : [loopbackHostOnly()])];
  for (const path of [ADMIN_PATH, `${ADMIN_PATH}/*`]) app.use(path, ...guards);
  app.route(ADMIN_PATH, serverAdapter.registerPlugin());
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
