import type { ServerType } from '@hono/node-server';
import type { Server as HttpServer } from 'node:http';
import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { strongSecret } from '../../config/secrets.ts';
import { checkBind, isLoopbackHost, type DashboardAccess } from '../../server/auth.ts';
import type { CommandEnv } from '../command.ts';
import { parseWholeNumber } from '../numbers.ts';

export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. @default 8080 */
  port: number;
  /** Interface to bind. A non-loopback address needs `adminToken`. @default 127.0.0.1 */
  host: string;
  /** Token for /metrics beyond loopback (else config metricsToken, else the admin token). */
  metricsToken?: string | undefined;
  /** false (`--no-auth`): /v1 takes requests without a key, as the default tenant; loopback only. @default true */
  auth?: boolean;
}

export interface Serving {
  /** The URL the server answers on (with the real port when 0 was asked for). */
  url: string;
  access: DashboardAccess;
  /** Where the dashboard is mounted. */
  dashboardPath: string;
  /** The dashboard's URL; with `?token=` when the token was generated for this run. */
  dashboardUrl: string;
  /** Whether /metrics needs a token (the server listens beyond loopback). */
  metricsNeedToken: boolean;
  /** Set when /v1 takes requests without a key (`--no-auth`): the tenant they count for. */
  noAuthTenant?: string;
  close(): Promise<void>;
}

/** Parses `--port`: an integer 0–65535. */
export function parsePort(v: string): number {
  return parseWholeNumber('--port', v, { max: 65535 });
}

/**
 * Checks the bind, then listens. Resolves once the port is bound; the caller decides how long
 * to run (the CLI until SIGTERM/SIGINT).
 */
export async function startServe(ctx: Context, o: ServeOptions): Promise<Serving> {
  const access = checkBind(o.host, ctx.config.adminToken);
  if (o.auth === false && !isLoopbackHost(o.host))
    throw new UsageError(`--no-auth serves /v1 without keys, so it binds to loopback only, not ${o.host}; create keys with \`embedq keys create\` to serve beyond this machine`);
  if (o.metricsToken !== undefined && !strongSecret(o.metricsToken)) throw new UsageError('--metrics-token must be a secret of at least 16 characters and 64 bits of entropy, e.g. from `openssl rand -hex 24`');
  // Loaded here, not at the top: the server's dependencies (Hono, Bull Board, prom-client) would
  // otherwise slow down every other command's start.
  const [{ serve: listen }, { openServer }, { ADMIN_PATH }] = await Promise.all([
    import('@hono/node-server'),
    import('../../server/app.ts'),
    import('../../server/admin.ts'),
  ]);
  const server = openServer(ctx, { host: o.host, metricsToken: o.metricsToken, ...(o.auth === false ? { noAuthTenant: ctx.config.defaultTenant } : {}) });
  let http: ServerType | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      http = listen({ fetch: server.app.fetch, hostname: o.host, port: o.port }, (info) => resolve(info.port));
      http.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE' ? new UsageError(`cannot listen on ${o.host}:${o.port}: the port is in use; pick another with --port`)
          : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? new UsageError(`cannot listen on ${o.host}: no such local address; use --host 127.0.0.1 or 0.0.0.0`)
          : e,
        ),
      );
    });
    const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
    const url = `http://${shown}:${port}`;
    return {
      url,
      access,
      dashboardPath: ADMIN_PATH,
      dashboardUrl: `${url}${ADMIN_PATH}${server.tokenGenerated ? `?token=${server.adminToken}` : ''}`,
      metricsNeedToken: !isLoopbackHost(o.host),
      ...(o.auth === false ? { noAuthTenant: ctx.config.defaultTenant } : {}),
      async close() {
        await new Promise<void>((resolve) => {
          if (!http) return resolve();
          // close() waits for open requests; a browser's kept-alive page must not hold us up long.
          const force = setTimeout(() => (http as HttpServer).closeAllConnections(), 5000);
          http.close(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await server.close();
      },
    };
  } catch (e) {
    http?.close();
    await server.close();
    throw e;
  }
}

/**
 * The startup lines: where it listens and how the dashboard is reached. A generated token is
 * printed in the dashboard's URL (opening it logs the browser in), as Jupyter does.
 */
export function startupLine(s: Pick<Serving, 'url' | 'access' | 'dashboardPath' | 'dashboardUrl' | 'metricsNeedToken' | 'noAuthTenant'>, prefix: string): string {
  const board = s.access === 'token' ? 'admin token required' : 'token generated for this run';
  const metrics = s.metricsNeedToken ? '/metrics (token required)' : '/metrics';
  const v1 = s.noAuthTenant ? `NO AUTH, as tenant ${s.noAuthTenant}, loopback only` : 'keys: embedq keys create';
  const line = `embedq serve: listening on ${s.url} — /v1/embeddings and /v1/models (${v1}), status page / and dashboard ${s.dashboardPath} (${board}), ${metrics}, /healthz, /readyz; queues under prefix ${prefix}`;
  const warn = s.noAuthTenant ? `\n  warning: --no-auth: anyone who can reach ${s.url} embeds as tenant ${s.noAuthTenant}, on its cache and budget` : '';
  if (s.access === 'token') return `${line}${warn}`;
  return `${line}${warn}\n  open the dashboard at ${s.dashboardUrl}\n  (set EMBEDQ_ADMIN_TOKEN to choose the token; it is needed to serve beyond loopback)`;
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('serve')
    .description('HTTP server: the OpenAI-compatible gateway (/v1/embeddings, /v1/models) for virtual keys, the status page at / and Bull Board at /admin/queues (admin token), /admin/keys, Prometheus /metrics, /healthz and /readyz (until SIGTERM/SIGINT)')
    .option('--port <n>', 'port to listen on (0 picks a free one)', parsePort, 8080)
    .option('--host <address>', 'interface to bind; anything but loopback needs EMBEDQ_ADMIN_TOKEN', '127.0.0.1')
    .option('--no-auth', 'serve /v1 without keys, as the default tenant (loopback only; for local development)')
    .option('--metrics-token <token>', 'bearer token /metrics needs when --host is not loopback (default: EMBEDQ_METRICS_TOKEN, else the admin token)')
    .action(
      env.handler(async (ctx, _out, o: ServeOptions) => {
        const serving = await startServe(ctx, o);
        process.stderr.write(`${startupLine(serving, ctx.config.redisPrefix)}\n`);
        await new Promise<void>((resolve) => {
          const stop = (sig: NodeJS.Signals) => {
            ctx.logger.info({ sig }, 'serve: shutting down');
            resolve();
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await serving.close();
        return 0;
      }),
    );
}
