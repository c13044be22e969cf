-- 0002_provider_batches: provider batch jobs (OpenAI Batch API, Cohere Embed Jobs).
-- A batch row exists before anything is uploaded, so a crash between upload, create and poll is
-- recoverable: the submit job resumes from the row's state instead of starting a second batch.

-- Cache misses waiting to be gathered into a provider batch.
CREATE TABLE batch_pending (
  index_version_id integer NOT NULL REFERENCES index_versions (id),
  chunk_id         bigint NOT NULL,
  input_hash       bytea NOT NULL,
  tenant           text NOT NULL,
  run_id           text NOT NULL,
  tokens           integer NOT NULL,
  queued_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (index_version_id, chunk_id)
);

CREATE TABLE provider_batches (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider          text NOT NULL,
  model_version_id  integer NOT NULL REFERENCES model_versions (id),
  index_version_id  integer NOT NULL REFERENCES index_versions (id),
  tenant            text NOT NULL,
  run_id            text NOT NULL,
  submit_job_id     text NOT NULL UNIQUE,        -- the job that created it: a retried job resumes this row
  status            text NOT NULL DEFAULT 'preparing' CHECK (status IN (
                      'preparing', 'uploaded', 'validating', 'in_progress', 'finalizing', 'completed',
                      'failed', 'expired', 'cancelling', 'cancelled', 'ingested', 'rejected')),
  provider_batch_id text UNIQUE,
  input_file_id     text,
  output_file_id    text,
  error_file_id     text,
  requests          integer NOT NULL DEFAULT 0,
  inputs            integer NOT NULL DEFAULT 0,
  tokens_estimated  bigint NOT NULL DEFAULT 0,
  completed         integer NOT NULL DEFAULT 0,  -- inputs written from the output file
  failed            integer NOT NULL DEFAULT 0,  -- inputs re-queued (error file, missing or malformed lines)
  tokens_billed     bigint NOT NULL DEFAULT 0,
  errors            jsonb,                       -- the provider's validation errors, or our reason for rejecting results
  created_at        timestamptz NOT NULL DEFAULT now(),
  submitted_at      timestamptz,
  finished_at       timestamptz,
  ingested_at       timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_batches_open_idx ON provider_batches (id) WHERE ingested_at IS NULL;

-- Which inputs a batch carries: request line `custom_id`, position in that line's input array.
CREATE TABLE provider_batch_items (
  batch_id   bigint NOT NULL REFERENCES provider_batches (id) ON DELETE CASCADE,
  custom_id  text NOT NULL,
  position   integer NOT NULL,
  chunk_id   bigint NOT NULL,
  input_hash bytea NOT NULL,
  tokens     integer NOT NULL,
  PRIMARY KEY (batch_id, custom_id, position)
);

