#!/usr/bin/env bash
# Provision what builds and tests need on a fresh Debian 12 machine (run as root):
# Docker Engine 26 with the containerd image store (Debian trixie's packages, unpacked into $SOS_ENGINE_DIR;
# the host's libc and system packages are not touched), the buildx and compose plugins, cosign and oras,
# the three upstream base images (pulled, or built as local stand-ins when Docker Hub is unreachable), and
# the registry/lint/SBOM tools. Idempotent: every step checks first; a second run takes a few seconds.
# An engine that already runs (>= 25, containerd image store) is used as it is.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
standin_dir=${STANDIN_DIR:-$here/../shared/standin}
export STANDIN_WORK=${STANDIN_WORK:-/tmp/standin}
engine_dir=${SOS_ENGINE_DIR:-/opt/sos-engine}
data_root=${SOS_ENGINE_DATA:-/var/lib/sos-engine}
plugins=/usr/local/lib/docker/cli-plugins
# the base images: the defaults of the FROM lines' ARGs, written once in the Dockerfiles
mapfile -t base_images < <(sed -n 's/^ARG [A-Z_]*_IMAGE=\([^[:space:]]*\).*/\1/p' "$here"/dockerfiles/Dockerfile.node "$here"/dockerfiles/Dockerfile.go)
# Debian trixie: name of the package and what of it we keep (file in the .deb -> name in $engine_dir/bin)
trixie_packages=(docker.io containerd docker-buildx docker-compose cosign oras docker-cli)
min_engine=25

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ ! -f /tmp/.bootstrap-apt-updated ]; then apt-get update -qq && touch /tmp/.bootstrap-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A private apt configuration that sees only trixie: packages are downloaded, never installed.
trixie_apt() {
  local a=$engine_dir/apt
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/empty"
  if [ ! -f "$a/sources.list" ]; then
    local mirror
    mirror=$( (sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null; \
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null) | tr ' ' '\n' | grep -v security | \
      grep -E '/debian/?$' | head -n 1 || true)
    [ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources"
    echo "deb ${mirror%/} trixie main" > "$a/sources.list"
    cat > "$a/apt.conf" <<EOF
Dir::Etc::SourceList "$a/sources.list";
Dir::Etc::SourceParts "$a/empty";
Dir::Etc::Parts "$a/empty";
Dir::Etc::Preferences "$a/empty/none";
Dir::Etc::PreferencesParts "$a/empty";
Dir::State::Lists "$a/lists";
Dir::State::status "/dev/null";
Dir::Cache "$a/cache";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
  fi
  export APT_CONFIG=$a/apt.conf
  [ -f "$a/lists/.stamp" ] || { apt-get -qq update && touch "$a/lists/.stamp"; }
}

provide_engine_binaries() {
  local bin=$engine_dir/bin
  if [ -x "$bin/dockerd" ] && [ -x "$bin/containerd" ] && [ -x "$bin/cosign" ] && [ -x "$bin/docker-compose" ]; then
    return 0
  fi
  log "downloading Docker Engine 26 and tools from Debian trixie into $engine_dir"
  trixie_apt
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "${trixie_packages[@]}") || die "cannot download ${trixie_packages[*]} from trixie"
  mkdir -p "$tmp/x" "$bin"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
  local x=$tmp/x
  install -m 755 "$x/usr/sbin/dockerd" "$x/usr/sbin/docker-proxy" "$bin/"
  install -m 755 "$x"/usr/bin/containerd* "$x/usr/bin/ctr" "$x/usr/bin/cosign" "$x/usr/bin/oras" "$bin/"
  install -m 755 "$x/usr/libexec/docker/cli-plugins/docker-compose" "$x/usr/libexec/docker/cli-plugins/docker-buildx" "$bin/"
  install -m 755 "$x/usr/bin/docker" "$bin/docker-cli-26"
  ln -sf /usr/bin/tini-static "$bin/docker-init"
  rm -rf "$tmp"
}

# Rootless Docker for its test: rootlesskit and dockerd-rootless.sh from trixie, newuidmap and slirp4netns from
# Debian 12, and an unprivileged user with subordinate UIDs to run it.
provide_rootless() {
  local bin=$engine_dir/bin
  apt_install uidmap slirp4netns
  id -u sos-rootless >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin sos-rootless
  [ -x "$bin/rootlesskit" ] && [ -x "$bin/rootlesskit-docker-proxy" ] && [ -x "$bin/dockerd-rootless.sh" ] && return 0
  log "downloading rootlesskit and dockerd-rootless.sh from Debian trixie into $engine_dir"
  trixie_apt
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq rootlesskit docker.io) || die "cannot download rootlesskit from trixie"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
  install -m 755 "$tmp/x/usr/bin/rootlesskit" "$tmp/x/usr/bin/rootlesskit-docker-proxy" \
    "$tmp/x/usr/share/docker.io/contrib/dockerd-rootless.sh" "$bin/"
  rm -rf "$tmp"
}

