#!/usr/bin/env bash
# Set up and run the main job: treadwalk on the virtual treadmill. Extra arguments go to treadwalk.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
if [ "$#" -gt 0 ]; then exec .venv/bin/treadwalk "$@"; fi
exec .venv/bin/treadwalk demo
