/** Virtual keys in Postgres: only a hash is kept; revoke, expiry and rotation with grace decide what a secret opens. */
import { authenticate, createApiKey, mayUse, revokeApiKey, rotateApiKey, updateApiKey } from '../../src/gateway/keys.ts';
import { expect, test } from '../support/fixtures.ts';

test('a key is stored as a hash and a prefix; its secret opens it until revoked', async ({ ctx }) => {
  const { key, secret } = await createApiKey(ctx.db, 'acme', { name: 'ci', models: ['openai/text-embedding-3-small'], rpm: 60 });
  expect(secret).toMatch(/^eq_[A-Za-z0-9_-]{43}$/);
  expect(key).toMatchObject({ tenant: 'acme', name: 'ci', prefix: secret.slice(0, 11), rpm: 60, tpm: null, revokedAt: null });
  const { rows } = await ctx.db.query(`SELECT row_to_json(k)::text AS row FROM api_keys k`);
  expect(rows).toHaveLength(1);
  expect(rows[0].row).not.toContain(secret.slice(11));
  expect(await authenticate(ctx.db, secret)).toMatchObject({ key: { id: key.id, tenant: 'acme' } });
  expect(await authenticate(ctx.db, `${secret}x`)).toEqual({ refused: 'unknown' });
  expect(await authenticate(ctx.db, undefined)).toEqual({ refused: 'missing' });
  expect(await authenticate(ctx.db, 'sk-not-ours')).toEqual({ refused: 'unknown' });
  await revokeApiKey(ctx.db, key.prefix);
  expect(await authenticate(ctx.db, secret)).toEqual({ refused: 'revoked' });
  await expect(rotateApiKey(ctx.db, key.id, 0)).rejects.toThrow(/was revoked; create a new one/);
});

test('an expired key is refused as expired; a lifetime set by update applies from then', async ({ ctx }) => {
  const now = Date.now();
  const { key, secret } = await createApiKey(ctx.db, 'acme', { expiresInMs: 60_000 }, now);
  expect(await authenticate(ctx.db, secret, new Date(now + 59_000))).toMatchObject({ key: { id: key.id } });
  expect(await authenticate(ctx.db, secret, new Date(now + 61_000))).toEqual({ refused: 'expired' });
  await updateApiKey(ctx.db, key.id, { expiresInMs: null });
  expect(await authenticate(ctx.db, secret, new Date(now + 61_000))).toMatchObject({ key: { id: key.id, expiresAt: null } });
});

test('rotation with grace: both secrets work until the grace ends, then only the new one; without grace the old stops at once', async ({ ctx }) => {
  const now = Date.now();
  const { key, secret: old } = await createApiKey(ctx.db, 'acme', {}, now);
  const { secret: next } = await rotateApiKey(ctx.db, key.id, 3_600_000, now);
  expect(next).not.toBe(old);
  const at = (ms: number) => new Date(now + ms);
  expect(await authenticate(ctx.db, old, at(1000))).toMatchObject({ key: { id: key.id } });
  expect(await authenticate(ctx.db, next, at(1000))).toMatchObject({ key: { id: key.id } });
  expect(await authenticate(ctx.db, old, at(3_600_001))).toEqual({ refused: 'unknown' });
  expect(await authenticate(ctx.db, next, at(3_600_001))).toMatchObject({ key: { id: key.id } });
  const { secret: third } = await rotateApiKey(ctx.db, key.id, 0, now);
  expect(await authenticate(ctx.db, next, at(1000))).toEqual({ refused: 'unknown' });
  expect(await authenticate(ctx.db, third, at(1000))).toMatchObject({ key: { id: key.id } });
});

test('settings are checked; the allow-list matches ids, aliases and pinned versions', async ({ ctx }) => {
  await expect(createApiKey(ctx.db, 'acme', { rpm: 0 })).rejects.toThrow(/rpm must be a positive whole number/);
  await expect(createApiKey(ctx.db, 'Bad Tenant!')).rejects.toThrow(/tenant/);
  const { key } = await createApiKey(ctx.db, 'acme', { models: ['openai/text-embedding-3-small', 'small'] });
  expect(mayUse(key, 'small', 'openai/text-embedding-3-small')).toBe(true);
  expect(mayUse(key, 'openai/text-embedding-3-small@1', 'openai/text-embedding-3-small@1')).toBe(true);
  expect(mayUse(key, 'openai/text-embedding-3-large', 'openai/text-embedding-3-large')).toBe(false);
});
