# syntax=docker/dockerfile:1
# One image for every service; the command picks which one runs (docker-compose.yml):
#   docker build -t pragma-control-plane .
#   docker run --rm pragma-control-plane node scripts/run-service.mjs registry
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS base
# corepack provides the pnpm version pinned in package.json "packageManager".
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    CI=true
RUN corepack enable pnpm
WORKDIR /app

# Dependencies, keyed on the lockfile alone so a source change reuses this layer.
FROM base AS deps
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm config set store-dir /pnpm/store && pnpm fetch --frozen-lockfile

FROM deps AS build
COPY . .
RUN pnpm install --offline --frozen-lockfile
# Prisma clients + tsc -b (build.mjs points PRISMA_SCHEMA_ENGINE_BINARY at a dummy,
# so no engine download is attempted).
# ... and the web console (Vite) into packages/console/dist, which the gateway serves.
RUN node scripts/build.mjs
# The runtime needs no devDependencies (typescript, jest, the prisma CLI).
RUN rm -rf node_modules packages/*/node_modules services/*/node_modules bench/node_modules \
 && pnpm install --offline --frozen-lockfile --prod

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Writable only where the services may write: the optional dev-secrets volume.
RUN mkdir -p /var/lib/pragma && chown node:node /var/lib/pragma
# Code stays root-owned and read-only to the service user.
COPY --from=build /app /app
USER node
EXPOSE 8080
CMD ["node", "scripts/run-service.mjs", "gateway"]
