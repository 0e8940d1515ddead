"""Priority: the probability that a record holds at least one recording failure an auditor
would confirm, learned from audited records.

A :class:`PriorityModel` is a logistic regression (scikit-learn) on a few features of a
flag (the strongest finding score of each type, counts of findings, disclosures and crime
records, the record's kind). It is fitted on flags of audited records, where the label is
"the audit establishes at least one failure" (:func:`crimedetect.reconcile.truth_findings`),
and saved as a small JSON artifact (``resources/priority.json``) that scan loads once per
process. Without an artifact the priority falls back to the noisy-or of the finding scores
(not calibrated; the flags' ``versions.priority`` then says ``noisy-or``).

Fit from the command line::

    python -m crimedetect.priority --flags flags.jsonl --records R --crimes C --audits A \
        --out src/crimedetect/resources/priority.json
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from crimedetect.contract import Audit, Crime, FindingType, Flag, Record

#: Names of the features, in order.
FEATURES: tuple[str, ...] = (
    *(f"max_{t.value}" for t in FindingType),
    "log_findings",
    "log_disclosed",
    "max_disclosed",
    "log_crimes",
    "kind_safeguarding",
    "kind_modern_slavery",
    "kind_other",
)


def features(record: Record | None, flag: Flag) -> list[float]:
    """The feature vector of one flag (``record`` gives its kind; None = incident)."""
    best = {t.value: 0.0 for t in FindingType}
    count = 0
    for finding in flag.findings:
        name = str(finding.type)
        best[name] = max(best[name], float(finding.score))
        count += int(finding.count)
    kind = str(record.kind) if record is not None else str(getattr(flag, "kind", None) or "incident")
    return [
        *(best[t.value] for t in FindingType),
        math.log1p(count),
        math.log1p(len(flag.disclosed)),
        max((float(d.score) for d in flag.disclosed), default=0.0),
        math.log1p(len(flag.crime_ids)),
        float(kind == "safeguarding"),
        float(kind == "modern_slavery"),
        float(kind == "other"),
    ]


class PriorityModel:
    """Calibrated priority: P(record holds >= 1 confirmed failure | flag features).

    Follows scikit-learn's conventions: ``fit(X, y)``, ``predict_proba(X)``; fitted
    attributes end in ``_``. ``C`` and ``random_state`` are the logistic regression's.
    """

    def __init__(self, C: float = 1.0, random_state: int = 0) -> None:
        self.C = C
        self.random_state = random_state

    # ---- scikit-learn style
    def fit(self, X: np.ndarray, y: np.ndarray) -> PriorityModel:
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=int)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        model = LogisticRegression(C=self.C, random_state=self.random_state, max_iter=1000)
        model.fit((X - self.mean_) / self.scale_, y)
        self.coef_ = model.coef_[0].astype(float)
        self.intercept_ = float(model.intercept_[0])
        self.n_samples_ = int(len(y))
        self.base_rate_ = float(y.mean()) if len(y) else 0.0
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    # ---- flags
    @property
    def version(self) -> str:
        return getattr(self, "version_", "priority-unfitted")

    def predict_flag(self, record: Record | None, flag: Flag) -> float:
        """The priority of one flag, rounded to 4 places (stable across runs)."""
        p = float(self.predict_proba(np.array([features(record, flag)]))[0, 1])
        return round(min(max(p, 0.0), 1.0), 4)

    # ---- artifact
    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "features": list(FEATURES),
            "mean": [round(float(v), 8) for v in self.mean_],
            "scale": [round(float(v), 8) for v in self.scale_],
            "coef": [round(float(v), 8) for v in self.coef_],
            "intercept": round(self.intercept_, 8),
            "C": self.C,
            "n_samples": self.n_samples_,
            "base_rate": round(self.base_rate_, 6),
            "trained_on": getattr(self, "trained_on_", ""),
            "metrics": getattr(self, "metrics_", {}),
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json_dict(cls, data: dict[str, Any], source: str = "") -> PriorityModel:
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError(
                f"{source}: priority artifact features {data.get('features')} do not match this "
                f"version's {list(FEATURES)}; refit it (python -m crimedetect.priority)"
            )
        model = cls(C=float(data.get("C", 1.0)))
        model.mean_ = np.array(data["mean"], dtype=float)
        model.scale_ = np.array(data["scale"], dtype=float)
        model.coef_ = np.array(data["coef"], dtype=float)
        model.intercept_ = float(data["intercept"])
        model.n_samples_ = int(data.get("n_samples", 0))
        model.base_rate_ = float(data.get("base_rate", 0.0))
        model.version_ = str(data["version"])
        model.trained_on_ = str(data.get("trained_on", ""))
        model.metrics_ = dict(data.get("metrics", {}))
        return model

    @classmethod
    def load(cls, path: str | Path) -> PriorityModel:
        return cls.from_json_dict(json.loads(Path(path).read_text(encoding="utf-8")), str(path))


class NoisyOrPriority:
    """Fallback without a fitted artifact: 1 - prod(1 - finding score). Not calibrated."""

    version = "noisy-or"

    def predict_flag(self, record: Record | None, flag: Flag) -> float:
        keep = 1.0
        for finding in flag.findings:
            keep *= 1.0 - float(finding.score)
        return round(1.0 - keep, 4)


@lru_cache(maxsize=4)
def load_priority_model(path: str | None = None) -> PriorityModel | NoisyOrPriority:
    """The priority model from ``path`` or the packaged ``resources/priority.json``; the
    noisy-or fallback when the packaged artifact does not exist."""
    if path:
        return PriorityModel.load(path)
    resource = resources.files("crimedetect") / "resources" / "priority.json"
    if not resource.is_file():
        return NoisyOrPriority()
    return PriorityModel.from_json_dict(json.loads(resource.read_text(encoding="utf-8")), str(resource))


# --------------------------------------------------------------------------- fitting


def training_set(
    flags: Iterable[Flag], audits: Iterable[Audit], records: Iterable[Record], crimes: Iterable[Crime]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features and labels of the audited flags: label 1 when the audit establishes a failure."""
    from crimedetect.reconcile import truth_findings

    record_map = {r.record_id: r for r in records}
    crime_map = {c.crime_id: c for c in crimes}
    audit_map = {a.record_id: a for a in audits}
    X: list[list[float]] = []
    y: list[int] = []
    ids: list[str] = []
    for flag in flags:
        audit = audit_map.get(flag.record_id)
        record = record_map.get(flag.record_id)
        if audit is None or record is None:
            continue
        X.append(features(record, flag))
        y.append(int(bool(truth_findings(record, audit, crime_map))))
        ids.append(flag.record_id)
    return np.array(X, dtype=float).reshape(-1, len(FEATURES)), np.array(y, dtype=int), ids


