#!/usr/bin/env bash
# Run every benchmark with modest default sizes and print their results. Run through `make bench`.
set -uo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
for bench in benchmarks/bench_*.py; do
  echo "== $bench"
  .venv/bin/python "$bench" || echo "!! $bench failed"
done
