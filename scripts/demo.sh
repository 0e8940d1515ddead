#!/usr/bin/env bash
# The main job end to end on bundled synthetic data. Run through `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd_bin=.venv/bin
out=${DEMO_OUT:-out/demo}
mkdir -p "$out"
echo "== 1. validate the bundled synthetic force against the contract"
$cd_bin/crimedetect validate data/synthetic/records.jsonl data/synthetic/crimes.jsonl data/synthetic/audits.jsonl \
  --rejected "$out/rejected.jsonl"
