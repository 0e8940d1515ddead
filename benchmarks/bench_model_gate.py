"""What the entry gate (``crimedetect.model.gate``) costs in accuracy and saves in time.

For each labelled set (a folder with records.jsonl and audits.jsonl), runs the rules once,
then the bundle with every entry read and with the gate, and prints micro precision, recall
and F1 at (record, category) for the model alone and the ensemble, the share of entries the
encoder read and the model's records/s.

    .venv/bin/python benchmarks/bench_model_gate.py --model models/demo --quantize \\
        --set /work/shared/data/dev --part development --set out/model/synth/test

``--part development`` keeps only the dev set's development part (the held-out third stays
unread); ``--part all`` scores every record. Numbers only: no record text is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from crimedetect.contract import CATEGORIES
from crimedetect.model import metrics as M
from crimedetect.model.bundle import ModelBundle
from crimedetect.model.data import load_labelled, record_labels
from crimedetect.model.gate import EntryGate
from crimedetect.rules import RuleDetector
from crimedetect.rules.quality import part


def _matrix(sets: list[set[str]]) -> np.ndarray:
    return np.asarray([[1 if c in s else 0 for c in CATEGORIES] for s in sets], dtype=int).reshape(
        -1, len(CATEGORIES)
    )


def score_set(
    bundle: ModelBundle, gate: EntryGate, folder: Path, which: str, rules: RuleDetector
) -> list[dict]:
    """Rows (gate off / on) of quality and speed on one labelled set."""
    items, _ = load_labelled(folder / "records.jsonl", folder / "audits.jsonl")
    if which != "all":
        items = [it for it in items if part(it.record.record_id) == which]
    records = [it.record for it in items]
    truth = np.asarray(record_labels(items), dtype=int)
    found = rules.detect(records)
    rows = []
    for variant in (bundle.gated(None), bundle.gated(gate)):
        variant.predict(records[:4])  # load and warm up
        start = time.perf_counter()
        preds = variant.predict(records)
        seconds = time.perf_counter() - start
        combined = variant.combine(records, found, preds)
        model_only = M.prf(truth, _matrix([set(p.labels) for p in preds]))
        ensemble = M.prf(truth, _matrix([{str(d.category) for d in ds} for ds in combined]))
        entries = sum(len(r.entries) for r in records)
        read = sum(gate.select(records)) if variant.gate is not None else entries
        rows.append(
            {
                "set": f"{folder.name}:{which}",
                "records": len(records),
                "gate": variant.gate.version if variant.gate is not None else "off",
                "entries_read": f"{read}/{entries}",
                "records_per_s": round(len(records) / seconds, 1),
                "model_P": round(model_only["precision"], 3),
                "model_R": round(model_only["recall"], 3),
                "model_F1": round(model_only["f1"], 3),
                "ensemble_P": round(ensemble["precision"], 3),
                "ensemble_R": round(ensemble["recall"], 3),
                "ensemble_F1": round(ensemble["f1"], 3),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="models/demo", help="bundle directory (default: the demo's)")
    parser.add_argument(
        "--set", action="append", help="folder with records.jsonl, audits.jsonl (default: data/synthetic)"
    )
    parser.add_argument("--part", default="all", choices=["all", "development", "held_out"])
    parser.add_argument("--quantize", action="store_true")
    parser.add_argument("--gate", default=None, help="gate file (default: the packaged one)")
    parser.add_argument("--rules-config", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    args.set = args.set or ["data/synthetic"]
    if not Path(args.model, "bundle.json").exists():
        parser.exit(2, f"no model bundle at {args.model}: run `make demo` or pass --model DIR\n")
    import torch

    torch.set_num_threads(args.threads)
    rules = RuleDetector(args.rules_config)
    bundle = ModelBundle(args.model, quantize=args.quantize)
    gate = EntryGate(args.gate, args.rules_config)
    print(json.dumps({"load": os.getloadavg()[0], "threads": args.threads, "quantize": args.quantize}))
    for folder in args.set:
        which = args.part if "dev" in Path(folder).name else "all"
        for row in score_set(bundle, gate, Path(folder), which, rules):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
