#!/usr/bin/env bash
# A "force" model from the hand-written audited records, the best system measured on text
# nobody wrote rules against (docs/model.md, "Fitting the stacker on audits the rules never
# saw"). Run through `make force-model` (which sets up first). Writes under out/force-model/
# (FORCE_OUT to change) and models/handwritten, models/handwritten-d; the MLflow store is
# out/force-model/mlflow.db unless MLFLOW_TRACKING_URI is set.
#
#   1. the training records: the dev set's development part (when ../shared/data/dev exists),
#      the blind batches the rules were written against (BS, BT, BV and BW since session 17;
#      CF, CI, CK and CL since session 18), and blind D, E, J, K, P, Z-AC, BB-BI, BJ-BN and
#      BO-BR (unread: their labels train the encoder, nobody reads their text); never the dev
#      held-out third, the stacker's batches (below) or the test sets DK-DZ and EA-EH
#   2. fine-tune the pretrained MiniLM on them and 400 synthetic records
#      (training/configs/handwritten.yaml; MODEL_THREADS, default 2, torch threads)
#   3. refit its stacker on blind BU, BX-BZ, CA-CD, CE, CG, CH, CJ and CM-DJ (2,160 audited
#      records nobody wrote rules against and the encoder never saw: the stacker learns how far
#      to trust each half on text neither was fitted on; BU-CD alone until session 19, docs/history/model.md,
#      "Session 20"); the bundle's version gains "+stacker-<digest>"
#   4. say how to scan with it and how to measure it on unread batches it never saw (EM-EP,
#      session 24's test; EI-EL, session 23's; EA-EH, session 21's; DK-DZ, session 20's; each
#      measured once per system; a clean test of a new model needs new writers)
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
out=${FORCE_OUT:-out/force-model}
mkdir -p "$out"
export MLFLOW_TRACKING_URI=${MLFLOW_TRACKING_URI:-sqlite:///$(cd "$out" && pwd)/mlflow.db}
bin=.venv/bin
studied=(BL-A- BL-B- BL-C- BL-F- BL-G- BL-H- BL-I- BL-L- BL-M- BL-N- BL-O- BL-Q- BL-R- BL-S- BL-T- BL-U- BL-V- BL-W- BL-X- BL-Y- BL-AD- BL-AE- BL-AF- BL-AG- BL-AH- BL-AI- BL-AJ- BL-AK- BL-AL- BL-AM- BL-AN- BL-AO- BL-AP- BL-AQ- BL-AR- BL-AS- BL-AT- BL-AU- BL-AV- BL-AW- BL-AX- BL-AY- BL-AZ- BL-BA- BL-BS- BL-BT- BL-BV- BL-BW- BL-CF- BL-CI- BL-CK- BL-CL-)
unread_train=(BL-D- BL-E- BL-J- BL-K- BL-P- BL-Z- BL-AA- BL-AB- BL-AC- BL-BB- BL-BC- BL-BD- BL-BE- BL-BF- BL-BG- BL-BH- BL-BI- BL-BJ- BL-BK- BL-BM- BL-BN- BL-BO- BL-BP- BL-BQ- BL-BR-)
stacker_fit=(BL-BU- BL-BX- BL-BY- BL-BZ- BL-CA- BL-CB- BL-CC- BL-CD-
             BL-CE- BL-CG- BL-CH- BL-CJ- BL-CM- BL-CN- BL-CO- BL-CP- BL-CQ- BL-CR- BL-CS- BL-CT-
             BL-CU- BL-CV- BL-CW- BL-CX- BL-CY- BL-CZ- BL-DA- BL-DB- BL-DC- BL-DD- BL-DE- BL-DF-
             BL-DG- BL-DH- BL-DI- BL-DJ-)
started=$SECONDS
step() { echo; echo "== $1  (t=$((SECONDS - started))s)"; }

step "1. training records (dev development part + studied blind batches + unread D-P, Z-AC, BB-BR)"
dev=()
[ -f ../shared/data/dev/records.jsonl ] || dev=(--no-dev)
$bin/python training/dev_parts.py --out out/handwritten --part development "${dev[@]}" \
  --extra data/blind --id-prefix "${studied[@]}" "${unread_train[@]}"

step "2. fine-tune the classifier (training/configs/handwritten.yaml)"
# --resume: a re-run after an interruption continues from the last completed epoch
# (models/handwritten.checkpoint/), with the same result as an uninterrupted run
$bin/crimedetect train --config training/configs/handwritten.yaml --resume \
  --set torch_threads="${MODEL_THREADS:-2}" --set output_dir=models/handwritten --no-progress

step "3. refit the stacker on blind BU, BX-BZ, CA-CD, CE-CJ (unread ones) and CM-DJ (unread: neither the rules nor the encoder saw them)"
$bin/python training/dev_parts.py --out "$out/stacker-fit" --no-dev --extra data/blind --id-prefix "${stacker_fit[@]}"
rm -rf models/handwritten-d  # rebuilt from models/handwritten: a re-run replaces it
$bin/crimedetect models refit-stacker --bundle models/handwritten \
  --records "$out/stacker-fit/records.jsonl" --audits "$out/stacker-fit/audits.jsonl" --out models/handwritten-d

step "4. use it"
cat <<USE
force model in models/handwritten-d (finished in $((SECONDS - started)) s). Scan with it:
  $bin/crimedetect scan --records R --crimes C --out flags.jsonl --model models/handwritten-d --quantize --no-model-gate
Measure it on the other unread batches (aggregates only; docs/model.md):
  $bin/python training/dev_parts.py --out $out/unread --no-dev --extra data/blind --id-prefix BL-EA- BL-EB- BL-EC- BL-ED- BL-EE- BL-EF- BL-EG- BL-EH- BL-EI- BL-EJ- BL-EK- BL-EL- BL-EM- BL-EN- BL-EO- BL-EP-
  $bin/crimedetect scan --records $out/unread/records.jsonl --crimes $out/unread/crimes.jsonl --out $out/unread-flags.jsonl --model models/handwritten-d --quantize --no-model-gate
  $bin/python -m crimedetect.reconcile --flags $out/unread-flags.jsonl --records $out/unread/records.jsonl --crimes $out/unread/crimes.jsonl --audits $out/unread/audits.jsonl
USE
