#!/usr/bin/env bash
# Installs everything the tests and `dev` need on a fresh Debian machine:
#   - Debian packages: etcd, xrootd (+ scitokens plugin), scitokens-cpp, jupyterhub, dask, python3-kubernetes, ...
#   - kube-apiserver, kube-controller-manager, kube-scheduler and kubectl built from Debian's `kubernetes` source package (1.20.x),
#     cached outside the checkout in $AF_CONTROL_PLANE_DIR (default /var/cache/analysisfacility-operator/k8s),
#     so later runs start in seconds.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

CACHE_DIR="${AF_CONTROL_PLANE_DIR:-/var/cache/analysisfacility-operator/k8s}"
BIN_DIR="$CACHE_DIR/bin"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

log() { echo "[install-dependencies] $*" >&2; }

PACKAGES=(etcd-server xrootd-server xrootd-client xrootd-scitokens-plugins scitokens-cpp jupyterhub
          python3-distributed python3-kubernetes bindfs openssl curl jq rsync golang-go
          golang-github-modern-go-reflect2-dev
          node-configurable-http-proxy iproute2 util-linux procps
          glewlwyd sqlite3 apache2 libapache2-mod-auth-openidc)
# Bump when the way the binaries are built changes, so cached binaries from an older recipe are rebuilt.
BUILD_ID="k8s-1.20.2-reflect2-1.0.2-scheduler"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq >&2; apt_updated=1; fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Debian's configurable-http-proxy loads its modules from /usr/share/nodejs, which only Debian's own Node.js searches;
# where `node` comes from elsewhere (NodeSource's nodejs 20 on these machines) the proxy dies with "Cannot find module
# 'commander'". A wrapper earlier in PATH gives it the module path, so a pod's `configurable-http-proxy` runs as is.
if [ -x /usr/bin/configurable-http-proxy ] && ! node -e 'require.resolve("commander")' 2>/dev/null \
   && [ ! -x /usr/local/bin/configurable-http-proxy ]; then
  log "installing /usr/local/bin/configurable-http-proxy (NODE_PATH for a non-Debian node)"
  printf '#!/bin/sh\nexport NODE_PATH="/usr/share/nodejs:/usr/lib/nodejs${NODE_PATH:+:$NODE_PATH}"\nexec /usr/bin/configurable-http-proxy "$@"\n' \
    | $SUDO tee /usr/local/bin/configurable-http-proxy >/dev/null
  $SUDO chmod 0755 /usr/local/bin/configurable-http-proxy
fi

if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/kube-controller-manager" ] && [ -x "$BIN_DIR/kube-scheduler" ] \
   && [ -x "$BIN_DIR/kubectl" ] \
   && [ "$(cat "$BIN_DIR/.build-id" 2>/dev/null)" = "$BUILD_ID" ]; then
  log "control plane binaries cached in $BIN_DIR"
  exit 0
fi

# Source packages need a deb-src stanza mirroring the existing Debian sources.
SRC_LIST=/etc/apt/sources.list.d/analysisfacility-debian-src.sources
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding deb-src stanza"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $SUDO tee "$SRC_LIST" >/dev/null
  else
    grep -E '^deb ' /etc/apt/sources.list | grep -i debian | sed 's/^deb /deb-src /' | $SUDO tee /etc/apt/sources.list.d/analysisfacility-debian-src.list >/dev/null
  fi
  apt_updated=0
fi
apt_update

WORK="$CACHE_DIR/build"
mkdir -p "$WORK" "$BIN_DIR"
cd "$WORK"
if ! ls kubernetes_*.orig.tar.* >/dev/null 2>&1; then
  log "downloading the kubernetes source package"
  apt-get source --download-only kubernetes >&2
fi
SRC=$(ls -d "$WORK"/src 2>/dev/null || true)
if [ -z "$SRC" ]; then
  mkdir -p "$WORK/src"
  tar -xf "$(ls kubernetes_*.orig.tar.* | head -n1)" -C "$WORK/src" --strip-components=1
fi
cd "$WORK/src"
# Kubernetes 1.20 vendors reflect2 1.0.1, whose map iteration crashes binaries built with Go >= 1.18
# ("fatal error: fault" in aeshashbody when the apiserver encodes a map). Debian's reflect2 1.0.2 is the fix.
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
if [ ! -f vendor/github.com/modern-go/reflect2/go_above_118.go ]; then
  log "replacing vendored reflect2 with $REFLECT2 (Go >= 1.18 compatibility)"
  rm -rf vendor/github.com/modern-go/reflect2
  mkdir -p vendor/github.com/modern-go/reflect2
  find "$REFLECT2" -maxdepth 1 \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' -exec cp {} vendor/github.com/modern-go/reflect2/ \;
  # go_above_118.go needs these build tags to be honoured under vendor mode; keep go.mod's version line as is.
fi
mkdir -p .go/src/k8s.io
[ -e .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
log "building kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (several minutes on 2 cores)"
build() {
  GOPATH=$PWD/.go CGO_ENABLED=0 \
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl" >&2
}
if ! build || [ ! -s _output/bin/kube-apiserver ]; then
  log "first build attempt failed; clearing _output/bin and retrying"
  rm -rf _output/bin
  build
fi
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  install -m 0755 "_output/bin/$b" "$BIN_DIR/$b"
done
echo "$BUILD_ID" > "$BIN_DIR/.build-id"
log "control plane binaries installed in $BIN_DIR"
# The build tree is 1.3 GB; keep only the binaries.
cd "$CACHE_DIR" && rm -rf "$WORK/src"
