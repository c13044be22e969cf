/**
 * `/admin/keys` and `/admin/spend` under the admin token (in-process, app.request): the same key
 * operations as `embedq keys`, and their effect on /v1/embeddings from the next request on.
 */
import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import type { Hono } from 'hono';
import type { Context } from '../../src/context.ts';
import { openServer } from '../../src/server/app.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
const MODEL = 'openai/text-embedding-3-small';

async function withAdmin(fn: (app: Hono, ctx: Context) => Promise<void>): Promise<void> {
  await withSim(async (_sim, ctx) => {
    const server = openServer({ ...ctx, config: { ...ctx.config, adminToken: TOKEN } } as Context);
    try {
      await fn(server.app, ctx);
    } finally {
      await server.close();
    }
  });
}

const admin = (app: Hono, method: string, path: string, body?: unknown) =>
  app.request(path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const embed = (app: Hono, secret: string) =>
  app.request('/v1/embeddings', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: 'hello admin' }) });

test('create, list, show, update, rotate with grace and revoke through /admin/keys; each takes effect on the next request', () =>
  withAdmin(async (app) => {
    expect((await app.request('/admin/keys')).status).toBe(401);
    expect((await app.request('/admin/keys', { headers: { authorization: 'Bearer eq_wrong' } })).status).toBe(401);
    const created = await admin(app, 'POST', '/admin/keys', { tenant: 'acme', name: 'ci', rpm: 100, expires: '30d' });
    expect(created.status).toBe(201);
    const { key, secret } = (await created.json()) as { key: { id: string; prefix: string; expiresAt: string }; secret: string };
    expect(secret).toMatch(/^eq_/);
    expect(Date.parse(key.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect((await embed(app, secret)).status).toBe(200);

    const list = (await (await admin(app, 'GET', '/admin/keys?tenant=acme')).json()) as { keys: { id: string; prefix: string }[] };
    expect(list.keys.map((k) => k.prefix)).toEqual([key.prefix]);
    expect(JSON.stringify(list)).not.toContain(secret.slice(11));
    expect(await (await admin(app, 'GET', `/admin/keys/${key.prefix}`)).json()).toMatchObject({ id: key.id, name: 'ci', rpm: 100 });
    expect(await (await admin(app, 'PATCH', `/admin/keys/${key.id}`, { rpm: null, models: ['openai/text-embedding-3-large'] })).json()).toMatchObject({ rpm: null, models: ['openai/text-embedding-3-large'] });
    expect((await embed(app, secret)).status).toBe(403); // off its new allow-list
    await admin(app, 'PATCH', `/admin/keys/${key.id}`, { models: null });

    const rotated = (await (await admin(app, 'POST', `/admin/keys/${key.id}/rotate`, { grace: '1h' })).json()) as { secret: string };
    expect((await embed(app, secret)).status).toBe(200);
    expect((await embed(app, rotated.secret)).status).toBe(200);
    expect((await admin(app, 'DELETE', `/admin/keys/${key.id}`)).status).toBe(200);
    expect((await embed(app, rotated.secret)).status).toBe(401);
    expect((await embed(app, secret)).status).toBe(401);

    // Bad input is a 400 naming the field; an unknown key a 404; a form post is refused.
    const bad = await admin(app, 'POST', '/admin/keys', { tenant: 'acme', rpm: -1 });
    expect([bad.status, ((await bad.json()) as { error: { message: string } }).error.message]).toEqual([400, expect.stringMatching(/rpm/)]);
    expect((await admin(app, 'POST', '/admin/keys', { tenant: 'Not A Tenant' })).status).toBe(400);
    expect((await admin(app, 'GET', '/admin/keys/999999')).status).toBe(404);
    const form = await app.request('/admin/keys', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'tenant=acme' });
    expect(form.status).toBe(415);
  }));

test('/admin/spend?by=key shows what each key spent and saved', () =>
  withAdmin(async (app) => {
    const { secret, key } = (await (await admin(app, 'POST', '/admin/keys', { tenant: 'acme' })).json()) as { secret: string; key: { id: string; prefix: string } };
    expect((await embed(app, secret)).status).toBe(200);
    expect((await embed(app, secret)).status).toBe(200); // a hit
    const spend = (await (await admin(app, 'GET', '/admin/spend?by=key&since=1d')).json()) as { by: string; rows: { key: string; calls: number; spentUsd: number; cacheSavedUsd: number }[] };
    const row = spend.rows.find((r) => r.key === `${key.id} ${key.prefix}…`)!;
    expect(row.calls).toBe(1);
    expect(row.spentUsd).toBeGreaterThan(0);
    // Saved: the hit's tokens by the model's own tokenizer (cl100k) at the sync price ($0.02 per 1M).
    expect(row.cacheSavedUsd).toBeCloseTo((encode('hello admin').length / 1e6) * 0.02, 12);
    expect((await admin(app, 'GET', '/admin/spend?by=colour')).status).toBe(400);
    expect((await app.request('/admin/spend?by=key')).status).toBe(401);
  }));
