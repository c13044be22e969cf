/**
 * Virtual keys and spend under the admin token, as `embedq keys` and `embedq spend` have them:
 *   POST   /admin/keys              {"tenant", "name"?, "models"?, "rpm"?, "tpm"?, "expires"?: "30d"} → the key and its secret (once)
 *   GET    /admin/keys[?tenant=]    the keys (prefixes, never secrets)
 *   GET    /admin/keys/:id          one key (id or prefix)
 *   PATCH  /admin/keys/:id          {"name"?, "models"?, "rpm"?, "tpm"?, "expires"?}; null clears one
 *   DELETE /admin/keys/:id          revoke
 *   POST   /admin/keys/:id/rotate   {"grace"?: "24h"} → the new secret (once)
 *   GET    /admin/spend?by=key|tenant|model|day|mode[&since=7d][&tenant=]
 * The operations are src/gateway/keys.ts's. Writes must be JSON and carry the token in the
 * Authorization header, like /admin/deployments.
 */
import type { Context as HonoContext, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { UsageError } from '../errors.ts';
import { createApiKey, findApiKey, KeyNotFoundError, revokeApiKey, rotateApiKey, updateApiKey, type KeySettings } from '../gateway/keys.ts';
import type { Db } from '../store/db.ts';
import { listKeys } from '../store/keys.ts';
import { SPEND_GROUPS, spendBy, type SpendGroup } from '../store/spend.ts';
import { assertTenant } from '../tenant.ts';
import { requireToken } from './auth.ts';

export const KEYS_PATH = '/admin/keys';
const SPEND_PATH = '/admin/spend';

const duration = z.string().refine((v) => parseDuration(v) !== undefined, 'a number and a unit (s, m, h, d), e.g. 30d');
const settings = {
  name: z.string().max(100).nullable().optional(),
  models: z.array(z.string().min(1).max(300)).min(1).nullable().optional(),
  rpm: z.number().int().positive().nullable().optional(),
  tpm: z.number().int().positive().nullable().optional(),
  expires: duration.nullable().optional(),
};
const createBody = z.strictObject({ tenant: z.string().min(1), ...settings });
const patchBody = z.strictObject(settings);
const rotateBody = z.strictObject({ grace: duration.optional() });

const settingsOf = (b: z.infer<typeof patchBody>): KeySettings => ({
  ...(b.name !== undefined ? { name: b.name } : {}),
  ...(b.models !== undefined ? { models: b.models } : {}),
  ...(b.rpm !== undefined ? { rpm: b.rpm } : {}),
  ...(b.tpm !== undefined ? { tpm: b.tpm } : {}),
  ...(b.expires !== undefined ? { expiresInMs: b.expires === null ? null : parseDuration(b.expires)! } : {}),
});

async function jsonBody<T>(c: HonoContext, schema: z.ZodType<T>, optional = false): Promise<T> {
  const raw = await c.req.text();
  if (optional && raw.trim() === '') return schema.parse({});
  if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) throw new HTTPException(415, { message: 'send JSON with Content-Type: application/json' });
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new HTTPException(400, { message: 'the body is not valid JSON' });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HTTPException(400, { message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
  return parsed.data;
}

/** Usage errors of the key operations are the client's: 404 for no such key, 400 otherwise. */
async function asHttp<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError) throw new HTTPException(e instanceof KeyNotFoundError ? 404 : 400, { message: e.message });
    throw e;
  }
}

export function mountKeys(app: Hono, deps: { db: Db; adminToken: string }): void {
  const { db } = deps;
  for (const path of [KEYS_PATH, `${KEYS_PATH}/*`, SPEND_PATH]) app.use(path, requireToken(deps.adminToken, path.replace('/*', '')));
  app.post(KEYS_PATH, async (c) => {
    const b = await jsonBody(c, createBody);
    return c.json(await asHttp(() => createApiKey(db, assertTenant(b.tenant), settingsOf(b))), 201);
  });
  app.get(KEYS_PATH, async (c) => {
    const tenant = c.req.query('tenant');
    return c.json({ keys: await asHttp(() => listKeys(db, tenant ? { tenant: assertTenant(tenant) } : {})) });
  });
  app.get(`${KEYS_PATH}/:id`, async (c) => c.json(await asHttp(() => findApiKey(db, c.req.param('id')))));
  app.patch(`${KEYS_PATH}/:id`, async (c) => {
    const s = settingsOf(await jsonBody(c, patchBody));
    return c.json(await asHttp(() => updateApiKey(db, c.req.param('id'), s)));
  });
  app.delete(`${KEYS_PATH}/:id`, async (c) => c.json(await asHttp(() => revokeApiKey(db, c.req.param('id')))));
  app.post(`${KEYS_PATH}/:id/rotate`, async (c) => {
    const b = await jsonBody(c, rotateBody, true);
    return c.json(await asHttp(() => rotateApiKey(db, c.req.param('id'), b.grace ? parseDuration(b.grace)! : 0)));
  });
  app.get(SPEND_PATH, async (c) => {
    const by = c.req.query('by') ?? 'tenant';
    if (!(SPEND_GROUPS as readonly string[]).includes(by)) throw new HTTPException(400, { message: `by must be ${SPEND_GROUPS.join(', ')}` });
    const sinceRaw = c.req.query('since');
    const sinceMs = sinceRaw ? parseDuration(sinceRaw, ['m', 'h', 'd']) : undefined;
    if (sinceRaw && sinceMs === undefined) throw new HTTPException(400, { message: 'since must be a duration back from now, e.g. 24h or 7d' });
    const tenant = c.req.query('tenant');
    const rows = await asHttp(() => spendBy(db, by as SpendGroup, { ...(sinceMs !== undefined ? { since: new Date(Date.now() - sinceMs) } : {}), ...(tenant ? { tenant: assertTenant(tenant) } : {}) }));
    return c.json({ by, rows });
  });
}
