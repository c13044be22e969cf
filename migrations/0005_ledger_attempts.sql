-- 0005_ledger_attempts: every provider attempt is ledgered before it is sent (status 'sent', with
-- its estimated tokens) and settled after it ends (ok / retry / error, or 'unknown' when no answer
-- came back and the provider may have billed it). Attempts a crash left 'sent' are swept to
-- 'unknown' after a bound. Rows written before this migration keep their statuses and read as before.
ALTER TABLE ledger DROP CONSTRAINT ledger_status_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_status_check CHECK (status IN ('ok', 'error', 'retry', 'cache_hit', 'sent', 'unknown'));
-- The sweep reads only unsettled rows.
CREATE INDEX ledger_unsettled_idx ON ledger (at) WHERE status = 'sent';
