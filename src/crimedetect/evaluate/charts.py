"""PNG charts of an evaluation: reliability diagram, PR curves, category confusion, F1 by group.

matplotlib is imported when a chart is drawn (Agg backend, no display), never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crimedetect.evaluate.core import Evaluation


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def reliability_chart(evaluation: Evaluation, path: Path) -> Path:
    """Observed rate against mean score per score bin, for disclosures and findings."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, cal in evaluation.calibration.items():
        pairs = [
            (s, o, c) for s, o, c in zip(cal["mean_score"], cal["observed"], cal["count"], strict=True) if c
        ]
        if pairs:
            xs, ys, counts = zip(*pairs, strict=True)
            ax.plot(xs, ys, marker="o", label=f"{name} (ECE {cal['ece']:.3f}, n={sum(counts)})")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("share correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pr_chart(evaluation: Evaluation, path: Path) -> Path:
    """Record-level precision-recall curves per finding type and for the priority score."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    drawn = 0
    for name, curve in evaluation.pr_curves.items():
        if curve["average_precision"] is None:
            continue
        ax.step(
            curve["recall"],
            curve["precision"],
            where="post",
            label=f"{name} (AP {curve['average_precision']:.2f}, {curve['positives']} pos.)",
        )
        drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "no finding type has both positive and negative records", ha="center")
    ax.set_xlabel("recall (records)")
    ax.set_ylabel("precision (records)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision-recall by finding type")
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def confusion_chart(evaluation: Evaluation, path: Path) -> Path:
    """Audit category (rows) against disclosed category (columns), counts in cells."""
    plt = _pyplot()
    labels, matrix = evaluation.confusion_labels, evaluation.confusion
    keep = [i for i in range(len(labels)) if matrix[i, :].sum() or matrix[:, i].sum()] or [len(labels) - 1]
    sub = matrix[keep][:, keep]
    names = [labels[i] for i in keep]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(keep), 1.0 + 0.5 * len(keep)))
    ax.imshow(sub, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for r in range(len(names)):
        for c in range(len(names)):
            if sub[r, c]:
                ax.text(
                    c,
                    r,
                    str(sub[r, c]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if sub[r, c] > sub.max() / 2 else "black",
                )
    ax.set_ylabel("audit category")
    ax.set_xlabel("disclosed category")
    ax.set_title("Category confusion (disclosures vs audit)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def f1_chart(evaluation: Evaluation, path: Path, level: str = "crime") -> Path:
    """F1 with its 95% bootstrap interval for each finding type."""
    plt = _pyplot()
    rows = [
        r for r in evaluation.rows if r.level == level and r.group.startswith("type:") and (r.support or r.fp)
    ]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * max(len(rows), 1)))
    for i, row in enumerate(rows):
        value = row.values["f1"]
        low, high = row.intervals.get("f1", (value, value))
        ax.errorbar([value], [i], xerr=[[value - low], [high - value]], fmt="o", capsize=3)
    ax.set_yticks(range(len(rows)), [r.group.split(":", 1)[1] for r in rows])
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"F1 ({level} level, 95% bootstrap interval)")
    ax.set_title("F1 by finding type")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def draw_all(evaluation: Evaluation, folder: Path) -> list[Path]:
    """Every chart, written as PNG into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        reliability_chart(evaluation, folder / "reliability.png"),
        pr_chart(evaluation, folder / "pr_curves.png"),
        confusion_chart(evaluation, folder / "category_confusion.png"),
        f1_chart(evaluation, folder / "f1_by_type.png"),
    ]
