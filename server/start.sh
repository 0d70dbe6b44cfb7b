#!/usr/bin/env bash
# Installs Quietroom into .venv (with python3-venv from apt when missing) and starts it with
# its embedded defaults. Extra arguments go to `quietroom serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
exec .venv/bin/quietroom serve "$@"