# Tools on every user's PATH; the CLI plugins in the system folder, whatever DOCKER_CONFIG a test picks.
link_tools() {
  local bin=$engine_dir/bin
  mkdir -p "$plugins"
  ln -sf "$bin/docker-buildx" "$plugins/docker-buildx"
  ln -sf "$bin/docker-compose" "$plugins/docker-compose"
  for tool in cosign oras docker-compose; do ln -sf "$bin/$tool" "/usr/local/bin/$tool"; done
  command -v docker >/dev/null 2>&1 || ln -sf "$bin/docker-cli-26" /usr/local/bin/docker
}

engine_major() { docker version -f '{{.Server.Version}}' 2>/dev/null | cut -d. -f1; }
containerd_store() { docker info -f '{{json .DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'; }

start_engine() {
  local major; major=$(engine_major || true)
  if [ -n "$major" ]; then
    if [ "$major" -ge $min_engine ] && containerd_store; then return 0; fi
    # Debian 12's docker.io (20.10), as the earlier bootstrap started it, is replaced; anything else is the user's.
    if [ "$(readlink -f "/proc/$(pgrep -xo dockerd)/exe" 2>/dev/null)" = /usr/bin/dockerd ]; then
      log "stopping Debian's docker.io $major engine"; pkill -x dockerd; sleep 2
    else
      die "an engine $major runs on /var/run/docker.sock without the containerd image store: stop it, or enable" \
          "\"features\": {\"containerd-snapshotter\": true} in its daemon.json (engine >= $min_engine), then run again"
    fi
  fi
  mkdir -p "$data_root" /etc/sos-engine
  printf '{"features": {"containerd-snapshotter": true}, "data-root": "%s"}\n' "$data_root" > /etc/sos-engine/daemon.json
  log "starting dockerd 26 (containerd image store, data root $data_root)"
  PATH=$engine_dir/bin:$PATH nohup dockerd --config-file /etc/sos-engine/daemon.json >/var/log/sos-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    containerd_store && return 0
    sleep 0.5
  done
  tail -n 20 /var/log/sos-dockerd.log >&2; die "dockerd did not start (log: /var/log/sos-dockerd.log)"
}

have_base_images() {
  for img in "${base_images[@]}"; do docker image inspect "$img" >/dev/null 2>&1 || return 1; done
}

provide_base_images() {
  [ ${#base_images[@]} -gt 0 ] || die "no 'ARG *_IMAGE=' defaults in $here/dockerfiles: restore the Dockerfiles"
  if have_base_images; then log "base images present"; return 0; fi
  local pulled=1
  for img in "${base_images[@]}"; do
    docker image inspect "$img" >/dev/null 2>&1 && continue
    timeout 30 docker pull -q "$img" >/dev/null 2>&1 || { pulled=0; break; }
  done
  if [ $pulled = 1 ] && have_base_images; then log "pulled upstream base images"; return 0; fi
  log "Docker Hub unreachable: building stand-in base images ($standin_dir, STANDIN_WORK=$STANDIN_WORK)"
  [ -x "$standin_dir/fetch.sh" ] || die "no stand-in recipe at $standin_dir: set STANDIN_DIR"
  "$standin_dir/fetch.sh" >"$STANDIN_WORK.fetch.log" 2>&1 || { tail -n 30 "$STANDIN_WORK.fetch.log" >&2; exit 1; }
  "$standin_dir/prepare.sh" >"$STANDIN_WORK.prepare.log" 2>&1 || { tail -n 30 "$STANDIN_WORK.prepare.log" >&2; exit 1; }
  DOCKER=docker "$standin_dir/build.sh"
}

# runc, iptables and tini (docker-init) from Debian 12 work with trixie's engine.
apt_install runc iptables tini apache2-utils docker-registry skopeo openssl gcc make libc6-dev bzip2 dpkg-dev \
  shellcheck git jq
# The registry package starts a system service on install; tests start their own registries.
systemctl disable --now docker-registry >/dev/null 2>&1 || pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry' || true
provide_engine_binaries
provide_rootless
link_tools
start_engine
provide_base_images
log "ready: engine $(docker version -f '{{.Server.Version}}') (containerd image store), $(docker buildx version | cut -d' ' -f1-2), compose $(docker compose version --short), cosign and oras in /usr/local/bin"
