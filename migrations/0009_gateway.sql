-- 0009_gateway: virtual keys for the online gateway (`embedq serve` /v1/embeddings, issue #13), and
-- the ledger columns its request rows need.
--
-- A key belongs to a tenant. Only a SHA-256 of its secret is stored (the secret is 32 random bytes,
-- so a slow password hash would add nothing), with a short prefix for display. Rotation keeps the
-- old secret's hash working until `previous_valid_until` (the grace period).
CREATE TABLE api_keys (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant                text NOT NULL,
  name                  text,
  prefix                text NOT NULL,
  secret_hash           bytea NOT NULL UNIQUE,
  previous_secret_hash  bytea UNIQUE,
  previous_valid_until  timestamptz,
  models                text[],
  rpm                   integer CHECK (rpm > 0),
  tpm                   integer CHECK (tpm > 0),
  expires_at            timestamptz,
  revoked_at            timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant);

-- Online requests: one row per request (mode 'online', status served | refused | failed, with its
-- HTTP status, inputs, cache hits, tokens billed and cost copied from its attempts), beside the
-- provider attempts of its misses (mode 'online', statuses as for sync). Spend sums attempts only.
ALTER TABLE ledger ADD COLUMN api_key_id bigint REFERENCES api_keys (id);
ALTER TABLE ledger ADD COLUMN end_user text;
ALTER TABLE ledger ADD COLUMN cache_hits integer;
ALTER TABLE ledger DROP CONSTRAINT ledger_mode_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_mode_check CHECK (mode IN ('sync', 'batch', 'cache', 'online'));
ALTER TABLE ledger DROP CONSTRAINT ledger_status_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_status_check CHECK (status IN ('ok', 'error', 'retry', 'cache_hit', 'sent', 'unknown', 'served', 'refused', 'failed'));
CREATE INDEX ledger_api_key_at_idx ON ledger (api_key_id, at) WHERE api_key_id IS NOT NULL;
