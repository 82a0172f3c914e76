# syntax=docker/dockerfile:1
# Frontdesk image: a static Go binary on distroless, run as non-root.
#   docker build -t frontdesk --build-arg VERSION=$(git describe --always) .
#   make image
# See docs/deploy.md.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# Static (CGO off: the SQLite driver is pure Go), reproducible paths, time
# zone data built in (practitioner and practice zones never depend on the
# base image).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" -o /out/frontdesk ./cmd/frontdesk \
 && mkdir -p /out/data

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no
# shell or package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/frontdesk /usr/local/bin/frontdesk
COPY --from=build --chown=65532:65532 /out/data /data
ENV FRONTDESK_ENV=production \
    FRONTDESK_ADDR=0.0.0.0:8080 \
    FRONTDESK_DATA_DIR=/data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /readyz: fails while the replica drains or its database or Redis is down.
# A worker-only container (`frontdesk worker`) serves no HTTP: give it
# `healthcheck: disable: true` (docker-compose.yml does).
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/frontdesk", "healthcheck"]
# SIGTERM drains (FRONTDESK_DRAIN_DELAY), then shuts down gracefully
# (FRONTDESK_SHUTDOWN_TIMEOUT); give `docker stop -t` more than both.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/frontdesk"]
CMD ["serve"]
