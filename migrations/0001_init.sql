-- 0001_init: the first tables of embedq (see docs/architecture.md).
-- Runs with search_path = <schema>, public; pgvector's `vector` type lives in public.

-- One row per exact embedding model version. Vectors of two model versions are never compared.
CREATE TABLE model_versions (
  id                   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key                  text NOT NULL UNIQUE,        -- provider/model[@version]:dims, what input hashes are scoped by
  provider             text NOT NULL,
  model                text NOT NULL,
  version              text NOT NULL DEFAULT '',
  dims                 integer NOT NULL CHECK (dims > 0),
  native_dims          integer NOT NULL CHECK (native_dims > 0),
  dim_adapter          text NOT NULL DEFAULT 'native' CHECK (dim_adapter IN ('native', 'provider', 'truncate', 'pad')),
  normalization        text NOT NULL,
  max_input_tokens     integer NOT NULL,
  price_sync_per_mtok  numeric(12, 6) NOT NULL DEFAULT 0,
  price_batch_per_mtok numeric(12, 6),
  retired_at           timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now()
);

-- A logical index: what users name (`--index docs`). Its chunks are shared by every physical
-- version of it, so re-embedding never needs the source files again.
CREATE TABLE indexes (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  chunk_tokens  integer NOT NULL CHECK (chunk_tokens > 0),
  chunk_overlap integer NOT NULL CHECK (chunk_overlap >= 0),
  tokenizer     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- A physical vector table (vec_<name>_<n>) holding one model version's vectors of an index.
CREATE TABLE index_versions (
  id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  index_id         integer NOT NULL REFERENCES indexes (id),
  version          integer NOT NULL,
  table_name       text NOT NULL UNIQUE,
  model_version_id integer NOT NULL REFERENCES model_versions (id),
  dims             integer NOT NULL,
  state            text NOT NULL DEFAULT 'building' CHECK (state IN ('building', 'ready', 'dropped')),
  hnsw_built       boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (index_id, version)
);

-- Readers resolve an index name through its alias, so a cutover is one UPDATE in one transaction.
CREATE TABLE index_aliases (
  index_id         integer PRIMARY KEY REFERENCES indexes (id),
  index_version_id integer NOT NULL REFERENCES index_versions (id),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
  index_id     integer NOT NULL REFERENCES indexes (id),
  tenant       text NOT NULL,
  doc_id       text NOT NULL,
  source       text NOT NULL,
  content_hash bytea NOT NULL,             -- sha256 of the normalized document text
  chunk_count  integer NOT NULL,
  metadata     jsonb,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (index_id, tenant, doc_id)
);

CREATE TABLE chunks (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  index_id   integer NOT NULL,
  tenant     text NOT NULL,
  doc_id     text NOT NULL,
  ordinal    integer NOT NULL,
  text       text NOT NULL,                -- normalized: exactly what is hashed and sent
  text_hash  bytea NOT NULL,               -- sha256 of text alone (model-independent)
  char_start integer NOT NULL,
  char_end   integer NOT NULL,
  tokens     integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (index_id, tenant, doc_id, ordinal),
  FOREIGN KEY (index_id, tenant, doc_id) REFERENCES documents (index_id, tenant, doc_id) ON DELETE CASCADE
);

-- input hash → vector. In Postgres, not Redis: it is as large as the indexes and must survive restarts.
CREATE TABLE embedding_cache (
  input_hash       bytea PRIMARY KEY,       -- sha256(scope, model version key, dims, text)
  model_version_id integer NOT NULL REFERENCES model_versions (id),
  embedding        vector NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per provider call (and one per job for cache hits, counted as tokens saved).
CREATE TABLE ledger (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  tenant           text NOT NULL,
  provider         text NOT NULL,
  model_version_id integer REFERENCES model_versions (id),
  mode             text NOT NULL CHECK (mode IN ('sync', 'batch', 'cache')),
  status           text NOT NULL CHECK (status IN ('ok', 'error', 'retry', 'cache_hit')),
  inputs           integer NOT NULL DEFAULT 0,
  tokens           bigint NOT NULL DEFAULT 0,
  latency_ms       integer,
  cost_usd         numeric(16, 8) NOT NULL DEFAULT 0,
  saved_usd        numeric(16, 8) NOT NULL DEFAULT 0,
  attempt          integer,
  http_status      integer,
  error            text,
  batch_id         text,
  job_id           text,
  run_id           text
);
CREATE INDEX ledger_at_idx ON ledger (at);
CREATE INDEX ledger_tenant_at_idx ON ledger (tenant, at);
