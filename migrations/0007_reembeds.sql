-- 0007_reembeds: reembed runs get their own name. "migration" now means only a schema migration
-- (this file, schema_migrations); the rows of `embedq reembed` live in reembeds and reembed_events.
-- Renames keep every row, id and identity sequence; constraint, index and sequence names follow.

ALTER TABLE migrations RENAME TO reembeds;
ALTER TABLE reembeds RENAME CONSTRAINT migrations_pkey TO reembeds_pkey;
ALTER TABLE reembeds RENAME CONSTRAINT migrations_index_id_fkey TO reembeds_index_id_fkey;
ALTER TABLE reembeds RENAME CONSTRAINT migrations_source_version_id_fkey TO reembeds_source_version_id_fkey;
ALTER TABLE reembeds RENAME CONSTRAINT migrations_target_version_id_fkey TO reembeds_target_version_id_fkey;
ALTER TABLE reembeds RENAME CONSTRAINT migrations_state_check TO reembeds_state_check;
ALTER TABLE reembeds RENAME CONSTRAINT migrations_mode_check TO reembeds_mode_check;
ALTER INDEX migrations_one_open RENAME TO reembeds_one_open;
ALTER SEQUENCE migrations_id_seq RENAME TO reembeds_id_seq;

ALTER TABLE migration_events RENAME TO reembed_events;
ALTER TABLE reembed_events RENAME COLUMN migration_id TO reembed_id;
ALTER TABLE reembed_events RENAME CONSTRAINT migration_events_pkey TO reembed_events_pkey;
ALTER TABLE reembed_events RENAME CONSTRAINT migration_events_migration_id_fkey TO reembed_events_reembed_id_fkey;
ALTER SEQUENCE migration_events_id_seq RENAME TO reembed_events_id_seq;
