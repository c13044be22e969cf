-- 0010_budget_reservations: a gateway request holds the cost of its cache misses against its
-- tenant's budget from the check until its provider attempts are ledgered, so two concurrent
-- requests cannot both spend the last dollar. Taken under a per-tenant advisory lock; a process
-- that dies holding one leaves it to expire.
CREATE TABLE budget_reservations (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant      text NOT NULL,
  tokens      bigint NOT NULL,
  usd         numeric(16, 8) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX budget_reservations_tenant_idx ON budget_reservations (tenant, expires_at);
