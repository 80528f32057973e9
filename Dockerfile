# ferrochain in a container: a static (musl) release binary on Alpine, run by an unprivileged user, the chain
# and node keys in the /data volume, a health check on the API.
#
#   docker build -t ferrochain .
#   docker run --rm -p 5000:5000 -v ferrochain-data:/data ferrochain --mine
#
# docker/entrypoint.sh turns `docker run IMAGE [flags]` into `ferrochain node [flags]`; settings come from
# FERROCHAIN_* variables as for any node (`ferrochain node init-config` lists them). compose.yaml runs three
# nodes on PostgreSQL.

ARG RUST_VERSION=1.90
ARG ALPINE_VERSION=3.22

FROM rust:${RUST_VERSION}-alpine AS build
# musl-dev: the C runtime SQLite (bundled) is compiled against; the result is one static binary.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ferrochain \
    && cp target/release/ferrochain /usr/local/bin/ferrochain

FROM alpine:${ALPINE_VERSION}
RUN addgroup -S -g 10001 ferrochain \
    && adduser -S -D -H -u 10001 -G ferrochain -h /data ferrochain \
    && mkdir -p /data \
    && chown ferrochain:ferrochain /data
COPY --from=build /usr/local/bin/ferrochain /usr/local/bin/ferrochain
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/entrypoint.sh
ENV FERROCHAIN_LISTEN=0.0.0.0:5000 \
    FERROCHAIN_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 5000
USER 10001:10001
WORKDIR /data
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
