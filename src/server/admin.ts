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
import type { Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { QUEUES, type QueueName } from '../queue/names.ts';
import type { Queues } from '../queue/producer.ts';
import { requestHost, requireAdmin } from './auth.ts';

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
  /** The admin token, configured or generated at start (there is no open dashboard). */
  adminToken: string;
}

/** Largest request body the board takes: its writes carry a few fields; a 50 MB "job" is refused unread. */
export const ADMIN_BODY_LIMIT = 64 * 1024;

/** Sent with every board response: never framed (clickjacking), scripts only from the board itself. */
export const BOARD_HEADERS: Readonly<Record<string, string>> = {
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self'",
    // The board's React components set inline styles; its fonts come from Google Fonts.
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
    "font-src 'self' https://fonts.gstatic.com",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Mounts the board and its guards on `app`. */
export function mountAdmin(app: Hono, deps: AdminDeps): void {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: Object.values(QUEUES).map((name) => new BullMQAdapter(deps.queues[name], { description: DESCRIPTIONS[name] ?? '' })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'embedq' } },
  });
  const guards = [boardHeaders(), requestBodyLimit(), requireAdmin(deps.adminToken, ADMIN_PATH), sameOriginWrites(), onlyAllowedWrites()];
  for (const path of [ADMIN_PATH, `${ADMIN_PATH}/*`]) app.use(path, ...guards);
  app.route(ADMIN_PATH, serverAdapter.registerPlugin());
}

/** {@link BOARD_HEADERS} on every response, refusals included. */
function boardHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(BOARD_HEADERS)) c.res.headers.set(k, v);
  };
}

/** 413 for a body over {@link ADMIN_BODY_LIMIT}, decided from Content-Length or while it streams in. */
function requestBodyLimit(): MiddlewareHandler {
  return bodyLimit({
    maxSize: ADMIN_BODY_LIMIT,
    onError: () => {
      throw new HTTPException(413, { message: `request body over the dashboard's limit of ${ADMIN_BODY_LIMIT / 1024} KiB refused` });
    },
  });
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

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
