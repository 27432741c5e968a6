#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
PY="${PYTHON:-python3}"
exec $PY -m pytest -q "$@"
