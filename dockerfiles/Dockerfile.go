# Go services. Build context: the service folder (services/<name>), main package in ./cmd.
# Stages: builder -> development | production-alpine | production (default, last: scratch).
# Local modules (go.mod replace => ../../libs/x) arrive as the named context "libs", at their repository paths
# (../../libs/x is /libs/x from /src and /app); without libraries it is the empty stage below.
# Plain file on purpose: no "# syntax=" line, the engine's built-in frontend has every feature used here.

ARG GO_IMAGE=golang:1.21-alpine
ARG ALPINE_IMAGE=alpine:3.19

FROM scratch AS libs

# The builder runs on the build machine and cross-compiles for the target platform.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS builder
RUN set -eux; \
    apk add --no-cache \
        ca-certificates \
        git; \
    echo 'goapp:x:1001:1001:goapp:/nonexistent:/sbin/nologin' > /etc/passwd.app; \
    echo 'goapp:x:1001:' > /etc/group.app
WORKDIR /src
ENV CGO_ENABLED=0
# Modules before sources: a source edit does not re-download. The extra CA (secret "ca") is added to
# Go's roots through SSL_CERT_DIR for this RUN only.
# hadolint ignore=DL3067
COPY --from=libs / /
COPY go.mod go.sum* ./
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod \
    --mount=type=secret,id=ca,target=/run/ca/extra.pem \
    SSL_CERT_DIR=/run/ca:/etc/ssl/certs go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG BUILD_DATE=unknown
ARG GIT_COMMIT=unknown
# UPX is opt-in: Trivy and syft cannot see the Go modules inside a packed binary.
# (upx itself reads $UPX as options, hence the unset.)
ARG UPX=false
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod \
    --mount=type=cache,id=gobuild,target=/root/.cache/go-build \
    set -eux; \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.Version=${VERSION} -X main.BuildDate=${BUILD_DATE} -X main.GitCommit=${GIT_COMMIT}" \
        -o /out/app ./cmd; \
    if [ "$UPX" = "true" ]; then apk add --no-cache upx; (unset UPX; upx --best --lzma /out/app); fi; \
    cp "$(go env GOROOT)/lib/time/zoneinfo.zip" /out/zoneinfo.zip

# Debug image: full toolchain, Delve headless on 2345, binary with symbols and no optimisations.
FROM ${GO_IMAGE} AS development
ARG DELVE_VERSION=v1.22.1
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod \
    --mount=type=secret,id=ca,target=/run/ca/extra.pem \
    set -eux; \
    apk add --no-cache \
        ca-certificates \
        git \
        tzdata; \
    SSL_CERT_DIR=/run/ca:/etc/ssl/certs GOBIN=/usr/local/bin go install github.com/go-delve/delve/cmd/dlv@${DELVE_VERSION}; \
    echo 'goapp:x:1001:' >> /etc/group; \
    echo 'goapp:x:1001:1001:goapp:/nonexistent:/sbin/nologin' >> /etc/passwd; \
    echo 'goapp:!::0:::::' >> /etc/shadow
# Sources live in /app, the path a remote debugger maps (VS Code "remotePath": "/app").
WORKDIR /app
# hadolint ignore=DL3067
COPY --from=libs / /
COPY go.mod go.sum* ./
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG BUILD_DATE=unknown
ARG GIT_COMMIT=unknown
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod \
    --mount=type=cache,id=gobuild,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -gcflags="all=-N -l" \
        -ldflags "-X main.Version=${VERSION} -X main.BuildDate=${BUILD_DATE} -X main.GitCommit=${GIT_COMMIT}" \
        -o /usr/local/bin/app ./cmd
ARG PORT=8080
ARG HEALTH_PATH=/health
ENV PORT=${PORT} HEALTH_PATH=${HEALTH_PATH} GOFLAGS=-buildvcs=false
USER 1001:1001
EXPOSE ${PORT} 2345
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 CMD ["/usr/local/bin/app", "-healthcheck"]
CMD ["dlv", "exec", "/usr/local/bin/app", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue"]

# Small image with a shell and curl, for debugging a production-like container.
# The user's lines are written directly: adduser would put today's day count into /etc/shadow.
FROM ${ALPINE_IMAGE} AS production-alpine
RUN set -eux; \
    apk upgrade --no-cache; \
    apk add --no-cache \
        ca-certificates \
        curl \
        tzdata; \
    echo 'goapp:x:1001:' >> /etc/group; \
    echo 'goapp:x:1001:1001:goapp:/nonexistent:/sbin/nologin' >> /etc/passwd; \
    echo 'goapp:!::0:::::' >> /etc/shadow
COPY --from=builder /out/app /app
ARG PORT=8080
ARG HEALTH_PATH=/health
ENV PORT=${PORT} HEALTH_PATH=${HEALTH_PATH}
USER 1001:1001
EXPOSE ${PORT}
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 CMD ["/app", "-healthcheck"]
ENTRYPOINT ["/app"]

# Default: scratch. No shell and no curl, so the binary probes its own health endpoint.
FROM scratch AS production
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /out/zoneinfo.zip /usr/share/zoneinfo.zip
COPY --from=builder /etc/passwd.app /etc/passwd
COPY --from=builder /etc/group.app /etc/group
COPY --from=builder /out/app /app
ARG PORT=8080
ARG HEALTH_PATH=/health
ENV PORT=${PORT} HEALTH_PATH=${HEALTH_PATH} ZONEINFO=/usr/share/zoneinfo.zip
USER 1001:1001
EXPOSE ${PORT}
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 CMD ["/app", "-healthcheck"]
ENTRYPOINT ["/app"]
