"""The ensemble: one calibrated score per (record, category) from the rules and the model.

A logistic-regression stacker is fitted on validation records (never on the records the
encoder was trained on) over four features per (record, category):

- ``rule_score``: the rules' highest confidence for the category (0 when no rule fired);
- ``rule_fired``: 1 when any rule disclosed the category;
- ``model_logit_fired`` / ``model_logit_silent``: the model's logit when a rule fired / when
  none did (two weights, so the model can confirm rules less than it finds what they miss);
- ``model_over_threshold``: 1 when the model's probability reaches its category threshold.

Its decision threshold is chosen on out-of-fold stacker scores of the same validation
records, so it is not tuned on the very scores it was fitted to. The stacker is stored as
plain numbers in ``bundle.json`` (no pickle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crimedetect.contract import CATEGORIES, Disclosure

FEATURES: tuple[str, ...] = (
    "rule_score",
    "rule_fired",
    "model_logit_fired",
    "model_logit_silent",
    "model_over_threshold",
)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-5, 1 - 1e-5)
    return np.log(p / (1 - p))


def rule_scores(disclosures: Sequence[Disclosure]) -> dict[str, float]:
    """Highest rule score per category in one record's rule disclosures."""
    best: dict[str, float] = {}
    for d in disclosures:
        c = str(d.category)
        best[c] = max(best.get(c, 0.0), float(d.score))
    return best


def stack_features(
    rule_disclosures: Sequence[Sequence[Disclosure]],
    model_probs: np.ndarray,
    thresholds: Mapping[str, float],
) -> np.ndarray:
    """Feature rows, one per (record, category) in record-major, :data:`CATEGORIES` order."""
    rows = []
    for r, disclosures in enumerate(rule_disclosures):
        scores = rule_scores(disclosures)
        for k, c in enumerate(CATEGORIES):
            p = float(model_probs[r, k])
            fired = c in scores
            logit = float(_logit(np.array([p]))[0])
            rows.append(
                [
                    scores.get(c, 0.0),
                    1.0 if fired else 0.0,
                    logit if fired else 0.0,
                    0.0 if fired else logit,
                    1.0 if p >= thresholds.get(c, 0.5) else 0.0,
                ]
            )
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))


def best_f1_threshold(scores: np.ndarray, truth: np.ndarray, min_recall: float = 0.0) -> float:
    """The score threshold with the best F1 among those reaching ``min_recall`` (0.5 if none)."""
    positives = int(truth.sum())
    if positives == 0:
        return 0.5
    best_t, best_f1 = 0.5, -1.0
    for t in np.unique(scores):
        pred = scores >= t
        tp = int((pred & (truth == 1)).sum())
        recall = tp / positives
        if recall < min_recall:
            continue
        precision = tp / max(int(pred.sum()), 1)
        f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t


class Stacker:
    """Logistic stacking of rule and model evidence (scikit-learn style: fit, predict_proba).

    Parameters are set in ``__init__`` and never changed there; fitted attributes end in ``_``.
    """

    def __init__(self, C: float = 1.0, min_recall: float = 0.0, random_state: int = 0) -> None:
        self.C = C
        self.min_recall = min_recall
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> Stacker:
        """Fit on feature rows ``X`` and 0/1 truth ``y``; chooses ``threshold_`` out of fold."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if len(np.unique(y)) < 2:
            raise ValueError("the stacker needs positive and negative validation examples")
        model = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state)
        model.fit(X, y)
        self.coef_ = model.coef_[0].astype(float)
        self.intercept_ = float(model.intercept_[0])
        folds = min(5, int(y.sum()), int((1 - y).sum()))
        if folds >= 2:
            oof = np.zeros(len(y))
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            for fit_idx, held_idx in splitter.split(X, y):
                part = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state)
                part.fit(X[fit_idx], y[fit_idx])
                oof[held_idx] = part.predict_proba(X[held_idx])[:, 1]
        else:
            oof = self.predict_proba(X)
        self.threshold_ = best_f1_threshold(oof, y, self.min_recall)
        self.n_fit_ = len(y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability that the (record, category) row is a disclosed offence."""
        z = np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X) >= self.threshold_).astype(int)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "coef": [float(c) for c in self.coef_],
            "intercept": self.intercept_,
            "threshold": self.threshold_,
            "C": self.C,
            "min_recall": self.min_recall,
            "n_fit": self.n_fit_,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stacker:
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError(f"stacker features {data.get('features')} differ from {list(FEATURES)}")
        stacker = cls(C=float(data.get("C", 1.0)), min_recall=float(data.get("min_recall", 0.0)))
        stacker.coef_ = np.asarray(data["coef"], dtype=float)
        stacker.intercept_ = float(data["intercept"])
        stacker.threshold_ = float(data["threshold"])
        stacker.n_fit_ = int(data.get("n_fit", 0))
        return stacker
