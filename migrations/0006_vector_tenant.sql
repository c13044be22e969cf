-- 0006_vector_tenant: every vector table carries the tenant of its chunks, so a search filters by
-- tenant inside its ordered scan (before LIMIT k) instead of after it. A chunk's tenant never
-- changes (it is part of the chunk's identity), so the copy cannot go stale.
-- Existing tables get the column filled from chunks; rows whose chunk is gone (orphans no search
-- could return) are dropped. New tables are created with the column (src/store/indexes.ts).
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT table_name FROM index_versions WHERE to_regclass(quote_ident(table_name)) IS NOT NULL ORDER BY id LOOP
    EXECUTE format('ALTER TABLE %I ADD COLUMN tenant text', t);
    EXECUTE format('UPDATE %I v SET tenant = c.tenant FROM chunks c WHERE c.id = v.chunk_id', t);
    EXECUTE format('DELETE FROM %I WHERE tenant IS NULL', t);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN tenant SET NOT NULL', t);
    EXECUTE format('CREATE INDEX %I ON %I (tenant)', t || '_tenant', t);
  END LOOP;
END
$$;
