#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (CI's `.ci/run` calls it).
#
#   1. sets up the Python venv with rpyc==6.0.2 + pytest (for the interop tests);
#   2. checks formatting and clippy (warnings are errors);
#   3. builds the facade's docs (`cargo doc -p rpyc`) and checks its pages are there;
#      runs every Rust test of the workspace, doctests included (some drive real Python
#      rpyc peers through the venv; none of them can skip: without Python they fail), and the
#      README's commands as written (tests/readme.rs: the main command is run, and builds a
#      release rpyc-server the first time);
#   4. the `etcd` feature (service discovery on etcd): lints it, and runs its tests against real
#      etcd servers that the tests start on loopback (scripts/setup-etcd.sh installs Debian's
#      etcd-server and protobuf-compiler when they are missing; as root only, else it stops);
#   5. runs the Python interop suite: a plain Python rpyc client against our rpyc-server. It
#      fails if any test is skipped or did not run: the tests that passed must be exactly the
#      tests pytest collected.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python venv (rpyc==6.0.2, pytest)"
scripts/setup-python.sh

step "etcd and protoc (for the etcd feature)"
scripts/setup-etcd.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p rpyc-server --all-targets --features etcd -- -D warnings

step "cargo doc -p rpyc (the facade's pages: macro manual, server, registry; no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc -p rpyc --no-deps
for page in macros/index.html server/struct.ShutdownHandle.html \
    server/registry/struct.RegistryClient.html blocking/index.html tls/index.html; do
    [ -f "target/doc/rpyc/$page" ] || { echo "missing doc page rpyc/$page" >&2; exit 1; }
done
grep -q "Which methods are members" target/doc/rpyc/macros/index.html ||
    { echo "rpyc::macros lacks the macro manual" >&2; exit 1; }

step "cargo test --workspace (unit, integration, doc tests)"
cargo build -p rpyc-server
# tests/readme.rs checks the README's `--features etcd` commands too (protoc is installed above).
RPYC_REQUIRE_ETCD=1 cargo test --workspace

step "etcd discovery: real etcd servers, rpyc-server and rpyc-registry processes, Python peers"
cargo test -p rpyc-server --features etcd --lib --test discovery_etcd --test registry_etcd

step "python rpyc client -> rpyc-server interop suite"
collected=$(.venv/bin/python -m pytest tests/python --collect-only -q | grep -c '::')
junit="${CARGO_TARGET_DIR:-$PWD/target}/pytest-interop.xml"
RPYC_SERVER_BIN="$PWD/target/debug/rpyc-server" .venv/bin/python -m pytest tests/python -q \
    --junit-xml="$junit"
.venv/bin/python - "$junit" "$collected" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
count = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "skipped", "failures", "errors")}
passed = count["tests"] - count["skipped"] - count["failures"] - count["errors"]
collected = int(sys.argv[2])
if collected == 0 or passed != collected:
    sys.exit(f"interop suite: {passed} of {collected} collected tests passed ({count})")
print(f"interop suite: all {passed} collected tests ran and passed")
EOF
