#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine, then runs it:
# system packages (Chromium, Firefox ESR, iproute2, strace, Janus, coturn, nftables, npm,
# sipp, redis-server) when missing, the project and its test dependencies in .venv, axe-core
# (npm, pinned by tests/package-lock.json) in tests/node_modules, then lint, type checks and
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v tc >/dev/null 2>&1 || missing+=(iproute2)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v janus >/dev/null 2>&1 || missing+=(janus)
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The TURN test starts coturn itself, in a namespace: the package's own service, which
  # Debian starts on install, is not wanted listening on this machine.
  if [[ " ${missing[*]} " == *" coturn "* ]] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now coturn >/dev/null 2>&1 || true
  fi
  # Likewise the cluster tests start their own redis-server, with persistence off.
  if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing the project and its test dependencies"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# axe-core for the accessibility tests, exactly as tests/package-lock.json pins it; the
# lock is copied beside it after an install, so a changed lock installs again.
if ! cmp -s tests/package-lock.json tests/node_modules/.quietroom-lock; then
  echo "== installing axe-core into tests/node_modules"
  npm ci --prefix tests --no-audit --no-fund --loglevel=error >/dev/null
  cp tests/package-lock.json tests/node_modules/.quietroom-lock
fi

echo "== ruff"
.venv/bin/ruff check server media signaling bench tests
echo "== mypy --strict"
.venv/bin/mypy --strict server media signaling bench
echo "== pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
