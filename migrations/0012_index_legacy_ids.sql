-- 0012_index_legacy_ids: only indexes written by an older embedq can hold documents under the
-- ids it used to write (cwd-relative or absolute paths, record ids not scoped by their file).
-- Every ingest page of such an index looks for them (src/pipeline/legacy-ids.ts); an index
-- created from now on never has any, so its pages skip that lookup.
ALTER TABLE indexes ADD COLUMN legacy_doc_ids boolean NOT NULL DEFAULT true;
ALTER TABLE indexes ALTER COLUMN legacy_doc_ids SET DEFAULT false;
