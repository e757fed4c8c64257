-- Dead-lettered events drained from the broker's pragma.dead-letter queue (spec §5).
-- The event id is the key: at-least-once dead-lettering can deliver the same event
-- twice, and the consumer inserts with ON CONFLICT DO NOTHING.
-- CreateTable
CREATE TABLE "dead_letters" (
    "event_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_name" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "error_message" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "attempt_count" INTEGER NOT NULL,
    "attempts" JSONB NOT NULL,
    "correlation_id" TEXT,
    "failed_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE INDEX "dead_letters_tenant_provider_idx" ON "dead_letters"("org_id", "project_id", "space_id", "provider", "failed_at");
