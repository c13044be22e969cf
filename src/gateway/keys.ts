/**
 * Virtual keys: what `embedq keys …` and `/admin/keys` do, in one place. A secret is `eq_` and 43
 * base64url characters (32 random bytes); it is shown once, at create or rotate, and only its
 * SHA-256 is stored, with its first characters as the display prefix. A fast hash is right for a
 * secret of 256 random bits (a slow password hash guards guessable passwords, which these are not).
 */
import { createHash, randomBytes } from 'node:crypto';
import { assertTenant } from '../tenant.ts';
import type { Queryable } from '../store/db.ts';
import { getKey, insertKey, keyBySecretHash, revokeKey, rotateKey, updateKey, type ApiKey, type KeyPatch } from '../store/keys.ts';
import { UsageError } from '../errors.ts';

export const SECRET_PREFIX = 'eq_';
/** Characters of the secret shown as its prefix (after `eq_`). */
const SHOWN = 8;

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

function newSecret(): { secret: string; prefix: string; secretHash: Buffer } {
  const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { secret, prefix: secret.slice(0, SECRET_PREFIX.length + SHOWN), secretHash: hashSecret(secret) };
}

export interface KeySettings {
  name?: string | null;
  models?: string[] | null;
  rpm?: number | null;
  tpm?: number | null;
  /** Lifetime from now, in ms; null: never expires. */
  expiresInMs?: number | null;
}

function checkSettings(s: KeySettings): void {
  for (const k of ['rpm', 'tpm'] as const) {
    const v = s[k];
    if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 1)) throw new UsageError(`${k} must be a positive whole number, got ${JSON.stringify(v)}`);
  }
  if (s.models && (s.models.length === 0 || s.models.some((m) => typeof m !== 'string' || m.trim() === ''))) throw new UsageError('models must be a non-empty list of model ids or aliases');
  if (s.name !== undefined && s.name !== null && (typeof s.name !== 'string' || s.name.length > 100)) throw new UsageError('name must be a string of at most 100 characters');
  if (s.expiresInMs !== undefined && s.expiresInMs !== null && (!Number.isFinite(s.expiresInMs) || s.expiresInMs <= 0)) throw new UsageError('the lifetime of a key must be positive');
}

const patchOf = (s: KeySettings, now: number): KeyPatch => ({
  ...(s.name !== undefined ? { name: s.name } : {}),
  ...(s.models !== undefined ? { models: s.models } : {}),
  ...(s.rpm !== undefined ? { rpm: s.rpm } : {}),
  ...(s.tpm !== undefined ? { tpm: s.tpm } : {}),
  ...(s.expiresInMs !== undefined ? { expiresAt: s.expiresInMs === null ? null : new Date(now + s.expiresInMs) } : {}),
});

/** Creates a key for `tenant`; the secret is in the answer and nowhere else. */
export async function createApiKey(db: Queryable, tenant: string, s: KeySettings = {}, now = Date.now()): Promise<{ key: ApiKey; secret: string }> {
  assertTenant(tenant);
  checkSettings(s);
  const { secret, prefix, secretHash } = newSecret();
  const key = await insertKey(db, { tenant, prefix, secretHash, ...patchOf(s, now) });
  return { key, secret };
}

/** No key has the id or prefix asked for (a 404 on /admin/keys, a usage error in the CLI). */
export class KeyNotFoundError extends UsageError {
  override name = 'KeyNotFoundError';
}

/** @throws KeyNotFoundError when no key has this id or prefix */
export async function findApiKey(db: Queryable, idOrPrefix: string): Promise<ApiKey> {
  const k = await getKey(db, idOrPrefix);
  if (!k) throw new KeyNotFoundError(`no key ${JSON.stringify(idOrPrefix)}: give its id or its prefix (eq_…), as \`embedq keys list\` shows them`);
  return k;
}

export async function updateApiKey(db: Queryable, idOrPrefix: string, s: KeySettings, now = Date.now()): Promise<ApiKey> {
  checkSettings(s);
  const k = await findApiKey(db, idOrPrefix);
  return (await updateKey(db, k.id, patchOf(s, now)))!;
}

export async function revokeApiKey(db: Queryable, idOrPrefix: string): Promise<ApiKey> {
  const k = await findApiKey(db, idOrPrefix);
  return (await revokeKey(db, k.id))!;
}

/**
 * A new secret for a key; the old one keeps working for `graceMs` (0: stops at once).
 * @throws UsageError for a revoked key
 */
export async function rotateApiKey(db: Queryable, idOrPrefix: string, graceMs: number, now = Date.now()): Promise<{ key: ApiKey; secret: string }> {
  const k = await findApiKey(db, idOrPrefix);
  if (k.revokedAt) throw new UsageError(`key ${k.prefix}… (id ${k.id}) was revoked; create a new one instead`);
  const { secret, prefix, secretHash } = newSecret();
  const key = await rotateKey(db, k.id, { prefix, secretHash }, graceMs > 0 ? new Date(now + graceMs) : null);
  if (!key) throw new UsageError(`key ${k.prefix}… (id ${k.id}) was revoked meanwhile; create a new one instead`);
  return { key, secret };
}

/** Why a presented secret opens nothing, in words a client may read (never the secret itself). */
export type KeyRefusal = 'missing' | 'unknown' | 'revoked' | 'expired';

/** The key a bearer secret opens, or why none. One indexed query. `secretHash`: its {@link hashSecret}, when the caller has it already. */
export async function authenticate(db: Queryable, secret: string | undefined, now = new Date(), secretHash?: Buffer): Promise<{ key: ApiKey } | { refused: KeyRefusal }> {
  if (!secret) return { refused: 'missing' };
  if (!secret.startsWith(SECRET_PREFIX)) return { refused: 'unknown' };
  const k = await keyBySecretHash(db, secretHash ?? hashSecret(secret), now);
  if (!k) return { refused: 'unknown' };
  if (k.revokedAt) return { refused: 'revoked' };
  if (k.expiresAt && k.expiresAt.getTime() <= now.getTime()) return { refused: 'expired' };
  const { viaPrevious: _v, ...key } = k;
  return { key };
}

/** Whether a key may use a model: its allow-list names the requested id, its alias, or the resolved provider/model. */
export function mayUse(key: ApiKey, asked: string, resolvedId: string): boolean {
  if (!key.models) return true;
  const bare = (id: string) => id.replace(/@.*$/, '');
  return key.models.some((m) => m === asked || m === resolvedId || bare(m) === bare(resolvedId));
}
