# syntax=docker/dockerfile:1
# Synth Mind container image (spec/ops.md §7): the compiled binary on a
# distroless base, non-root, read-only-root friendly, data on a volume.
#
#   docker build -t ghcr.io/<owner>/synth-mind:dev .
#   docker run --read-only --tmpfs /tmp -p 127.0.0.1:8080:8080 \
#     -v synth-data:/app/data ghcr.io/<owner>/synth-mind:dev
#
# Multi-arch (linux/amd64, linux/arm64): the build stage runs on the build
# machine's platform and cross-compiles with `deno compile --target`.

# 1. build: dependencies, dashboard, vector kernel, the single binary
#    (scripts/compile.ts runs `deno compile -P=server --target <triple>`
#    with the --include list; the same script is `deno task compile`).
FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
ARG TARGETARCH
WORKDIR /app
ENV DENO_DIR=/deno-dir NO_COLOR=1
COPY deno.json deno.lock ./
COPY web/deno.json web/deno.json
RUN deno install --frozen
COPY . .
RUN deno task build:web && deno task build:wasm
RUN case "$TARGETARCH" in \
      amd64) triple=x86_64-unknown-linux-gnu ;; \
      arm64) triple=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
    esac && \
    deno run --no-prompt --allow-read=. --allow-run scripts/compile.ts \
      --target "$triple" --output dist/synth-mind && \
    mkdir -m 0700 /app/data-empty

# 2. sandbox-tools: prlimit (the tool sandbox's memory cap) and the
#    libsmartcols it links, for the target platform, multiarch path kept.
FROM debian:12-slim AS sandbox-tools
RUN set -eu; \
    lib="$(ldd /usr/bin/prlimit | awk '/libsmartcols/ { print $3 }')"; \
    test -n "$lib"; \
    real="$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"; \
    mkdir -p /out; \
    cp -L --parents /usr/bin/prlimit /out/; \
    cp -L --parents "$real" /out/

# 3. deno-bin: a real `deno` of the same version for the sandboxed children
#    (in the compiled binary Deno.execPath() is the binary itself).
FROM denoland/deno:bin-2.9.6 AS deno-bin

# 4. final: distroless, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/OWNER/synth-mind
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="synth-mind" \
      org.opencontainers.image.description="Synth Mind: a self-hosted AI agent server with a persistent, measurable psychological state" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.documentation="${SOURCE}/blob/main/docs/deployment.md"
WORKDIR /app
COPY --from=build /app/dist/synth-mind /app/synth-mind
COPY --from=sandbox-tools /out/ /
COPY --from=deno-bin /deno /usr/local/bin/deno
COPY --from=build --chown=65532:65532 /app/data-empty /app/data
ENV HOST=0.0.0.0 \
    PORT=8080 \
    SYNTH_DATA_DIR=/app/data \
    DENO_DIR=/tmp/deno \
    SYNTH_TOOLS_SANDBOX_DENO_PATH=/usr/local/bin/deno \
    SYNTH_ACCESS_LOG_FILE= \
    SYNTH_ACCESS_LOG_STDOUT=true \
    NO_COLOR=1
USER 65532:65532
EXPOSE 8080
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/synth-mind", "healthcheck"]
ENTRYPOINT ["/app/synth-mind"]
CMD ["serve"]
