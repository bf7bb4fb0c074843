#!/usr/bin/env bash
# What the `etcd` feature's tests need beyond the Rust toolchain: an `etcd` server binary (the
# tests start their own on loopback, with a temporary data directory) and `protoc` (the
# etcd-client crate's build script compiles etcd's protobuf API with it).
#
# Installs Debian's `etcd-server` and `protobuf-compiler` with apt-get when run as root;
# otherwise stops at once with one line naming the packages.
set -euo pipefail

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || [ -n "${PROTOC:-}" ] || missing+=(protobuf-compiler)
if [ ${#missing[@]} -eq 0 ]; then
    echo "etcd $(etcd --version | head -1 | awk '{print $3}'), $(protoc --version 2>/dev/null || echo "protoc at $PROTOC")"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "the etcd tests need Debian packages: ${missing[*]} (apt-get install ${missing[*]}, as root)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package may start a system etcd on the default ports; the tests start their own.
command -v etcd >/dev/null && command -v protoc >/dev/null
echo "installed ${missing[*]}"
