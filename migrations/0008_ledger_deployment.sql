-- 0008_ledger_deployment: which deployment served each provider attempt (issue #12). A model may
-- be served by several deployments of one model version (OpenAI and Azure OpenAI, two TEI
-- replicas); `provider` stays the model version's provider, `deployment` is the provider name the
-- attempt was sent to, and `failover` marks an attempt sent to another deployment after one failed.
-- Rows from before this migration have no deployment (NULL).

ALTER TABLE ledger ADD COLUMN deployment text;
ALTER TABLE ledger ADD COLUMN failover boolean NOT NULL DEFAULT false;
