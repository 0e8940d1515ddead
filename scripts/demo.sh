#!/usr/bin/env bash
# The main job end to end on bundled synthetic data. Run through `make demo` (which sets up
# first). Everything is written under out/demo/ (DEMO_OUT to change); the MLflow store is
# out/demo/mlflow.db unless MLFLOW_TRACKING_URI is set.
#
#   1. validate the bundled synthetic force (data/synthetic, train phrasing)
#   2. generate a second force with held-out phrasing (the one we scan and judge)
#   3. fine-tune the pretrained MiniLM classifier on the bundled force; register; promote
#   4. scan the held-out force: rules + model ensemble, reconcile with its crime records
#   5. evaluate the flags against the full-truth audits (MLflow)
#   6. draw a stratified audit sample and a priority worklist; estimate the recording rate
#   7. write the inspection-style HTML report
#   8. load the flags into the review database and export decisions as audits
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
out=${DEMO_OUT:-out/demo}
mkdir -p "$out"
export MLFLOW_TRACKING_URI=${MLFLOW_TRACKING_URI:-sqlite:///$(cd "$out" && pwd)/mlflow.db}
cd_bin=.venv/bin
force="$out/force"
started=$SECONDS
step() { echo; echo "== $1  (t=$((SECONDS - started))s)"; }

step "1. validate the bundled synthetic force against the data contract"
$cd_bin/crimedetect validate data/synthetic/records.jsonl data/synthetic/crimes.jsonl \
  data/synthetic/audits.jsonl --rejected "$out/validate.rejected.jsonl"
$cd_bin/crimedetect rules validate

step "2. a synthetic force with held-out phrasing (leicestershire-2017 profile)"
$cd_bin/crimedetect synth --records 1000 --seed 3 --split test --out "$force" --report --no-progress

step "3. fine-tune the offence classifier on the bundled force; register and promote it"
$cd_bin/crimedetect train --config training/configs/demo.yaml --set output_dir="$out/model"
$cd_bin/crimedetect models promote latest --alias champion
$cd_bin/crimedetect models list

step "4. scan: disclosed offences vs crime records (champion model + rules)"
$cd_bin/crimedetect scan --records "$force/records.jsonl" --crimes "$force/crimes.jsonl" \
  --out "$out/flags.jsonl" --top 20 --quantize --no-progress
echo "auditors' worklist (top 5 of $out/flags.top.csv):"
head -6 "$out/flags.top.csv"

step "5. evaluate the flags against the full-truth audits"
$cd_bin/crimedetect evaluate --flags "$out/flags.jsonl" --audits "$force/audits.jsonl" \
  --records "$force/records.jsonl" --crimes "$force/crimes.jsonl" --out "$out/evaluation" --bootstrap 300

step "6. audit: stratified probability sample, priority worklist, recording-rate estimate"
$cd_bin/crimedetect audit sample --flags "$out/flags.jsonl" --budget 150 --design stratified --seed 7 \
  --out "$out/sample.csv"
$cd_bin/crimedetect audit sample --flags "$out/flags.jsonl" --budget 150 --design priority \
  --out "$out/worklist.csv"
# The synthetic force's full-truth audits stand in for the auditors' verdicts on the sample.
$cd_bin/crimedetect audit estimate --sample "$out/sample.csv" --audits "$force/audits.jsonl" \
  --crimes "$force/crimes.jsonl" --records "$force/records.jsonl" --recorded-crimes-12m 66400 \
  --out "$out/estimate.json"

step "7. inspection-style report"
$cd_bin/crimedetect report --flags "$out/flags.jsonl" --estimate "$out/estimate.json" --out "$out/report.html"

step "8. supervisor review: load flags into the review database, export decisions as audits"
rm -f "$out/review.db"
CRIMEDETECT_PASSWORD=demo-password-1 $cd_bin/crimedetect users add demo --role admin --db "sqlite:///$out/review.db"
$cd_bin/crimedetect review import --flags "$out/flags.jsonl" --records "$force/records.jsonl" \
  --crimes "$force/crimes.jsonl" --db "sqlite:///$out/review.db" --no-progress
$cd_bin/crimedetect review export --db "sqlite:///$out/review.db" --out "$out/review-audits.jsonl"

top=$(sed -n 2p "$out/flags.top.csv" | cut -d, -f2)
step "why is $top at the top? (crimedetect explain)"
$cd_bin/crimedetect explain "$top" --records "$force/records.jsonl" || true

echo
echo "demo finished in $((SECONDS - started)) s. Open $out/report.html; flags in $out/flags.jsonl;"
echo "review the flags with: .venv/bin/crimedetect serve --flags $out/flags.jsonl --records $force/records.jsonl --crimes $force/crimes.jsonl --db sqlite:///$out/review.db"
