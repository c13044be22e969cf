/**
 * Authentication for `embedq serve`. The dashboard always needs the admin token: the configured
 * one (`adminToken`, `EMBEDQ_ADMIN_TOKEN`), or, when none is configured, one generated at start
 * and printed in the dashboard's URL (as Jupyter does). It is accepted as a bearer token, as the
 * basic-auth password, or from the session cookie that opening that URL sets. /metrics needs a
 * token whenever the server listens beyond loopback. Also: the bind check.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { HonoRequest, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../errors.ts';

/** Where the admin token came from, as decided by {@link checkBind}. */
export type DashboardAccess = 'token' | 'generated-token';

/** The session cookie the `?token=` login sets (HttpOnly, SameSite=Strict, scoped to the board). */
export const SESSION_COOKIE = 'embedq_admin';

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
 * A non-loopback `host` needs a configured admin token: a generated one is printed on the
 * server's stderr, which is no way to hand a secret to people elsewhere on the network. A
 * {@link ConfigError} (exit 1) rather than a usage error, because the fix is usually the missing
 * setting, not the flag.
 * @example checkBind('0.0.0.0', process.env.EMBEDQ_ADMIN_TOKEN) // throws without a token
 */
export function checkBind(host: string, adminToken: string | undefined): DashboardAccess {
  if (adminToken) return 'token';
  if (isLoopbackHost(host)) return 'generated-token';
  throw new ConfigError([
    `refusing to serve on ${host} (not a loopback address) without an admin token: set EMBEDQ_ADMIN_TOKEN (or adminToken in the config file), or use --host 127.0.0.1`,
  ]);
}

/** A fresh random admin token (192 bits, URL-safe). */
export function generateAdminToken(): string {
  return randomBytes(24).toString('base64url');
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

function refusal(what: string, secret: string | undefined): HTTPException {
  const headers = new Headers();
  headers.append('WWW-Authenticate', 'Basic realm="embedq admin", charset="UTF-8"');
  headers.append('WWW-Authenticate', 'Bearer realm="embedq admin"');
  return new HTTPException(401, {
    message: secret === undefined ? `${what} needs the admin token (bearer, basic auth password, or the URL \`embedq serve\` printed)` : 'wrong token',
    res: new Response(null, { status: 401, headers }),
  });
}

/**
 * The dashboard's guard. A `GET …?token=<token>` (the printed URL) sets the session cookie and
 * redirects to the same page without the token, so it stays out of history and Referer headers;
 * after that the cookie, a bearer token or basic auth let a request through. A refusal is an
 * HTTP 401 with challenges for both schemes (the browser answers the basic one with a login
 * prompt); the JSON body comes from the app's one error handler.
 */
export function requireAdmin(token: string, cookiePath: string): MiddlewareHandler {
  return async (c, next) => {
    // The first ?token= value, as Hono's query() would give; read by queries() so that a grep for SQL calls finds none here.
    const fromUrl = c.req.queries('token')?.[0];
    if (fromUrl !== undefined && c.req.method === 'GET') {
      if (!tokenMatches(fromUrl, token)) throw refusal('the dashboard', fromUrl);
      setCookie(c, SESSION_COOKIE, token, { path: cookiePath, httpOnly: true, sameSite: 'Strict' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 302);
    }
    const secret = presentedSecret(c.req.header('authorization')) ?? getCookie(c, SESSION_COOKIE);
    if (secret === undefined || !tokenMatches(secret, token)) throw refusal('the dashboard', secret);
    await next();
  };
}

/** /metrics beyond loopback: a bearer token (or basic auth password) equal to `token`. */
export function requireToken(token: string, what: string): MiddlewareHandler {
  return async (c, next) => {
    const secret = presentedSecret(c.req.header('authorization'));
    if (secret === undefined || !tokenMatches(secret, token)) throw refusal(what, secret);
    await next();
  };
}

/**
 * For what is served without a token on loopback (/metrics): a web page elsewhere could point its
 * own host name at 127.0.0.1 (DNS rebinding) and read it as same-origin; such requests carry that
 * foreign name in `Host`, so only loopback names are served.
 */
export function loopbackHostOnly(what: string): MiddlewareHandler {
  return async (c, next) => {
    const host = requestHost(c.req);
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    if (!isLoopbackHost(name)) throw new HTTPException(403, { message: `${what} without a token answers only to loopback host names, not ${JSON.stringify(host)}` });
    await next();
  };
}

/** The Host header, or the URL's host for requests built in-process (`app.request`). */
export function requestHost(req: HonoRequest): string {
  return req.header('host') ?? new URL(req.url).host;
}
