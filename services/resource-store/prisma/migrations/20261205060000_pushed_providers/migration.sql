-- Pushed providers (api.md §6): one row per (org, provider); its builds, each with the
-- tarball in chunks (every worker on every machine fetches it from here) and, once built,
-- the bundle and its types; and the deployed version.
CREATE TABLE "providers" (
    "org_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "deleting" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "providers_pkey" PRIMARY KEY ("org_id", "provider_id")
);

CREATE TABLE "provider_builds" (
    "org_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    -- uploading (invisible), pending, building, success, failed
    "status" TEXT NOT NULL,
    "deploy_on_success" BOOLEAN NOT NULL DEFAULT false,
    "error_message" TEXT,
    "log" TEXT NOT NULL DEFAULT '',
    "bundle" TEXT,
    "types" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "provider_builds_pkey" PRIMARY KEY ("org_id", "provider_id", "version"),
    CONSTRAINT "provider_builds_provider_fkey" FOREIGN KEY ("org_id", "provider_id") REFERENCES "providers" ("org_id", "provider_id") ON DELETE CASCADE
);

CREATE TABLE "provider_build_chunks" (
    "org_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,
    CONSTRAINT "provider_build_chunks_pkey" PRIMARY KEY ("org_id", "provider_id", "version", "seq"),
    CONSTRAINT "provider_build_chunks_build_fkey" FOREIGN KEY ("org_id", "provider_id", "version") REFERENCES "provider_builds" ("org_id", "provider_id", "version") ON DELETE CASCADE
);

CREATE TABLE "provider_deployments" (
    "org_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "provider_deployments_pkey" PRIMARY KEY ("org_id", "provider_id"),
    CONSTRAINT "provider_deployments_build_fkey" FOREIGN KEY ("org_id", "provider_id", "version") REFERENCES "provider_builds" ("org_id", "provider_id", "version") ON DELETE CASCADE
);

-- Cascade delete and "409 while it has resources" count an org's resources of one provider.
CREATE INDEX "resources_org_provider_idx" ON "resources" ("org_id", "provider");
