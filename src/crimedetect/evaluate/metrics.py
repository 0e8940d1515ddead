"""Precision, recall, F1 and F2 at record, crime and disclosure level, with bootstrap intervals.

Counts are kept per record, so the bootstrap resamples records (the audit's sampling unit)
and every metric's interval comes from the same resamples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crimedetect.contract import CATEGORIES

Key = tuple[str, str]  # (finding type, category)


@dataclass(frozen=True)
class Group:
    """A named subset of (type, category) keys, e.g. ``type:late`` or ``category:rape``."""

    name: str
    types: frozenset[str] | None = None
    categories: frozenset[str] | None = None

    def __contains__(self, key: Key) -> bool:
        kind, category = key
        return (self.types is None or kind in self.types) and (
            self.categories is None or category in self.categories
        )


def finding_groups(types: Sequence[str]) -> list[Group]:
    """``all`` (of the judged types), one group per finding type, one per category."""
    judged = frozenset(types)
    groups = [Group("all", judged)]
    groups += [Group(f"type:{t}", frozenset({t})) for t in types]
    groups += [Group(f"category:{c}", judged, frozenset({c})) for c in CATEGORIES]
    return groups


def disclosure_groups() -> list[Group]:
    """``all`` and one group per category, for disclosures against audit crimes."""
    return [Group("all")] + [Group(f"category:{c}", None, frozenset({c})) for c in CATEGORIES]


@dataclass
class LevelCounts:
    """Per-record true/false positive and false negative counts, one column per group."""

    level: str
    groups: list[Group]
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


def count_level(
    level: str,
    groups: list[Group],
    predicted: Sequence[Counter[Key]],
    truth: Sequence[Counter[Key]],
) -> LevelCounts:
    """Counts for one level.

    ``record`` level: a record is a positive of a group if it has any key of the group.
    ``crime``/``disclosure`` level: counts are matched key by key (min of the two).
    """
    n, k = len(predicted), len(groups)
    tp = np.zeros((n, k), dtype=np.int64)
    fp = np.zeros((n, k), dtype=np.int64)
    fn = np.zeros((n, k), dtype=np.int64)
    for i, (pred, true) in enumerate(zip(predicted, truth, strict=True)):
        keys = set(pred) | set(true)
        for j, group in enumerate(groups):
            in_group = [key for key in keys if key in group]
            if not in_group:
                continue
            if level == "record":
                p = any(pred.get(key, 0) > 0 for key in in_group)
                t = any(true.get(key, 0) > 0 for key in in_group)
                tp[i, j], fp[i, j], fn[i, j] = int(p and t), int(p and not t), int(t and not p)
            else:
                match = sum(min(pred.get(key, 0), true.get(key, 0)) for key in in_group)
                tp[i, j] = match
                fp[i, j] = sum(pred.get(key, 0) for key in in_group) - match
                fn[i, j] = sum(true.get(key, 0) for key in in_group) - match
    return LevelCounts(level, groups, tp, fp, fn)


def prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1, F2 (NaN where undefined), elementwise."""
    tp, fp, fn = (np.asarray(a, dtype=float) for a in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        f2 = np.where(5 * tp + 4 * fn + fp > 0, 5 * tp / (5 * tp + 4 * fn + fp), np.nan)
    return {"precision": precision, "recall": recall, "f1": f1, "f2": f2}


@dataclass
class MetricRow:
    """One group's metrics at one level, with 95% bootstrap intervals."""

    level: str
    group: str
    tp: int
    fp: int
    fn: int
    values: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "group": self.group,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
        }
        for name, value in self.values.items():
            out[name] = _clean(value)
            low, high = self.intervals.get(name, (float("nan"), float("nan")))
            out[f"{name}_low"], out[f"{name}_high"] = _clean(low), _clean(high)
        return out


def _clean(value: float) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 6)


def bootstrap_totals(columns: np.ndarray, n_boot: int, seed: int, chunk: int = 20_000) -> np.ndarray:
    """Column totals under ``n_boot`` record resamples (Poisson bootstrap), shape (n_boot, m).

    Each record gets an independent Poisson(1) weight per resample; weights are drawn a chunk
    of records at a time, so memory stays bounded at 300,000 records.
    """
    rng = np.random.default_rng(seed)
    columns = np.asarray(columns, dtype=np.float64)
    totals = np.zeros((n_boot, columns.shape[1]))
    for start in range(0, columns.shape[0], chunk):
        block = columns[start : start + chunk]
        weights = rng.poisson(1.0, size=(n_boot, block.shape[0])).astype(np.float64)
        totals += weights @ block
    return totals


def level_metrics(
    counts: LevelCounts, boot: tuple[np.ndarray, np.ndarray, np.ndarray] | None
) -> list[MetricRow]:
    """Point estimates and percentile intervals for every group of one level.

    ``boot`` holds the bootstrap totals of tp, fp and fn (each n_boot x groups), or None.
    """
    tp, fp, fn = counts.tp.sum(0), counts.fp.sum(0), counts.fn.sum(0)
    point = prf(tp, fp, fn)
    resampled = prf(*boot) if boot is not None else None
    rows = []
    for j, group in enumerate(counts.groups):
        row = MetricRow(counts.level, group.name, int(tp[j]), int(fp[j]), int(fn[j]))
        for name, values in point.items():
            row.values[name] = float(values[j])
            if resampled is not None:
                column = resampled[name][:, j]
                column = column[~np.isnan(column)]
                if column.size:
                    row.intervals[name] = (
                        float(np.percentile(column, 2.5)),
                        float(np.percentile(column, 97.5)),
                    )
        rows.append(row)
    return rows


def category_confusion(
    predicted: Sequence[Counter[str]], truth: Sequence[Counter[str]], severity: Callable[[str], int]
) -> tuple[list[str], np.ndarray]:
    """Confusion of audit categories (rows) against disclosed categories (columns).

    Within a record, equal categories are paired first; the rest are paired most serious
    with most serious; what is left pairs with ``(none)``. Labels end with ``(none)``.
    """
    labels = list(CATEGORIES) + ["(none)"]
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for pred, true in zip(predicted, truth, strict=True):
        pred, true = Counter(pred), Counter(true)
        for category in set(pred) & set(true):
            same = min(pred[category], true[category])
            matrix[index[category], index[category]] += same
            pred[category] -= same
            true[category] -= same
        rest_p = sorted((c for c in pred.elements()), key=severity)
        rest_t = sorted((c for c in true.elements()), key=severity)
        for i in range(max(len(rest_p), len(rest_t))):
            row = rest_t[i] if i < len(rest_t) else "(none)"
            col = rest_p[i] if i < len(rest_p) else "(none)"
            matrix[index[row], index[col]] += 1
    return labels, matrix


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability-diagram bins (mean score, observed rate, count) and the expected calibration error."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1], right=True), 0, bins - 1)
    out: dict[str, Any] = {"mean_score": [], "observed": [], "count": [], "edges": edges.tolist()}
    ece = 0.0
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        mean_score = float(scores[mask].mean()) if count else float("nan")
        observed = float(labels[mask].mean()) if count else float("nan")
        out["mean_score"].append(mean_score)
        out["observed"].append(observed)
        out["count"].append(count)
        if count:
            ece += count / len(scores) * abs(mean_score - observed)
    out["ece"] = ece if len(scores) else float("nan")
    return out
