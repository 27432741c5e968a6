#!/usr/bin/env bash
# Install cnnlab and run its main job. Works offline on the embedded MNIST sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec "${PYTHON:-python3}" -m cnnlab tour --out cnnlab-out "$@"
