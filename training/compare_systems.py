"""The five-system quality table at (record, category): keyword regex, TF-IDF + LR, rules only,
model only, ensemble.

Two protocols, never mixing training and test records:

- ``--folds K``: K-fold cross-validation on a labelled set (e.g. the dev set). For each fold
  the model (and TF-IDF, and the stacker) are trained on the other folds, plus any
  ``--extra-train`` sets (e.g. a synthetic train split), and scored on the held-out fold only.
- ``--folds K --cross-fit``: K-fold cross-validation where the encoder reads force-like text
  and the stacker is still fitted on probabilities of records the encoder never saw. One
  encoder per fold is trained on that fold's records (repeated ``--oversample`` times) plus
  the ``--extra-train`` sets, with early stopping on ``--val-data`` (synthetic, not the
  CV set). For held-out fold k, a training record of fold i gets the mean probabilities of
  the encoders of the folds other than i and k; the held-out records get the mean of the
  encoders of every fold but k. Thresholds, the stacker and TF-IDF see only folds != k.
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


def mean_predictions(bundles: list[ModelBundle], predictions: list[list], thresholds: dict) -> list:
    """Mean probabilities of several encoders' predictions of the same records; the driving
    entry of a category is the one of the encoder most confident in it."""
    from crimedetect.model.bundle import RecordPrediction

    out = []
    for per_record in zip(*predictions, strict=True):
        mean = RecordPrediction(record_id=per_record[0].record_id, probs={}, entry={})
        for c in CATEGORIES:
            best = max(per_record, key=lambda p: p.probs[c])
            mean.probs[c] = float(np.mean([p.probs[c] for p in per_record]))
            mean.entry[c] = best.entry[c]
            mean.spans[c] = best.spans[c]
            if mean.probs[c] >= thresholds[c]:
                mean.labels.append(c)
        out.append(mean)
    return out


def cross_fit_predictions(
    cfg: object, items: list, audits: dict, fold_of: dict, args: object, extra: list
) -> list:
    """Train one encoder per fold (that fold's records + extra) and predict every record."""
    work = Path(args.work)
    val = [
        DataSource(records=str(Path(f) / "records.jsonl"), audits=str(Path(f) / "audits.jsonl"))
        for f in args.val_data
    ]
    out = []
    for f in range(args.folds):
        fold_items = [it for i, it in enumerate(items) if fold_of[i] == f]
        source = _write(work / f"xfit{f}" / "train", fold_items, audits)
        fold_cfg = cfg.model_copy(deep=True)
        fold_cfg.data.train = [source] * max(args.oversample, 1) + extra
        fold_cfg.data.validation = val
        fold_cfg.data.test = []
        fold_cfg.output_dir = str(work / f"xfit{f}" / "bundle")
        fold_cfg.run_name = f"{cfg.run_name}-xfit{f}"
        if not (args.reuse and (Path(fold_cfg.output_dir) / "bundle.json").exists()):
            t0 = time.time()
            result = train(fold_cfg, log_to_mlflow=args.mlflow)
            seconds = time.time() - t0
            print(f"encoder {f}: trained in {seconds:.0f}s, history {result.history}", file=sys.stderr)
        bundle = ModelBundle(fold_cfg.output_dir)
        out.append((bundle, bundle.predict([it.record for it in items])))
    return out


def score_cross_fit(
    per_fold: list, items: list, fold_idx: list[int], k: int, rules: object, cfg: object, tfidf: TfidfBaseline
) -> dict[str, np.ndarray]:
    """Every system on held-out fold ``k``; thresholds and stacker fitted on the other folds
    with probabilities of encoders that never saw the record (see the module docstring)."""
    from crimedetect.model.train import fit_stacker
    from crimedetect.rules import keyword_baseline

    held = [r for r, f in enumerate(fold_idx) if f == k]
    fit = [r for r, f in enumerate(fold_idx) if f != k]
    no_cut = dict.fromkeys(CATEGORIES, 1.0)

    def mean_of(rows: list[int], models: list[int], cut: dict) -> list:
        return mean_predictions(
            [per_fold[m][0] for m in models], [[per_fold[m][1][r] for r in rows] for m in models], cut
        )

    fit_preds = []
    for r in fit:
        models = [m for m in range(len(per_fold)) if m not in (k, fold_idx[r])]
        fit_preds.extend(mean_of([r], models, no_cut))
    fit_probs = np.asarray([[p.probs[c] for c in CATEGORIES] for p in fit_preds])
    fit_truth = np.asarray(record_labels([items[r] for r in fit]))
    thresholds, _ = M.choose_thresholds(fit_probs, fit_truth, cfg.target_recall, cfg.min_val_positives)
    fit_records = [items[r].record for r in fit]
    view = ModelBundle(per_fold[0][0].path)  # thresholds and stacker set in memory only
    view.thresholds = thresholds
    view.stacker = fit_stacker(rules.detect(fit_records), fit_probs, fit_truth, thresholds, cfg)
    records = [items[r].record for r in held]
    preds = mean_of(held, [m for m in range(len(per_fold)) if m != k], thresholds)
    found = rules.detect(records)
    return {
        "keyword regex": _matrix(keyword_baseline(records)),
        "TF-IDF + LR": tfidf.predict(records),
        "rules only": _matrix([{str(d.category) for d in ds} for ds in found]),
        "model only": _matrix([set(p.labels) for p in preds]),
        "ensemble": _matrix([{str(d.category) for d in ds} for ds in view.combine(records, found, preds)]),
    }


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
        "--held-out-part",
        action="store_true",
        help="CV: also the table on the records crimedetect.rules.quality.part() holds out",
    )
    parser.add_argument("--cross-fit", action="store_true", help="CV: one encoder per fold (see above)")
    parser.add_argument("--oversample", type=int, default=1, help="cross-fit: repeats of the fold's records")
    parser.add_argument("--val-data", action="append", default=[], help="cross-fit: validation folders")
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
        if args.cross_fit:
            per_fold = cross_fit_predictions(cfg, items, audits, fold_of, args, extra)
        held_ids: list[str] = []
        for k in range(args.folds):
            train_items = [it for i, it in enumerate(items) if fold_of[i] != k]
            held = [it for i, it in enumerate(items) if fold_of[i] == k]
            held_ids.extend(it.record.record_id for it in held)
            if args.cross_fit:
                sources = [_write(work / f"fold{k}" / "train", train_items, audits), *extra]
                fold_idx = [fold_of[i] for i in range(len(items))]
                preds = score_cross_fit(per_fold, items, fold_idx, k, rules, cfg, fit_tfidf(sources))
                truth_all.append(np.asarray(record_labels(held)))
                for name, matrix in preds.items():
                    preds_all.setdefault(name, []).append(matrix)
                continue
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
        if args.held_out_part:  # the rules were written against the other two thirds
            from crimedetect.rules.quality import HELD_OUT, part

            mask = np.asarray([part(i) == HELD_OUT for i in held_ids])
            stacked = {n: np.vstack(m)[mask] for n, m in preds_all.items()}
            rows, data = _table(truth[mask], stacked)
            name = f"{folder} held-out third only ({args.folds}-fold held-out)"
            report["tables"][name] = data
            print(f"\n### {name}, {int(mask.sum())} records\n" + "\n".join(rows))
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
