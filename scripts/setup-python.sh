#!/usr/bin/env bash
# Prepare the Python side of the interop tests: a virtualenv at <repo>/.venv
# holding rpyc 6.0.2 (the version the wire spec was written against) and pytest.
#
# Idempotent: when .venv already imports rpyc 6.0.2 and pytest it does nothing
# and returns at once. Otherwise it (re)creates the venv with `python3 -m venv`
# and installs the pinned packages.
#
# Usage: scripts/setup-python.sh        (any working directory)
# Env:   PYTHON=python3.11 to choose the interpreter used to create the venv.
set -euo pipefail

RPYC_VERSION="6.0.2"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
venv_python="$venv/bin/python"
base_python="${PYTHON:-python3}"

# True when the venv exists and already has the right rpyc and pytest.
venv_ok() {
    [ -x "$venv_python" ] || return 1
    "$venv_python" - "$RPYC_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
import rpyc, pytest  # noqa: F401  (both must import)
sys.exit(0 if rpyc.__version__ == sys.argv[1] else 1)
EOF
}

if venv_ok; then
    exit 0
fi

if [ ! -x "$venv_python" ]; then
    echo "setup-python: creating $venv" >&2
    "$base_python" -m venv "$venv"
fi

echo "setup-python: installing rpyc==$RPYC_VERSION and pytest into $venv" >&2
"$venv_python" -m pip install --quiet --disable-pip-version-check \
    "rpyc==$RPYC_VERSION" pytest

if ! venv_ok; then
    # A broken venv (e.g. its base interpreter was removed): rebuild from scratch.
    echo "setup-python: venv still unusable, recreating it" >&2
    "$base_python" -m venv --clear "$venv"
    "$venv_python" -m pip install --quiet --disable-pip-version-check \
        "rpyc==$RPYC_VERSION" pytest
    venv_ok || { echo "setup-python: failed to prepare $venv" >&2; exit 1; }
fi
exit 0
