# syntax=docker/dockerfile:1
# strategy-control-plane: the API with its embedded runner, as `npm start` runs it.
#
#   docker build --build-arg BUILD_COMMIT=$(git rev-parse HEAD) -t strategy-control-plane .
#   docker run -d --name scp -p 127.0.0.1:8787:8787 -v scp-runtime:/var/lib/strategy-control-plane \
#     --stop-timeout 15 strategy-control-plane
#   docker exec scp cat /var/lib/strategy-control-plane/admin.token   # the generated admin token
#
# The server listens on 0.0.0.0 inside the container, so bearer tokens travel in clear text unless
# a TLS proxy is in front: put one there, and add `--behind-tls-proxy` to the command (the limit on
# wrong tokens then keys on the address the proxy appends to X-Forwarded-For; without a proxy that
# header is the client's to forge, so leave the flag off). Without it, the server logs a warning.

ARG NODE_VERSION=20.19

# Build: every dependency (TypeScript included); `npm ci` runs `prepare`, which builds dist/.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# The commit GET /version names: the build context has no .git, so it comes as a build argument
# (--build-arg BUILD_COMMIT=$(git rev-parse HEAD)); read by the build only, never a run-time setting.
# Left out: "commit": null. Not a full 40-hex-digit commit: the build fails.
ARG BUILD_COMMIT=
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# Runtime: production dependencies only. `npm ci --omit=dev` still runs `prepare` (tsc, a dev
# dependency, is not there), so scripts are skipped: nothing at run time needs an install script.
# npm's cache is a build cache mount, never a layer of the image.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# MALLOC_MMAP_THRESHOLD_: glibc's malloc serves blocks of 128 KiB and more with mmap, and gives them
# back when freed; left to itself it raises that threshold after the first such free, and the big
# blocks then stay in its arenas. Fixed, the server keeps 5-10 MB less resident after load (README,
# "Memory").
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=131072 \
    CONTROL_PLANE_RUNTIME_DIR=/var/lib/strategy-control-plane \
    CONTROL_PLANE_LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist ./dist
COPY bin ./bin
# config.yaml, audit.log, admin.token and tokens.yaml live in the volume, owned by the unprivileged user.
RUN mkdir -p /var/lib/strategy-control-plane && chown node:node /var/lib/strategy-control-plane
USER node
VOLUME ["/var/lib/strategy-control-plane"]
EXPOSE 8787
# Liveness: 200 while the process serves HTTP. (Readiness, /ready, is for a load balancer, not a restart.)
# On the port serve listens on: CONTROL_PLANE_PORT when set (`docker run -e CONTROL_PLANE_PORT=9000`), else 8787.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + ((process.env.CONTROL_PLANE_PORT || '').trim() || 8787) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains in-flight requests for at most 10 s, leaves etcd within 2 s more, then exits 0: give
# `docker stop` more than those 12 s (--stop-timeout 15, compose's stop_grace_period: 15s); Docker's
# default 10 s would cut it short.
STOPSIGNAL SIGTERM
# --single-threaded-gc: V8 collects on the main thread only, without helper threads taking a small
# machine's cores from the event loop and the I/O thread: the slowest of 1,000 activations took
# 11 ms where it took 21 (README, "Memory"). Only the command line sets it (not NODE_OPTIONS).
CMD ["node", "--single-threaded-gc", "dist/cli.js", "serve", "--host", "0.0.0.0"]
