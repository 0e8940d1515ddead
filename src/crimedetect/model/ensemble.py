"""The ensemble: one calibrated score per (record, category) from the rules and the model.

A logistic-regression stacker is fitted on validation records (never on the records the
encoder was trained on) over named features per (record, category). The vocabulary:

- ``rule_score``: the rules' highest confidence for the category (0 when no rule fired);
- ``rule_fired``: 1 when any rule disclosed the category;
- ``model_logit_fired`` / ``model_logit_silent``: the model's logit when a rule fired / when
  none did (two weights, so the model can confirm rules less than it finds what they miss);
- ``model_margin_fired`` / ``model_margin_silent``: the same, minus the logit of the
  category's threshold (the model's evidence on one scale across categories);
- ``model_over_threshold``: 1 when the model's probability reaches its category threshold;
- ``rule_fired:<category>``: 1 when a rule fired for that category (learns how reliable the
  rules are per category);
- ``model_logit_silent:<category>``: the model's logit for that category when no rule fired
  (how far the model alone is to be trusted, per category);
- ``rule_mentions`` / ``rule_ids``: log(1 + disclosures) and log(1 + distinct rules) of the
  category (several victims, several independent patterns);
- ``cue:<cue>``: 1 when a rule disclosure of the category carries that context cue
  (``third_party``, ``historic``, ``victim_denies``...);
- record context, for a second offence beside a first: ``rule_others`` (log(1 + other
  categories the rules disclosed in the record)), ``model_logit_gap`` (the model's logit
  minus its highest logit for another category of the record), and
  ``model_logit_silent_others`` / ``model_logit_fired_others`` (the model's logit when the
  rules disclosed other categories of the record and none / this one too).

A stacker stores the names it was fitted on, so bundles fitted with the original five
features (:data:`LEGACY_FEATURES`) still load and score the same. Its decision threshold is
chosen on out-of-fold stacker scores of the same validation records, so it is not tuned on
the very scores it was fitted to. The stacker is stored as plain numbers in ``bundle.json``
(no pickle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crimedetect.contract import CATEGORIES, Disclosure

#: The features of the first stackers (bundles written before named feature sets).
LEGACY_FEATURES: tuple[str, ...] = (
    "rule_score",
    "rule_fired",
    "model_logit_fired",
    "model_logit_silent",
    "model_over_threshold",
)

#: Features a new stacker is fitted on unless the config names others: the original five
#: plus how reliable the rules are per category (chosen on the dev set's 3-fold aggregate,
#: docs/history/model.md; richer sets with cues and rule counts did no better there).
FEATURES: tuple[str, ...] = (*LEGACY_FEATURES, "rule_fired:*")

_PLAIN = {
    *LEGACY_FEATURES,
    "model_margin_fired",
    "model_margin_silent",
    "rule_mentions",
    "rule_ids",
    "rule_others",
    "model_logit_gap",
    "model_logit_silent_others",
    "model_logit_fired_others",
}
_PREFIXED = {"rule_fired", "cue", "model_logit_silent"}
#: Families whose ``:*`` expands to one feature per category.
_PER_CATEGORY = {"rule_fired", "model_logit_silent"}


def expand_features(names: Sequence[str]) -> list[str]:
    """Feature names with ``rule_fired:*`` expanded to one per category; unknown names raise."""
    out: list[str] = []
    for name in names:
        prefix, _, arg = name.partition(":")
        if name in _PLAIN:
            out.append(name)
        elif prefix in _PER_CATEGORY and arg == "*":
            out.extend(f"{prefix}:{c}" for c in CATEGORIES)
        elif prefix in _PREFIXED and arg and (prefix not in _PER_CATEGORY or arg in CATEGORIES):
            out.append(name)
        else:
            raise ValueError(f"unknown stacker feature {name!r}")
    return list(dict.fromkeys(out))


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


def _cell(
    name: str,
    category: str,
    mine: list[Disclosure],
    p: float,
    threshold: float,
    others: int = 0,
    best_other: float = 0.0,
) -> float:
    """One feature of one (record, category); ``others``: other categories the rules disclosed
    in the record; ``best_other``: the model's highest probability for another category."""
    fired = bool(mine)
    prefix, _, arg = name.partition(":")
    if prefix == "rule_fired":
        return float(fired and (not arg or arg == category))
    if prefix == "model_logit_silent" and arg:
        return float(_logit(np.array([p]))[0]) if not fired and arg == category else 0.0
    if prefix == "cue":
        return float(any(arg in (getattr(d, "cues", None) or []) for d in mine))
    if name == "rule_score":
        return rule_scores(mine).get(category, 0.0)
    if name == "rule_others":
        return float(np.log1p(others))
    if name == "model_logit_gap":
        return float(_logit(np.array([p]))[0] - _logit(np.array([best_other]))[0])
    if name.endswith("_others"):  # model_logit_silent_others / model_logit_fired_others
        value = float(_logit(np.array([p]))[0])
        return value if others and fired == name.startswith("model_logit_fired") else 0.0
    if name.startswith(("model_logit", "model_margin")):
        value = float(_logit(np.array([p]))[0])
        if name.startswith("model_margin"):
            value -= float(_logit(np.array([threshold]))[0])
        return value if fired == name.endswith("_fired") else 0.0
    if name == "model_over_threshold":
        return float(p >= threshold)
    if name == "rule_mentions":
        return float(np.log1p(len(mine)))
    if name == "rule_ids":
        return float(np.log1p(len({r for d in mine for r in (getattr(d, "rule_ids", None) or [])})))
    raise ValueError(f"unknown stacker feature {name!r}")


