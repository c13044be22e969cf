/**
 * The HTTP app of `embedq serve`: Bull Board at /admin/queues (admin token), Prometheus /metrics,
 * /healthz and /readyz. {@link buildApp} returns a Hono app that tests call in-process with
 * `app.request()`; `src/cli/commands/serve.ts` binds it to a port. HTTP errors are turned into
 * JSON responses in one place, {@link errorResponse}.
 */
import { Hono, type Context as HonoContext } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Context } from '../context.ts';
import { ServiceUnavailableError, coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { packageVersion } from '../paths.ts';
import { createRedis } from '../queue/connection.ts';
import { QUEUES } from '../queue/names.ts';
import { createQueues, type Queues } from '../queue/producer.ts';
import { ADMIN_PATH, mountAdmin } from './admin.ts';
import { healthRoutes, withTimeout } from './health.ts';
import { createMetrics } from './metrics.ts';

export interface ServerDeps {
  /** Config (Redis and Postgres URLs, schema, `adminToken`), the pg pool and the logger. */
  ctx: Pick<Context, 'config' | 'db' | 'logger'>;
  /** The embedq queues shown on the board and counted by /metrics. */
  queues: Queues;
  /** Most time one readiness probe or metrics collection may take. @default 3000 */
  probeTimeoutMs?: number;
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { status: number; message: string };
}

/** Builds the app. It owns nothing: closing the queues and the pool is the caller's job. */
export function buildApp(deps: ServerDeps): Hono {
  const { ctx } = deps;
  const app = new Hono();
  const timeoutMs = deps.probeTimeoutMs ?? 3000;
  const metrics = createMetrics({ ctx, queues: deps.queues, timeoutMs });

  app.get('/', (c) =>
    c.json({ name: 'embedq', version: packageVersion, endpoints: { dashboard: `${ADMIN_PATH}`, metrics: '/metrics', health: '/healthz', ready: '/readyz' } }),
  );
  app.route('/', healthRoutes(ctx, { timeoutMs }));
  app.get('/metrics', async (c) => c.body(await metrics.scrape(), 200, { 'Content-Type': metrics.contentType }));
  mountAdmin(app, { queues: deps.queues, adminToken: ctx.config.adminToken });

  app.notFound((c) => errorResponse(c, new HTTPException(404, { message: `no route for ${c.req.method} ${c.req.path}` }), ctx.logger));
  app.onError((err, c) => errorResponse(c, err, ctx.logger));
  return app;
}

/**
 * The one place errors become HTTP responses: an HTTPException keeps its status, message and
 * headers (e.g. the 401 challenge), a down service is a 503 naming it (its URL is already
 * redacted), and anything else is a 500 whose details go to the log, not to the client.
 */
export function errorResponse(c: HonoContext, err: unknown, logger: Logger): Response {
  const e = coerceError(err);
  let status: ContentfulStatusCode = 500;
  let message = 'internal error (details are in the server log)';
  let headers: Headers | undefined;
  if (e instanceof HTTPException) {
    status = e.status as ContentfulStatusCode;
    message = e.message || 'request refused';
    headers = e.res?.headers;
  } else if (e instanceof ServiceUnavailableError) {
    status = 503;
    message = e.message;
  } else {
    logger.error({ err: e, path: c.req.path, method: c.req.method }, 'request failed');
  }
  const res = c.json({ error: { status, message } } satisfies ErrorBody, status);
  headers?.forEach((v, k) => {
    if (k.toLowerCase() !== 'content-type' && k.toLowerCase() !== 'content-length') res.headers.append(k, v);
  });
  return res;
}

/** The app plus the resources it was built on. */
export interface Server {
  app: Hono;
  close(): Promise<void>;
}

/**
 * Opens the server's own Redis connection and queues and builds the app on them. The connection
 * gives up on a command after one reconnect attempt (`maxRetriesPerRequest: 1`): while Redis is
 * down, dashboard calls and metric collections fail quickly instead of queueing without bound.
 */
export function openServer(ctx: Pick<Context, 'config' | 'db' | 'logger'>, opts: { probeTimeoutMs?: number } = {}): Server {
  const redis = createRedis(ctx.config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const queues = createQueues(redis, ctx.config.redisPrefix);
  // Connection errors surface as `embedq_up` and /readyz; unheard 'error' events would be printed.
  for (const name of Object.values(QUEUES)) queues[name].on('error', (err) => ctx.logger.debug({ queue: name, err: err.message }, 'queue connection error'));
  const app = buildApp({ ctx, queues, ...opts });
  return {
    app,
    async close() {
      // A queue still waiting for an unreachable Redis never finishes closing; do not wait forever.
      await withTimeout(queues.close(), 5000, 'closing the queues').catch(() => undefined);
      redis.disconnect();
    },
  };
}
