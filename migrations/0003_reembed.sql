-- 0003_reembed: the migration controller's state machine (embedq reembed).
-- One row per migration of an index to another model version; every transition is logged.

CREATE TABLE migrations (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  index_id           integer NOT NULL REFERENCES indexes (id),
  source_version_id  integer NOT NULL REFERENCES index_versions (id),
  target_version_id  integer NOT NULL REFERENCES index_versions (id),
  state              text NOT NULL DEFAULT 'planned' CHECK (state IN (
                       'planned', 'backfilling', 'validating', 'ready', 'cut_over', 'retired', 'aborted', 'rolled_back')),
  mode               text NOT NULL DEFAULT 'sync' CHECK (mode IN ('sync', 'batch')),
  coverage_threshold numeric(6, 5) NOT NULL DEFAULT 1.0,
  quality_floor      numeric(6, 5) NOT NULL DEFAULT 0.95,
  auto_cutover       boolean NOT NULL DEFAULT true,
  queries            jsonb,                   -- user-supplied query set, if any
  backfill_cursor    bigint NOT NULL DEFAULT 0, -- last chunk id whose page was committed
  backfill_done      boolean NOT NULL DEFAULT false,
  quality            jsonb,                   -- gate numbers for both indexes
  forced             boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- One open migration per index: a second `reembed start` fails on this index.
CREATE UNIQUE INDEX migrations_one_open ON migrations (index_id) WHERE state IN ('planned', 'backfilling', 'validating', 'ready', 'cut_over');

CREATE TABLE migration_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration_id bigint NOT NULL REFERENCES migrations (id),
  from_state   text,
  to_state     text NOT NULL,
  actor        text NOT NULL,
  reason       text NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