def calibration_report(y: np.ndarray, p: np.ndarray, bins: int = 5) -> dict[str, float]:
    """Brier score, expected calibration error and ROC AUC of probabilities ``p``."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if mask.any():
            ece += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    out = {"brier": round(float(brier_score_loss(y, p)), 4), "ece": round(float(ece), 4)}
    if len(set(y.tolist())) == 2:
        out["auc"] = round(float(roc_auc_score(y, p)), 4)
    return out


def cross_validated(
    X: np.ndarray, y: np.ndarray, folds: int = 5, C: float = 1.0, random_state: int = 0
) -> np.ndarray:
    """Held-out probabilities from stratified k-fold refits (for honest calibration numbers)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(y), dtype=float)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    for train, test in splitter.split(X, y):
        model = PriorityModel(C=C, random_state=random_state).fit(X[train], y[train])
        out[test] = model.predict_proba(X[test])[:, 1]
    return out


def fit_priority(
    flags: Sequence[Flag],
    audits: Sequence[Audit],
    records: Sequence[Record],
    crimes: Sequence[Crime],
    *,
    C: float = 1.0,
    folds: int = 5,
    random_state: int = 0,
    version: str = "priority-1",
    trained_on: str = "",
) -> PriorityModel:
    """Fit the priority model on audited flags; ``metrics_`` holds the held-out calibration."""
    X, y, _ = training_set(flags, audits, records, crimes)
    if len(set(y.tolist())) < 2:
        raise ValueError("the audited records need both outcomes (some failures, some none) to fit")
    model = PriorityModel(C=C, random_state=random_state).fit(X, y)
    model.version_ = version
    model.trained_on_ = trained_on
    held_out = cross_validated(X, y, folds=min(folds, int(min(np.bincount(y))))) if folds > 1 else None
    model.metrics_ = {
        "n": int(len(y)),
        "positives": int(y.sum()),
        **(
            {f"cv{folds}_{k}": v for k, v in calibration_report(y, held_out).items()}
            if held_out is not None
            else {}
        ),
    }
    return model


