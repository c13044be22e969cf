/**
 * Virtual keys of the gateway (`api_keys`, migration 0009): every statement on them. Rows hold a
 * SHA-256 of the secret and a short display prefix, never the secret; nothing here returns a hash.
 */
import type { Queryable } from './db.ts';

export interface ApiKey {
  id: string;
  tenant: string;
  name: string | null;
  /** `eq_` and the secret's first characters, for telling keys apart. */
  prefix: string;
  /** Models the key may use (ids or aliases as configured); null: any. */
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** Until when the secret it was rotated from still works. */
  previousValidUntil: Date | null;
  createdAt: Date;
}

export interface NewKey {
  tenant: string;
  name?: string | null;
  prefix: string;
  secretHash: Buffer;
  models?: string[] | null;
  rpm?: number | null;
  tpm?: number | null;
  expiresAt?: Date | null;
}

const COLS = `id::text AS id, tenant, name, prefix, models, rpm, tpm, expires_at AS "expiresAt", revoked_at AS "revokedAt",
  previous_valid_until AS "previousValidUntil", created_at AS "createdAt"`;

export async function insertKey(db: Queryable, k: NewKey): Promise<ApiKey> {
  const { rows } = await db.query<ApiKey>(
    `INSERT INTO api_keys (tenant, name, prefix, secret_hash, models, rpm, tpm, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLS}`,
    [k.tenant, k.name ?? null, k.prefix, k.secretHash, k.models ?? null, k.rpm ?? null, k.tpm ?? null, k.expiresAt ?? null],
  );
  return rows[0]!;
}

/** Keys, newest first; a tenant's only when given. */
export async function listKeys(db: Queryable, opts: { tenant?: string } = {}): Promise<ApiKey[]> {
  const { rows } = await db.query<ApiKey>(`SELECT ${COLS} FROM api_keys WHERE ($1::text IS NULL OR tenant = $1) ORDER BY id DESC`, [opts.tenant ?? null]);
  return rows;
}

/** A key by its id or its display prefix. */
export async function getKey(db: Queryable, idOrPrefix: string): Promise<ApiKey | undefined> {
  const { rows } = await db.query<ApiKey>(`SELECT ${COLS} FROM api_keys WHERE ($1 ~ '^[0-9]+$' AND id = $1::bigint) OR prefix = $1`, [idOrPrefix]);
  return rows[0];
}

/** The key a secret's hash belongs to: its current secret, or the one it was rotated from while that is in grace. */
export async function keyBySecretHash(db: Queryable, hash: Buffer, now: Date): Promise<(ApiKey & { viaPrevious: boolean }) | undefined> {
  const { rows } = await db.query<ApiKey & { viaPrevious: boolean }>(
    `SELECT ${COLS}, secret_hash <> $1 AS "viaPrevious" FROM api_keys
      WHERE secret_hash = $1 OR (previous_secret_hash = $1 AND previous_valid_until > $2)`,
    [hash, now],
  );
  return rows[0];
}

export interface KeyPatch {
  name?: string | null;
  models?: string[] | null;
  rpm?: number | null;
  tpm?: number | null;
  expiresAt?: Date | null;
}

/** Changes the fields given (null clears one); the updated key, or undefined when there is none. */
export async function updateKey(db: Queryable, id: string, p: KeyPatch): Promise<ApiKey | undefined> {
  const set: string[] = [];
  const params: unknown[] = [id];
  const col = (name: string, v: unknown) => {
    params.push(v);
    set.push(`${name} = $${params.length}`);
  };
  if (p.name !== undefined) col('name', p.name);
  if (p.models !== undefined) col('models', p.models);
  if (p.rpm !== undefined) col('rpm', p.rpm);
  if (p.tpm !== undefined) col('tpm', p.tpm);
  if (p.expiresAt !== undefined) col('expires_at', p.expiresAt);
  const { rows } = await db.query<ApiKey>(`UPDATE api_keys SET ${[...set, 'updated_at = now()'].join(', ')} WHERE id = $1::bigint RETURNING ${COLS}`, params);
  return rows[0];
}

/** Revokes a key (its secrets, current and in grace, stop working); already revoked keeps its first time. */
export async function revokeKey(db: Queryable, id: string): Promise<ApiKey | undefined> {
  const { rows } = await db.query<ApiKey>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), updated_at = now() WHERE id = $1::bigint RETURNING ${COLS}`, [id]);
  return rows[0];
}

/** Gives a key a new secret; the current one keeps working until `graceUntil` (null: stops now). Refused for a revoked key. */
export async function rotateKey(db: Queryable, id: string, next: { prefix: string; secretHash: Buffer }, graceUntil: Date | null): Promise<ApiKey | undefined> {
  const { rows } = await db.query<ApiKey>(
    `UPDATE api_keys SET previous_secret_hash = CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE secret_hash END, previous_valid_until = $4,
            secret_hash = $3, prefix = $2, updated_at = now()
      WHERE id = $1::bigint AND revoked_at IS NULL RETURNING ${COLS}`,
    [id, next.prefix, next.secretHash, graceUntil],
  );
  return rows[0];
}
