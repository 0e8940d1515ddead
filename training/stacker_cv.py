"""Compare stacker settings by cross-validation on audited records, at the level of findings.

The stacker is fitted on audited records the rules were never written against (docs/model.md,
"Fitting the stacker on audits the rules never saw"); which features it should read is then a
choice to make on those same fit records, not on the records a model is finally measured on.
This script does that: the bundle's encoder and the rules run once over the fit records, then
for each named feature set and each of ``--repeats`` shuffled ``--folds``-fold splits by
record, a stacker is fitted on the other folds and the held-out fold is scanned through the
real ``combine`` and ``reconcile`` (with and without principal-crime folding of model-only
categories; ``--thresholds`` also tries fixed stacker thresholds beside each fold's own, and
``--reconcile-config`` reconciles under other settings). The table gives each finding type's
precision and recall pooled over folds and repeats, at (record, category) as the issue
measures them. Counts only; no text is printed.

Run from the project root:

    python training/stacker_cv.py --bundle models/handwritten-d \\
        --records out/force-model/stacker-fit/records.jsonl \\
        --crimes out/force-model/stacker-fit/crimes.jsonl \\
        --audits out/force-model/stacker-fit/audits.jsonl \\
        --features others=bundle,model_logit_silent_others,model_logit_fired_others \\
        context=bundle,rule_others,model_logit_gap,model_logit_silent_others,model_logit_fired_others

``bundle`` in a feature list stands for the bundle's own stacker features; the bundle's C and
class_weight are kept. ``--quantize`` scores with the int8 encoder, as scans do.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crimedetect.contract import CATEGORIES, Disclosure, Record
from crimedetect.io import load_all
from crimedetect.model import load_bundle
from crimedetect.model.bundle import ModelBundle, _record_matrix
from crimedetect.model.data import label_records, record_labels
from crimedetect.model.ensemble import Stacker, stack_features
from crimedetect.reconcile import finding_quality
from crimedetect.rules import RuleDetector
from crimedetect.scan import scan_records

KINDS = ("unrecorded", "misclassified", "late", "n100_missing", "any_finding")


class _Given:
    """A detector that returns disclosures already made (the held-out fold's ensemble)."""

    name = "given"
    version = "given"

    def __init__(self, disclosures: list[list[Disclosure]]) -> None:
        self.disclosures = disclosures

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        if len(records) != len(self.disclosures):
            raise ValueError("records and disclosures differ in length")
        return self.disclosures


def parse_feature_sets(specs: Sequence[str], bundle_features: Sequence[str]) -> dict[str, list[str]]:
    """``name=a,b,c`` specs; ``bundle`` expands to the bundle's own stacker features."""
    sets: dict[str, list[str]] = {"bundle": list(bundle_features)}
    for spec in specs:
        name, sep, names = spec.partition("=")
        if not sep or not name or not names:
            raise SystemExit(f"--features {spec!r}: expected name=feature,feature,...")
        expanded: list[str] = []
        for feature in names.split(","):
            expanded.extend(bundle_features if feature == "bundle" else [feature.strip()])
        sets[name] = list(dict.fromkeys(expanded))
    return sets


def cross_validate(
    bundle: ModelBundle,
    rules: RuleDetector,
    records: list[Record],
    audits: list,
    crimes: list,
    feature_sets: dict[str, list[str]],
    *,
    folds: int = 5,
    repeats: int = 3,
    threshold_repeats: int = 10,
    thresholds: Sequence[float | None] = (None,),
    reconcile_config: str | None = None,
    extra_fit: tuple[list[Record], list] | None = None,
) -> list[dict[str, object]]:
    """One row per (feature set, folding, threshold): pooled tp / predicted / actual per finding
    type. A threshold of None is the one each fold's stacker chose on its own fit folds.
    ``extra_fit`` (records, audits) joins every fold's fit records and is never held out: what
    more audited records would give a stacker, measured on the same held-out folds."""
    from sklearn.model_selection import KFold

    if bundle.stacker is None:
        raise SystemExit("the bundle has no stacker: nothing to compare (fit one with refit-stacker)")
    labelled, unaudited = label_records(records, audits)
    if unaudited:
        raise SystemExit(f"{unaudited} records have no audit: cross-validation needs every record audited")
    truth = np.asarray(record_labels(labelled), dtype=int)
    found = rules.detect(records)
    predictions = bundle.predict(records)
    probs = _record_matrix(predictions)
    audit_of = {a.record_id: a for a in audits}
    extra_records, extra_audits = extra_fit or ([], [])
    extra_labelled, extra_unaudited = label_records(extra_records, extra_audits)
    if extra_unaudited:
        raise SystemExit(f"{extra_unaudited} extra fit records have no audit")
    extra_truth = np.asarray(record_labels(extra_labelled), dtype=int).reshape(-1)
    extra_found = rules.detect(extra_records)
    extra_probs = _record_matrix(bundle.predict(extra_records)) if extra_records else probs[:0]
    rows = []
    for name, features in feature_sets.items():
        X = stack_features(found, probs, bundle.thresholds, features)
        X = X.reshape(len(records), len(CATEGORIES), -1)
        X_extra = stack_features(extra_found, extra_probs, bundle.thresholds, features)
        X_extra = X_extra.reshape(-1, X.shape[2])
        for folding in (True, False):
            pooled = {t: {kind: np.zeros(3, dtype=int) for kind in KINDS} for t in thresholds}
            for repeat in range(repeats):
                for fit, held in KFold(folds, shuffle=True, random_state=repeat).split(records):
                    stacker = Stacker(
                        C=bundle.stacker.C,
                        class_weight=bundle.stacker.class_weight,
                        features=features,
                        n_repeats=threshold_repeats,
                    ).fit(
                        np.vstack([X[fit].reshape(-1, X.shape[2]), X_extra]),
                        np.concatenate([truth[fit].ravel(), extra_truth]),
                    )
                    chosen = stacker.threshold_
                    variant = copy.copy(bundle)
                    variant.stacker = stacker
                    held_records = [records[i] for i in held]
                    for threshold in thresholds:
                        stacker.threshold_ = chosen if threshold is None else threshold
                        combined = variant.combine(
                            held_records,
                            [found[i] for i in held],
                            [predictions[i] for i in held],
                            rules.folds_into if folding else None,
                        )
                        flags = scan_records(
                            held_records, crimes, _Given(combined), reconcile_config=reconcile_config
                        )
                        quality = finding_quality(
                            flags, [audit_of[r.record_id] for r in held_records], held_records, crimes
                        )
                        for kind in KINDS:
                            q = quality[kind]
                            pooled[threshold][kind] += (q.true_positive, q.predicted, q.actual)
            for threshold, counts in pooled.items():
                rows.append(
                    {
                        "features": name,
                        "folding": folding,
                        "threshold": threshold,
                        **{k: tuple(v) for k, v in counts.items()},
                    }
                )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    """Markdown: precision / recall (tp / predicted / actual) per finding type."""
    head = "| features | model-only folding | stacker threshold | " + " | ".join(KINDS) + " |"
    lines = [head, "|" + "---|" * (len(KINDS) + 3)]
    for row in rows:
        cells = []
        for kind in KINDS:
            tp, predicted, actual = row[kind]  # type: ignore[misc]
            p = f"{tp / predicted:.3f}" if predicted else "-"
            r = f"{tp / actual:.3f}" if actual else "-"
            cells.append(f"{p} / {r} ({tp}/{predicted}/{actual})")
        folding = "on" if row["folding"] else "off"
        threshold = "each fold's own" if row.get("threshold") is None else f"{row['threshold']:.2f}"
        lines.append(f"| {row['features']} | {folding} | {threshold} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="model bundle directory or MLflow URI")
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--crimes", type=Path, required=True)
    parser.add_argument("--audits", type=Path, required=True)
    parser.add_argument("--features", nargs="*", default=[], help="name=feature,feature,... (repeatable)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threshold-repeats",
        type=int,
        default=10,
        help="shuffled splits each stacker chooses its threshold on (10 as in training; fewer is faster)",
    )
    parser.add_argument(
        "--thresholds",
        nargs="*",
        type=float,
        default=[],
        help="fixed stacker thresholds to try besides each fold's own (how far recall can go)",
    )
    parser.add_argument(
        "--reconcile-config", default=None, help="reconcile settings file (default: packaged)"
    )
    parser.add_argument(
        "--extra-fit",
        nargs=2,
        type=Path,
        metavar=("RECORDS", "AUDITS"),
        help="more audited records every fold's stacker is also fitted on (never held out)",
    )
    parser.add_argument("--quantize", action="store_true", help="score with the int8 encoder (as scans do)")
    parser.add_argument("--rules-config", default=None)
    args = parser.parse_args(argv)
    bundle = load_bundle(args.bundle, quantize=args.quantize)
    rules = RuleDetector(args.rules_config)
    records = list(load_all(args.records, "records"))
    rows = cross_validate(
        bundle,
        rules,
        records,
        list(load_all(args.audits, "audits")),
        list(load_all(args.crimes, "crimes")),
        parse_feature_sets(args.features, bundle.stacker.features if bundle.stacker else []),
        folds=args.folds,
        repeats=args.repeats,
        threshold_repeats=args.threshold_repeats,
        thresholds=[None, *args.thresholds],
        reconcile_config=args.reconcile_config,
        extra_fit=(
            (list(load_all(args.extra_fit[0], "records")), list(load_all(args.extra_fit[1], "audits")))
            if args.extra_fit
            else None
        ),
    )
    print(f"{len(records)} records, {args.repeats} x {args.folds}-fold by record; pooled over folds")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
