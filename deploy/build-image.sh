#!/usr/bin/env bash
# Builds the FROM-scratch image `paddle:dev` (or the tag given) from a
# stripped `paddle` binary, and keeps the binary's symbols beside it.
# Needs only cargo, binutils (objcopy), the glibc static libraries
# (libc6-dev) and docker; pulls nothing from any registry.
#
#   deploy/build-image.sh [TAG]
#       release build, statically linked (the image to ship)
#   deploy/build-image.sh --binary PATH [TAG]
#       an already built binary (the tests pass the one cargo test built:
#       no second, release build); a dynamically linked one gets its shared
#       libraries and loader copied into the image (found with ldd)
#
# Either way the image holds the binary stripped of its debug info and
# symbols, and target/image/ holds what went in: `paddle` (stripped, as
# shipped) and `paddle.debug` (its symbols, `objcopy --only-keep-debug`;
# the stripped binary names it in a .gnu_debuglink section, so gdb and
# addr2line find it when it sits beside the binary or in a debug dir).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
if [ "${1:-}" = "--binary" ]; then
    bin="${2:?--binary needs a path}"
    shift 2
fi
tag="${1:-paddle:dev}"

if [ -z "$bin" ]; then
    target=x86_64-unknown-linux-gnu
    RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --release --locked -p paddle-node --target "$target"
    bin="target/$target/release/paddle"
    # A static binary has no interpreter and needs no shared library.
    if file "$bin" 2>/dev/null | grep -q 'dynamically linked'; then
        echo "build-image: $bin is not statically linked" >&2
        exit 1
    fi
fi

out=target/image
mkdir -p "$out"
cp "$bin" "$out/paddle.full"
objcopy --only-keep-debug "$out/paddle.full" "$out/paddle.debug"
objcopy --strip-all --add-gnu-debuglink="$out/paddle.debug" "$out/paddle.full" "$out/paddle"
rm "$out/paddle.full"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs" "$ctx/libs"
mkdir -m 700 "$ctx/rootfs/data"
cp "$out/paddle" deploy/Dockerfile "$ctx/"
# A dynamically linked binary: its libraries and the loader, at the paths
# the binary asks for (ldd prints `name => /path (addr)` and the loader as
# `/path (addr)`).
if [ -n "$(ldd "$out/paddle" 2>/dev/null | grep -o '/[^ ]*' || true)" ]; then
    for lib in $(ldd "$out/paddle" | grep -o '/[^ ]*'); do
        mkdir -p "$ctx/libs$(dirname "$lib")"
        cp -L "$lib" "$ctx/libs$lib"
    done
fi
docker build -q -t "$tag" "$ctx" >/dev/null
size=$(stat -c %s "$out/paddle")
echo "built image $tag from $bin: stripped binary $((size / 1024 / 1024)) MiB; symbols in $out/paddle.debug"
