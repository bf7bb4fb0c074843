#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (CI's `.ci/run` calls it).
#
#   1. sets up the Python venv with rpyc==6.0.2 + pytest (for the interop tests);
#   2. checks formatting and clippy (warnings are errors);
#   3. runs every Rust test of the workspace, doctests included (some drive real Python
#      rpyc peers through the venv);
#   4. runs the Python interop suite: a plain Python rpyc client against our rpyc-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python venv (rpyc==6.0.2, pytest)"
scripts/setup-python.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace (unit, integration, doc tests)"
cargo build -p rpyc-server
cargo test --workspace

step "python rpyc client -> rpyc-server interop suite"
RPYC_SERVER_BIN="$PWD/target/debug/rpyc-server" .venv/bin/python -m pytest tests/python -q
