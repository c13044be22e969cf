-- 0004_budgets_schedules: per-tenant budgets, checked before every provider call, and the daily
-- spend rollup the scheduler keeps up to date.

CREATE TABLE tenant_budgets (
  tenant           text PRIMARY KEY CHECK (tenant ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  usd_per_day      numeric(14, 6),
  usd_per_month    numeric(14, 6),
  tokens_per_day   bigint,
  tokens_per_month bigint,
  on_exceed        text NOT NULL DEFAULT 'delay' CHECK (on_exceed IN ('delay', 'fail')),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spend_daily (
  day              date NOT NULL,
  tenant           text NOT NULL,
  model_version_id integer NOT NULL,
  mode             text NOT NULL,
  calls            integer NOT NULL,
  tokens           bigint NOT NULL,
  cost_usd         numeric(16, 8) NOT NULL,
  saved_usd        numeric(16, 8) NOT NULL,
  PRIMARY KEY (day, tenant, model_version_id, mode)
);
