"""Record-level (record, category) metrics and threshold choice for the classifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from crimedetect.contract import CATEGORIES


def prf(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Micro precision, recall, F1 and counts over all (record, category) cells."""
    truth = np.asarray(truth).astype(bool)
    pred = np.asarray(pred).astype(bool)
    tp = int((truth & pred).sum())
    fp = int((~truth & pred).sum())
    fn = int((truth & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def per_category(truth: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, float]]:
    """:func:`prf` for each category column."""
    return {c: prf(truth[:, k], pred[:, k]) for k, c in enumerate(CATEGORIES)}


def apply_thresholds(probs: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """0/1 matrix: probability at or above the category's threshold."""
    cuts = np.asarray([thresholds[c] for c in CATEGORIES], dtype=np.float64)
    return (np.asarray(probs) >= cuts).astype(int)


def recall_threshold(scores: np.ndarray, truth: np.ndarray, target_recall: float) -> float:
    """The highest threshold whose recall on ``truth`` is at least ``target_recall``."""
    positives = np.sort(scores[truth.astype(bool)])[::-1]
    if len(positives) == 0:
        return 0.5
    needed = int(np.ceil(target_recall * len(positives)))
    return float(positives[max(needed, 1) - 1])


def choose_thresholds(
    probs: np.ndarray, truth: np.ndarray, target_recall: float, min_positives: int = 3
) -> tuple[dict[str, float], dict[str, str]]:
    """Per-category thresholds reaching ``target_recall`` on validation data.

    A category with fewer than ``min_positives`` validation positives gets the pooled
    threshold of all categories instead. Returns (thresholds, how each was chosen).
    """
    pooled = recall_threshold(probs.ravel(), truth.ravel(), target_recall)
    thresholds: dict[str, float] = {}
    how: dict[str, str] = {}
    for k, c in enumerate(CATEGORIES):
        if int(truth[:, k].sum()) >= min_positives:
            thresholds[c] = min(recall_threshold(probs[:, k], truth[:, k], target_recall), 0.99)
            how[c] = "category"
        else:
            thresholds[c] = min(pooled, 0.99)
            how[c] = "pooled"
        thresholds[c] = max(thresholds[c], 1e-4)
    return thresholds, how


def average_precision(truth: np.ndarray, probs: np.ndarray) -> float:
    """Micro-averaged average precision (0 when there are no positives)."""
    from sklearn.metrics import average_precision_score

    if truth.sum() == 0:
        return 0.0
    return float(average_precision_score(truth.ravel(), probs.ravel()))


def pr_curve_images(truth: np.ndarray, probs: np.ndarray, folder: Path, prefix: str = "") -> list[Path]:
    """One precision-recall curve PNG per category with positives (numbers only, no text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for k, c in enumerate(CATEGORIES):
        if truth[:, k].sum() == 0:
            continue
        precision, recall, _ = precision_recall_curve(truth[:, k], probs[:, k])
        fig, ax = plt.subplots(figsize=(4, 3.2), dpi=80)
        ax.plot(recall, precision, drawstyle="steps-post")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{c} (n+={int(truth[:, k].sum())})", fontsize=9)
        fig.tight_layout()
        path = folder / f"{prefix}pr_{c}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def table_rows(results: Mapping[str, Mapping[str, float]], order: Sequence[str]) -> list[str]:
    """Markdown rows ``| system | P | R | F1 | tp | fp | fn |``."""
    rows = ["| system | precision | recall | F1 | tp | fp | fn |", "|---|---|---|---|---|---|---|"]
    for name in order:
        m = results[name]
        rows.append(
            f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
            f"{m['tp']} | {m['fp']} | {m['fn']} |"
        )
    return rows
