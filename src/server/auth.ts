/**
 * Admin authentication for `embedq serve`: one token from configuration (`adminToken`,
 * `EMBEDQ_ADMIN_TOKEN`), accepted as a bearer token or as the basic-auth password, and the bind
 * check that keeps an unauthenticated dashboard off the network.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../errors.ts';

/** How the dashboard is protected, as decided by {@link checkBind}. */
export type DashboardAccess = 'token' | 'open-loopback';

/**
 * True when `host` only accepts connections from this machine: `localhost`, 127.0.0.0/8, `::1`
 * (and their IPv4-mapped form). `0.0.0.0` and `::` listen on every interface, so they are not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    // The URL parser writes IPv6 in its shortest form: ::1, and ::ffff:7fXX:XXXX for mapped 127/8.
    const canonical = new URL(`http://[${h}]`).hostname;
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
  }
  return false;
}

/**
 * Refuses to expose an open dashboard: a non-loopback `host` needs an admin token. A
 * {@link ConfigError} (exit 1) rather than a usage error, because the fix is usually the missing
 * setting, not the flag.
 * @example checkBind('0.0.0.0', process.env.EMBEDQ_ADMIN_TOKEN) // throws without a token
 */
export function checkBind(host: string, adminToken: string | undefined): DashboardAccess {
  if (adminToken) return 'token';
  if (isLoopbackHost(host)) return 'open-loopback';
  throw new ConfigError([
    `refusing to serve on ${host} (not a loopback address) without an admin token: set EMBEDQ_ADMIN_TOKEN (or adminToken in the config file), or use --host 127.0.0.1`,
  ]);
}

// Both sides are hashed first so the comparison takes the same time whatever the lengths.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of a presented secret with the configured token. */
export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

/** The secret a request presents: the bearer token, or the password of basic auth (any user). */
export function presentedSecret(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value || undefined;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/**
 * Middleware that lets a request through only with the admin token (or always, when `token` is
 * undefined: {@link checkBind} has then ensured the server is on loopback). A refusal is thrown as
 * an HTTP 401 with challenges for both schemes; the browser answers the basic one with a login
 * prompt. The JSON body comes from the app's one error handler.
 */
export function requireAdmin(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (token !== undefined) {
      const secret = presentedSecret(c.req.header('authorization'));
      if (secret === undefined || !tokenMatches(secret, token)) {
        const headers = new Headers();
        headers.append('WWW-Authenticate', 'Basic realm="embedq admin", charset="UTF-8"');
        headers.append('WWW-Authenticate', 'Bearer realm="embedq admin"');
        throw new HTTPException(401, {
          message: secret === undefined ? 'the dashboard needs the admin token (bearer, or basic auth password)' : 'wrong admin token',
          res: new Response(null, { status: 401, headers }),
        });
      }
    }
    await next();
  };
}
