#!/usr/bin/env bash
# Set up crimedetect on a fresh machine: a virtual environment in .venv with the pinned
# dependencies (constraints.txt), torch as the CPU build. With --test, also the Debian
# packages the tests need (Chromium for the browser test, Java for Spark).
# Re-running is cheap: nothing is reinstalled while pyproject.toml and constraints.txt
# are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[ "${1:-}" = "--test" ] && with_test=1

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

# The interpreter for a new .venv: PYTHON if set; else the distribution's own python3.11,
# which Debian builds with profile-guided and link-time optimisation (the rules run ~7%
# faster on it than on an unoptimised build such as pyenv's default; docs/rules.md,
# Throughput), with its venv module installed if missing; else the first of python3.11,
# python3.12, python3 on PATH.
python=${PYTHON:-}
if [ -z "$python" ] && [ ! -x .venv/bin/python ] && [ -x /usr/bin/python3.11 ]; then
  if /usr/bin/python3.11 -c "import ensurepip, venv" 2>/dev/null || apt_install python3.11-venv; then
    python=/usr/bin/python3.11
  fi
fi
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi

stamp=.venv/.crimedetect-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "setup: installing Python dependencies into .venv (a few minutes on a fresh machine)"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, pinned: 2.13.0 is the CPU build (see README: GPU set-up for CUDA).
  .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
  touch "$stamp"
fi

if ! command -v java >/dev/null 2>&1; then
  echo "setup: installing Java 17 for Spark"
  apt_install openjdk-17-jre-headless
fi

if [ "$with_test" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's Chromium for the browser test"
  apt_install chromium
fi
echo "setup: done ($(.venv/bin/crimedetect --version))"
