# Palabre: multi-stage build — web client, then the release server (tests run in the build),
# then a small runtime image running as a non-root user with its data on a volume.
#
#   docker build -t palabre .
#   docker run -p 8080:8080 -v palabre-data:/data palabre

# ---- 1. the web client --------------------------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
RUN npm ci --no-audit --no-fund
COPY web/ ./
# The model's unit tests read the Rust-made fixtures (and write the TypeScript ones) there.
COPY tests/fixtures/ /src/tests/fixtures/
RUN npm run check && npm run test:unit && npm run build

# ---- 2. the server ------------------------------------------------------------------------
FROM rust:1.95-bookworm AS server
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY server/ server/
COPY tests/ tests/
COPY bench/ bench/
COPY docs/ docs/
# Unit tests of the server crate (the integration suite needs Node and a browser: CI runs it).
RUN cargo test --release -p palabre --lib \
 && cargo build --release -p palabre \
 && strip target/release/palabre

# ---- 3. runtime ---------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system palabre \
 && useradd --system --gid palabre --home-dir /data --shell /usr/sbin/nologin palabre \
 && mkdir -p /data /app \
 && chown palabre:palabre /data
COPY --from=server /src/target/release/palabre /app/palabre
COPY --from=web /src/web/dist /app/web
USER palabre
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8080
ENV PALABRE_BIND=0.0.0.0:8080 \
    PALABRE_DATA_DIR=/data \
    PALABRE_WEB_DIR=/app/web
# No shell involved (Debian's /bin/sh is dash, which has no /dev/tcp): the binary asks its own
# /healthz at PALABRE_BIND and exits 0 only on 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/app/palabre", "healthcheck", "--timeout", "3s"]
# tini forwards SIGTERM so Palabre flushes and compacts before the container stops.
ENTRYPOINT ["/usr/bin/tini", "--", "/app/palabre"]
CMD ["serve"]
