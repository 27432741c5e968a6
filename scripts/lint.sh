#!/usr/bin/env bash
# Static checks (configured in pyproject.toml): ruff lint + format check, mypy, import-linter layers.
# Runs every check even after one fails, then exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
PATHS=(src tests benchmarks scripts)
status=0
run() {
    echo "==> $*"
    "$@" || status=1
}
run "$PY" -m ruff check "${PATHS[@]}"
run "$PY" -m ruff format --check "${PATHS[@]}"
run "$PY" -m mypy
run lint-imports
exit "$status"
