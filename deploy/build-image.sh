#!/usr/bin/env bash
# Builds the static `paddle` binary and the FROM-scratch image `paddle:dev`
# (or the tag given as $1). Needs only cargo, the glibc static libraries
# (libc6-dev) and docker; pulls nothing from any registry.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-paddle:dev}"
target=x86_64-unknown-linux-gnu

RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked -p paddle-node --target "$target"
bin="target/$target/release/paddle"

# A static binary has no interpreter and needs no shared library.
if file "$bin" 2>/dev/null | grep -q 'dynamically linked'; then
    echo "build-image: $bin is not statically linked" >&2
    exit 1
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs"
mkdir -m 700 "$ctx/rootfs/data"
cp "$bin" deploy/Dockerfile "$ctx/"
docker build -t "$tag" "$ctx"
echo "built image $tag from $bin"