def stack_features(
    rule_disclosures: Sequence[Sequence[Disclosure]],
    model_probs: np.ndarray,
    thresholds: Mapping[str, float],
    features: Sequence[str] = LEGACY_FEATURES,
) -> np.ndarray:
    """Feature rows, one per (record, category) in record-major, :data:`CATEGORIES` order."""
    names = expand_features(features)
    rows = []
    for r, disclosures in enumerate(rule_disclosures):
        disclosed = {str(d.category) for d in disclosures}
        # the model's best category of the record and the runner-up: each category's best other
        first, second = np.argsort(model_probs[r])[::-1][:2]
        for k, c in enumerate(CATEGORIES):
            mine = [d for d in disclosures if str(d.category) == c]
            p, cut = float(model_probs[r, k]), float(thresholds.get(c, 0.5))
            others = len(disclosed - {c})
            best_other = float(model_probs[r, second if k == first else first])
            rows.append([_cell(name, c, mine, p, cut, others, best_other) for name in names])
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(names))


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

    def __init__(
        self,
        C: float = 1.0,
        min_recall: float = 0.0,
        random_state: int = 0,
        features: Sequence[str] = LEGACY_FEATURES,
        class_weight: str | None = None,
        n_repeats: int = 10,
    ) -> None:
        self.C = C
        self.min_recall = min_recall
        self.random_state = random_state
        self.features = expand_features(features)
        self.class_weight = class_weight
        self.n_repeats = n_repeats

    def _model(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=2000, random_state=self.random_state
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> Stacker:
        """Fit on feature rows ``X`` and 0/1 truth ``y``; chooses ``threshold_`` out of fold.

        The best-F1 threshold of one out-of-fold split moves with the split on a few hundred
        validation rows, so it is chosen on ``n_repeats`` shuffled splits and the median kept.
        """
        from sklearn.model_selection import RepeatedStratifiedKFold

        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != len(self.features):
            raise ValueError(f"{X.shape[1]} feature columns for {len(self.features)} stacker features")
        y = np.asarray(y, dtype=np.int64)
        if len(np.unique(y)) < 2:
            raise ValueError("the stacker needs positive and negative validation examples")
        model = self._model().fit(X, y)
        self.coef_ = model.coef_[0].astype(float)
        self.intercept_ = float(model.intercept_[0])
        folds = min(5, int(y.sum()), int((1 - y).sum()))
        if folds >= 2:
            repeats = max(1, self.n_repeats)
            splitter = RepeatedStratifiedKFold(
                n_splits=folds, n_repeats=repeats, random_state=self.random_state
            )
            splits = list(splitter.split(X, y))
            thresholds = []
            for r in range(repeats):
                oof = np.zeros(len(y))
                for fit_idx, held_idx in splits[r * folds : (r + 1) * folds]:
                    part = self._model().fit(X[fit_idx], y[fit_idx])
                    oof[held_idx] = part.predict_proba(X[held_idx])[:, 1]
                thresholds.append(best_f1_threshold(oof, y, self.min_recall))
            self.threshold_ = float(np.median(thresholds))
        else:
            self.threshold_ = best_f1_threshold(self.predict_proba(X), y, self.min_recall)
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
            "features": list(self.features),
            "coef": [float(c) for c in self.coef_],
            "intercept": self.intercept_,
            "threshold": self.threshold_,
            "C": self.C,
            "min_recall": self.min_recall,
            "n_fit": self.n_fit_,
            "class_weight": self.class_weight,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stacker:
        features = list(data.get("features") or [])
        stacker = cls(
            C=float(data.get("C", 1.0)),
            min_recall=float(data.get("min_recall", 0.0)),
            features=features,  # unknown names raise ValueError
            class_weight=data.get("class_weight"),
        )
        stacker.coef_ = np.asarray(data["coef"], dtype=float)
        if not features or len(stacker.coef_) != len(stacker.features):
            raise ValueError(f"{len(stacker.coef_)} coefficients for stacker features {features}")
        stacker.intercept_ = float(data["intercept"])
        stacker.threshold_ = float(data["threshold"])
        stacker.n_fit_ = int(data.get("n_fit", 0))
        return stacker
