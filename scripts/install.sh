#!/usr/bin/env bash
# Install cnnlab and what it needs on Debian/Ubuntu with Python >= 3.10. Safe to re-run.
#   bash scripts/install.sh          # the package
#   bash scripts/install.sh test     # + test dependencies and the Debian packages the tests use
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
PY="${PYTHON:-python3}"

# Debian packages: a Hangul font for Korean figures (always); Fashion-MNIST and Chromium for tests.
apt_pkgs=(fonts-nanum)
[ "$extra" = "test" ] && apt_pkgs+=(dataset-fashion-mnist chromium)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# torch first and pinned, so the range in pyproject.toml is already satisfied by the CPU build
# (an unpinned resolve would pull the CUDA build and gigabytes of dependencies).
$PY -m pip install -q --disable-pip-version-check "torch==2.13.0"
if [ "$extra" = "test" ]; then
  $PY -m pip install -q --disable-pip-version-check -e ".[test]"
else
  $PY -m pip install -q --disable-pip-version-check -e .
fi
