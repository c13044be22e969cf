-- 0011_document_metadata: `embedq search --filter key=value` matches documents by containment
-- (metadata @> '{"key": value}'). This index serves the exact scan that a filtered search falls
-- back to when the HNSW scan finds fewer than k matching rows.
CREATE INDEX documents_metadata_idx ON documents USING gin (metadata jsonb_path_ops);
