"""The five-system quality table at (record, category): keyword regex, TF-IDF + LR, rules only,
model only, ensemble.

Two protocols, never mixing training and test records:

- ``--folds K``: K-fold cross-validation on a labelled set (e.g. the dev set). For each fold
  the model (and TF-IDF, and the stacker) are trained on the other folds, plus any
  ``--extra-train`` sets (e.g. a synthetic train split), and scored on the held-out fold only.
- ``--eval``: train once on the config's training data, then score each ``--eval`` set.

Examples::

    python training/compare_systems.py --config training/configs/cv.yaml \\
        --eval /work/shared/data/dev --eval out/model/synth/test
    python training/compare_systems.py --config training/configs/cv.yaml \\
        --folds 5 --cv-data /work/shared/data/dev --extra-train out/model/synth/train

Prints markdown tables and writes them (with per-category numbers) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from crimedetect.contract import CATEGORIES
from crimedetect.io import write_contract
from crimedetect.model import metrics as M
from crimedetect.model.baseline import TfidfBaseline
from crimedetect.model.bundle import ModelBundle
from crimedetect.model.config import DataSource, load_config
from crimedetect.model.data import LabelledRecord, load_labelled, record_labels
from crimedetect.model.train import refit_stacker, rule_detector, train

SYSTEMS = (
    "keyword regex",
    "TF-IDF + LR",
    "rules only",
    "model only",
    "ensemble",
    "model only (int8)",
    "ensemble (int8)",
)


def _matrix(sets: list[set[str]]) -> np.ndarray:
    return np.asarray([[1 if c in s else 0 for c in CATEGORIES] for s in sets], dtype=int).reshape(
        -1, len(CATEGORIES)
    )


def _write(folder: Path, items: list[LabelledRecord], audits_by_id: dict) -> DataSource:
    folder.mkdir(parents=True, exist_ok=True)
    write_contract(folder / "records.jsonl", [it.record for it in items], "records")
    write_contract(folder / "audits.jsonl", [audits_by_id[it.record.record_id] for it in items], "audits")
    return DataSource(records=str(folder / "records.jsonl"), audits=str(folder / "audits.jsonl"))


def score_systems(
    bundle: ModelBundle,
    tfidf: TfidfBaseline,
    items: list[LabelledRecord],
    rules: object | None,
    quantized: ModelBundle | None = None,
) -> dict[str, np.ndarray]:
    """0/1 predictions of every system on ``items`` (int8 variants when ``quantized``)."""
    from crimedetect.rules import keyword_baseline

    records = [it.record for it in items]
    found = rules.detect(records) if rules is not None else None  # type: ignore[attr-defined]
    out = {
        "keyword regex": _matrix(keyword_baseline(records)),
        "TF-IDF + LR": tfidf.predict(records),
    }
    if found is not None:
        out["rules only"] = _matrix([{str(d.category) for d in ds} for ds in found])
    for suffix, variant in (("", bundle), (" (int8)", quantized)):
        if variant is None:
            continue
        preds = variant.predict(records)
        out[f"model only{suffix}"] = _matrix([set(p.labels) for p in preds])
        if found is not None:
            combined = variant.combine(records, found, preds)
            out[f"ensemble{suffix}"] = _matrix([{str(d.category) for d in ds} for ds in combined])
    return out


def calibrate(bundle: ModelBundle, items: list[LabelledRecord], rules: object, cfg: object) -> None:
    """Thresholds and stacker of ``bundle`` (in memory) fitted on ``items``."""
    from crimedetect.model.train import fit_stacker

    records = [it.record for it in items]
    truth = np.asarray(record_labels(items), dtype=int)
    probs = bundle.predict_array(records)
    bundle.thresholds, _ = M.choose_thresholds(probs, truth, cfg.target_recall, cfg.min_val_positives)
    bundle.stacker = fit_stacker(rules.detect(records), probs, truth, bundle.thresholds, cfg)


def _table(truth: np.ndarray, preds: dict[str, np.ndarray]) -> tuple[list[str], dict]:
    results = {name: M.prf(truth, preds[name]) for name in SYSTEMS if name in preds}
    per_cat = {name: M.per_category(truth, preds[name]) for name in results}
    return M.table_rows(results, list(results)), {"micro": results, "per_category": per_cat}


def _read_audits(path: Path) -> dict:
    from crimedetect.io import load_all

    return {a.record_id: a for a in load_all(path, "audits")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", required=True, help="training config (hyper-parameters; data may be replaced)"
    )
    parser.add_argument(
        "--eval", action="append", default=[], help="folder with records.jsonl + audits.jsonl"
    )
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--cv-data", help="folder for cross-validation")
    parser.add_argument("--extra-train", action="append", default=[], help="extra training folders (CV mode)")
    parser.add_argument("--work", default="out/model/compare", help="scratch folder (fold files, bundles)")
    parser.add_argument("--out", default="out/model/compare/results.json")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--mlflow", action="store_true", help="log each training run to MLflow")
    parser.add_argument("--reuse", action="store_true", help="CV: reuse fold encoders, refit stackers")
    parser.add_argument("--int8", action="store_true", help="also score the dynamically quantised model")
    parser.add_argument(
        "--bundle",
        help="score this trained bundle instead of training; with --folds, recalibrate its "
        "thresholds and stacker on the other folds (the encoder must not have seen --cv-data)",
    )
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    for noisy in ("transformers", "datasets", "mlflow", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    cfg = load_config(args.config)
    rules = rule_detector()
    work = Path(args.work)
    report: dict = {"config": args.config, "protocol": "folds" if args.folds else "eval", "tables": {}}
    started = time.time()

    def fit_tfidf(sources: list[DataSource]) -> TfidfBaseline:
        items = [it for s in sources for it in load_labelled(s.records, s.audits)[0]]
        y = np.asarray(record_labels(items))
        return TfidfBaseline(random_state=args.seed).fit([it.record for it in items], y)

    if args.folds:
        folder = Path(args.cv_data)
        items, _ = load_labelled(folder / "records.jsonl", folder / "audits.jsonl")
        audits = _read_audits(folder / "audits.jsonl")
        order = list(range(len(items)))
        random.Random(args.seed).shuffle(order)
        fold_of = {i: n % args.folds for n, i in enumerate(order)}
        truth_all, preds_all = [], {}
        extra = [
            DataSource(records=str(Path(f) / "records.jsonl"), audits=str(Path(f) / "audits.jsonl"))
            for f in args.extra_train
        ]
        fixed = ModelBundle(args.bundle) if args.bundle else None
        fixed_int8 = ModelBundle(args.bundle, quantize=True) if args.bundle and args.int8 else None
        for k in range(args.folds):
            train_items = [it for i, it in enumerate(items) if fold_of[i] != k]
            held = [it for i, it in enumerate(items) if fold_of[i] == k]
            if fixed is not None:  # encoder trained without these records: calibrate on the other folds
                sources = [_write(work / f"fold{k}" / "train", train_items, audits), *extra]
                variants = [v for v in (fixed, fixed_int8) if v is not None]
                for variant in variants:
                    calibrate(variant, train_items, rules, cfg)
                preds = score_systems(fixed, fit_tfidf(sources), held, rules, fixed_int8)
                truth_all.append(np.asarray(record_labels(held)))
                for name, matrix in preds.items():
                    preds_all.setdefault(name, []).append(matrix)
                continue
            source = _write(work / f"fold{k}" / "train", train_items, audits)
            fold_cfg = cfg.model_copy(deep=True)
            fold_cfg.data.train = [source, *extra]
            fold_cfg.data.validation = []
            fold_cfg.data.test = []
            fold_cfg.output_dir = str(work / f"fold{k}" / "bundle")
            fold_cfg.run_name = f"{cfg.run_name}-cv{k}"
            t0 = time.time()
            if args.reuse and (Path(fold_cfg.output_dir) / "bundle.json").exists():
                refit_stacker(fold_cfg.output_dir, fold_cfg)  # same encoder, stacker fitted again
                output_dir = Path(fold_cfg.output_dir)
            else:
                result = train(fold_cfg, log_to_mlflow=args.mlflow)
                output_dir = result.output_dir
                print(
                    f"fold {k}: trained in {time.time() - t0:.0f}s, history {result.history}", file=sys.stderr
                )
            bundle = ModelBundle(output_dir)
            quantized = ModelBundle(output_dir, quantize=True) if args.int8 else None
            preds = score_systems(bundle, fit_tfidf(fold_cfg.data.train), held, rules, quantized)
            truth_all.append(np.asarray(record_labels(held)))
            for name, matrix in preds.items():
                preds_all.setdefault(name, []).append(matrix)
        truth = np.vstack(truth_all)
        rows, data = _table(truth, {n: np.vstack(m) for n, m in preds_all.items()})
        name = f"{folder} ({args.folds}-fold held-out)"
        report["tables"][name] = data
        print(f"\n### {name}, {len(truth)} records\n" + "\n".join(rows))
    else:
        if args.bundle:
            output_dir = Path(args.bundle)
        else:
            result = train(cfg, log_to_mlflow=args.mlflow)
            report["history"] = result.history
            output_dir = result.output_dir
        bundle = ModelBundle(output_dir)
        quantized = ModelBundle(output_dir, quantize=True) if args.int8 else None
        tfidf = fit_tfidf(cfg.data.train)
        for folder_name in args.eval:
            folder = Path(folder_name)
            items, _ = load_labelled(folder / "records.jsonl", folder / "audits.jsonl")
            preds = score_systems(bundle, tfidf, items, rules, quantized)
            rows, data = _table(np.asarray(record_labels(items)), preds)
            report["tables"][str(folder)] = data
            print(f"\n### {folder}, {len(items)} records\n" + "\n".join(rows))
    report["seconds"] = round(time.time() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"\nwritten {out} in {report['seconds']}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
