# syntax=docker/dockerfile:1
# Multi-stage build: compile with the Rust toolchain, run from a distroless image as non-root.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Query macros compile from the committed .sqlx/ data: no database needed at build time.
ENV SQLX_OFFLINE=true
COPY Cargo.toml Cargo.lock clippy.toml build.rs ./
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY migrations migrations
# Cargo.toml declares the benchmarks: cargo reads their sources to load the manifest even though a
# release build never compiles them.
COPY benches benches
COPY src src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/subscription-upgrades /usr/local/bin/subscription-upgrades

# glibc and CA roots only; no shell, no package manager; uid 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/subscription-upgrades /usr/local/bin/subscription-upgrades
USER 65532:65532
ENV BIND_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/subscription-upgrades", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/subscription-upgrades"]
CMD ["serve"]
