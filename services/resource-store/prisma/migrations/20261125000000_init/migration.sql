-- CreateTable
CREATE TABLE "resources" (
    "row_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "applied_config" JSONB,
    "dependencies" JSONB NOT NULL,
    "owner_references" JSONB NOT NULL,
    "outputs" JSONB NOT NULL,
    "error" TEXT,
    "lifecycle_state" TEXT NOT NULL,
    "pending_event_id" TEXT,
    "provisioned" BOOLEAN NOT NULL,
    "tags" TEXT[],
    "has_tags" BOOLEAN NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "resources_pkey" PRIMARY KEY ("row_id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "event_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_name" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "previous_config" JSONB,
    "correlation_id" TEXT,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "resources_tenant_resource_id_key" ON "resources"("org_id", "project_id", "space_id", "resource_id");

-- CreateIndex
CREATE INDEX "resources_tenant_name_idx" ON "resources"("org_id", "project_id", "space_id", "name");

-- CreateIndex
CREATE INDEX "outbox_events_status_idx" ON "outbox_events"("status", "event_id");
