#!/usr/bin/env bash
# Install the test dependencies, run the static checks, then the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
PY="${PYTHON:-python3}"
# shared read-only datasets (e.g. nsmc/) beside the checkout, found through the search path
if [ -d ../shared/data ]; then
  export CNNLAB_DATA_PATH="$(cd ../shared/data && pwd)${CNNLAB_DATA_PATH:+:$CNNLAB_DATA_PATH}"
fi
# static checks (ruff, mypy, import layers) before the suite; set -e stops here if any fails
bash scripts/lint.sh
exec $PY -m pytest -q "$@"
