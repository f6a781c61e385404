#!/usr/bin/env bash
# Installs everything the tests and `dev` need on a fresh Debian machine:
#   - Debian packages: etcd, xrootd (+ scitokens plugin), scitokens-cpp, jupyterhub, dask, python3-kubernetes, ...
#   - kube-apiserver and kube-controller-manager built from Debian's `kubernetes` source package (1.20.x),
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
          python3-distributed python3-kubernetes bindfs openssl curl jq rsync golang-go)

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

if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/kube-controller-manager" ] && [ -x "$BIN_DIR/kubectl" ]; then
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
mkdir -p .go/src/k8s.io
[ -e .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
log "building kube-apiserver, kube-controller-manager and kubectl (several minutes on 2 cores)"
build() {
  GOPATH=$PWD/.go CGO_ENABLED=0 \
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kubectl" >&2
}
if ! build || [ ! -s _output/bin/kube-apiserver ]; then
  log "first build attempt failed; clearing _output/bin and retrying"
  rm -rf _output/bin
  build
fi
for b in kube-apiserver kube-controller-manager kubectl; do
  install -m 0755 "_output/bin/$b" "$BIN_DIR/$b"
done
log "control plane binaries installed in $BIN_DIR"
# The build tree is 1.3 GB; keep only the binaries.
cd "$CACHE_DIR" && rm -rf "$WORK/src"
