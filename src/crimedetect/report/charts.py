"""Report charts as inline PNG data URIs (matplotlib, Agg; imported when drawn)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _data_uri(fig: Any) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def families_chart(rows: Sequence[Mapping[str, Any]]) -> str:
    """Recording rate by domain with intervals (estimate), else unrecorded flags by domain."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    with_rate = [r for r in rows if r.get("rate") is not None]
    if with_rate:
        names = [r["domain"] for r in with_rate]
        rates = [100 * r["rate"] for r in with_rate]
        errors = [
            [100 * (r["rate"] - r["low"]) for r in with_rate],
            [100 * (r["high"] - r["rate"]) for r in with_rate],
        ]
        ax.barh(names, rates, xerr=errors, capsize=4, color="#4a7ab7")
        ax.set_xlim(0, 100)
        ax.set_xlabel("recording rate, % (95% interval)")
        ax.invert_yaxis()
    else:
        names = [r["domain"] for r in rows]
        ax.barh(names, [r["unrecorded_flags"] for r in rows], color="#c8553d")
        ax.set_xlabel("unrecorded crimes flagged (no audit estimate)")
        ax.invert_yaxis()
    ax.set_title("By offence family")
    return _data_uri(fig)


def findings_chart(by_type: Mapping[str, int]) -> str:
    """Findings by type."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    names = list(by_type) or ["(none)"]
    ax.barh(names, [by_type[n] for n in by_type] or [0], color="#c8553d")
    ax.set_xlabel("crimes flagged")
    ax.set_title("Findings by type")
    ax.invert_yaxis()
    return _data_uri(fig)


def timeliness_chart(linked: int, late: int) -> str:
    """Crime records linked to scanned records: flagged late vs not."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.barh(["crimes"], [max(linked - late, 0)], color="#4a7ab7", label="not flagged late")
    ax.barh(["crimes"], [late], left=[max(linked - late, 0)], color="#c8553d", label="flagged late (>24h)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("crime records linked to scanned records")
    ax.set_title("Timeliness")
    return _data_uri(fig)


def priority_chart(priorities: Sequence[float]) -> str:
    """Histogram of record priorities (log scale: most records score 0)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.4))
    ax.hist(list(priorities) or [0.0], bins=20, range=(0, 1), color="#777777")
    ax.set_yscale("log")
    ax.set_xlabel("priority")
    ax.set_ylabel("records")
    ax.set_title("Review priority of scanned records")
    return _data_uri(fig)
