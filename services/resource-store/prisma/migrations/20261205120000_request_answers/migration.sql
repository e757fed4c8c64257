-- The first answer of each write request (issue 27.4): a request the store has already
-- executed (redelivered after a crash between commit and ack, re-sent by the gateway after
-- a lost reply, or retried by a client with the same Idempotency-Key) is answered from here
-- instead of running again. Written in the transaction that does the write, so a request
-- has an answer recorded exactly when its write committed. Kept for
-- REQUEST_ANSWER_RETENTION_HOURS (24 by default), then pruned.
-- request_key: "idem:<Idempotency-Key>" for a client's key, or
-- "req:<request type>:<request id>:<fingerprint>" for the gateway's request id (see
-- services/resource-store/README.md, "Repeated requests").
CREATE TABLE "request_answers" (
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "request_key" TEXT NOT NULL,
    -- sha256 of the request type and body: the same key with another body is not a repeat.
    "fingerprint" TEXT NOT NULL,
    "answer" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("org_id", "project_id", "space_id", "request_key")
);
CREATE INDEX "request_answers_created_at_idx" ON "request_answers" USING brin ("created_at");

-- The tenant role (every store transaction) reads and writes only its scope's answers.
-- Row-level security is enabled but not forced, as for dead_letters: the pruner runs as
-- the owner and deletes every tenant's expired rows.
GRANT SELECT, INSERT ON "request_answers" TO pragma_store_tenant;
ALTER TABLE "request_answers" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "request_answers_tenant" ON "request_answers" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));
