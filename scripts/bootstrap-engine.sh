#!/usr/bin/env bash
# Provision what builds and tests need on a fresh Debian 12 machine (run as root):
# a Docker engine, a BuildKit-capable client (buildx plugin), the three upstream base images
# (pulled, or built as local stand-ins when Docker Hub is unreachable), and the registry/lint/SBOM tools.
# Idempotent: every step checks first.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
standin_dir=${STANDIN_DIR:-$here/../shared/standin}
export STANDIN_WORK=${STANDIN_WORK:-/tmp/standin}
base_images=(node:20-alpine golang:1.21-alpine alpine:3.19)

log() { printf '[bootstrap] %s\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ ! -f /tmp/.bootstrap-apt-updated ]; then apt-get update -qq && touch /tmp/.bootstrap-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_dockerd() {
  if /usr/bin/docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do /usr/bin/docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  tail -n 20 /var/log/dockerd.log >&2; echo "bootstrap: dockerd did not start" >&2; exit 1
}

have_base_images() {
  for img in "${base_images[@]}"; do /usr/bin/docker image inspect "$img" >/dev/null 2>&1 || return 1; done
}

provide_base_images() {
  if have_base_images; then log "base images present"; return 0; fi
  local pulled=1
  for img in "${base_images[@]}"; do
    /usr/bin/docker image inspect "$img" >/dev/null 2>&1 && continue
    timeout 30 /usr/bin/docker pull -q "$img" >/dev/null 2>&1 || { pulled=0; break; }
  done
  if [ $pulled = 1 ] && have_base_images; then log "pulled upstream base images"; return 0; fi
  log "Docker Hub unreachable: building stand-in base images ($standin_dir, STANDIN_WORK=$STANDIN_WORK)"
  "$standin_dir/fetch.sh" >"$STANDIN_WORK.fetch.log" 2>&1 || { tail -n 30 "$STANDIN_WORK.fetch.log" >&2; exit 1; }
  "$standin_dir/prepare.sh" >"$STANDIN_WORK.prepare.log" 2>&1 || { tail -n 30 "$STANDIN_WORK.prepare.log" >&2; exit 1; }
  "$standin_dir/build.sh"
}

# The plugin goes into a system plugin folder, so it works whatever DOCKER_CONFIG a user or test picks.
provide_buildx() {
  local plugins=/usr/local/lib/docker/cli-plugins
  mkdir -p "$plugins"
  if [ -x "$plugins/docker-buildx" ] && docker buildx version >/dev/null 2>&1; then return 0; fi
  local src=$STANDIN_WORK/docker-config/cli-plugins/docker-buildx
  if [ ! -x "$src" ]; then
    log "fetching docker-buildx from Debian trixie"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq -t trixie docker-buildx 2>/dev/null || \
       apt-get download -qq "docker-buildx" ) || { echo "bootstrap: cannot download docker-buildx" >&2; exit 1; }
    dpkg-deb -x "$tmp"/docker-buildx_*.deb "$tmp/x"
    src=$tmp/x/usr/libexec/docker/cli-plugins/docker-buildx
  fi
  install -m 755 "$src" "$plugins/docker-buildx"
  log "buildx plugin: $(docker buildx version)"
}

apt_install docker.io apache2-utils docker-registry skopeo openssl gcc make libc6-dev bzip2 dpkg-dev
# The registry package starts a system service on install; tests start their own registries.
systemctl disable --now docker-registry >/dev/null 2>&1 || pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry' || true
start_dockerd
provide_base_images
provide_buildx
log "ready: engine $(/usr/bin/docker version -f '{{.Server.Version}}'), $(docker buildx version)"