def evaluate_priority(
    model: PriorityModel | NoisyOrPriority,
    flags: Sequence[Flag],
    audits: Sequence[Audit],
    records: Sequence[Record],
    crimes: Sequence[Crime],
) -> dict[str, float]:
    """Calibration of a priority model on audited flags it was not fitted on, and the share of
    records with a confirmed failure among the K highest (the ``--top K`` worklist)."""
    X, y, ids = training_set(flags, audits, records, crimes)
    record_map = {r.record_id: r for r in records}
    flag_map = {f.record_id: f for f in flags}
    p = np.array([model.predict_flag(record_map[i], flag_map[i]) for i in ids])
    out: dict[str, float] = {"n": int(len(y)), "positives": int(y.sum()), **calibration_report(y, p)}
    order = np.argsort(-p, kind="stable")  # the --top K worklist order
    for k in (10, 25, 50, 100):
        if len(y) >= 2 * k:
            out[f"precision_at_{k}"] = round(float(y[order[:k]].mean()), 3)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Fit the priority artifact from a scan's flags and the audits of the same records
    (``--out``), or check a fitted one on other audited flags (``--model``)."""
    from crimedetect.io import load_all

    parser = argparse.ArgumentParser(prog="python -m crimedetect.priority", description=main.__doc__)
    parser.add_argument("--flags", required=True, nargs="+")
    parser.add_argument("--records", required=True, nargs="+")
    parser.add_argument("--crimes", required=True, nargs="+")
    parser.add_argument("--audits", required=True, nargs="+")
    parser.add_argument("--out", help="where to write the fitted artifact")
    parser.add_argument("--model", help="check this artifact ('packaged' for the packaged one) instead")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--version", default="priority-1")
    parser.add_argument("--trained-on", default=None, help="a description of the audited data (no texts)")
    args = parser.parse_args(argv)

    def many(paths: list[str], kind: str) -> list[Any]:
        return [item for path in paths for item in load_all(path, kind)]

    if args.model:
        chosen = load_priority_model(None if args.model == "packaged" else args.model)
        report = evaluate_priority(
            chosen,
            many(args.flags, "flags"),
            many(args.audits, "audits"),
            many(args.records, "records"),
            many(args.crimes, "crimes"),
        )
        print(json.dumps({"model": chosen.version, **report}, indent=2))
        return
    if not args.out:
        parser.error("give --out to fit, or --model to check")
    model = fit_priority(
        many(args.flags, "flags"),
        many(args.audits, "audits"),
        many(args.records, "records"),
        many(args.crimes, "crimes"),
        C=args.C,
        folds=args.folds,
        version=args.version,
        trained_on=args.trained_on
        or ", ".join(Path(p).parent.name + "/" + Path(p).name for p in args.audits),
    )
    model.save(args.out)
    print(json.dumps(model.metrics_, indent=2))


if __name__ == "__main__":
    main()
