"""An inspection-style report from a scan's flags and, optionally, an audit estimate.

Two kinds of figures, never mixed: the *estimate* (recording rates with design-based
intervals, from ``crimedetect audit estimate``) and the *flags* (what the scan found in every
record: a worklist, not a rate). Flags are streamed, so a year's 300,000 records fit.
Only record ids, categories, counts and scores appear: never record text.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crimedetect import __version__
from crimedetect.contract import FAMILIES, Flag

SECTIONS: tuple[str, ...] = (
    "headline",
    "families",
    "timeliness",
    "n100",
    "cancellations",
    "findings",
    "top-records",
    "method",
)


@dataclass
class FlagSummary:
    """Streaming totals over a scan's flags."""

    records: int = 0
    flagged: int = 0
    disclosed: Counter[str] = field(default_factory=Counter)
    findings: Counter[tuple[str, str]] = field(default_factory=Counter)
    crimes_linked: int = 0
    priorities: list[float] = field(default_factory=list)
    top: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    top_n: int = 25

    def add(self, flag: Flag) -> None:
        """Count one flag; keep it if it is among the ``top_n`` by priority."""
        self.records += 1
        self.crimes_linked += len(flag.crime_ids)
        self.priorities.append(flag.priority)
        for d in flag.disclosed:
            self.disclosed[str(d.category)] += 1
        for f in flag.findings:
            self.findings[(str(f.type), str(f.category))] += f.count
        if flag.findings:
            self.flagged += 1
            item = (flag.priority, -self.records, _top_row(flag))
            if len(self.top) < self.top_n:
                heapq.heappush(self.top, item)
            else:
                heapq.heappushpop(self.top, item)

    def by_type(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (kind, _), n in self.findings.items():
            out[kind] += n
        return out

    def top_rows(self) -> list[dict[str, Any]]:
        return [row for _, _, row in sorted(self.top, key=lambda t: (-t[0], -t[1]))]


def _top_row(flag: Flag) -> dict[str, Any]:
    findings = [
        f"{f.type}: {f.category}"
        + (f" x{f.count}" if f.count > 1 else "")
        + (f" ({f.crime_id})" if f.crime_id else "")
        for f in flag.findings
    ]
    return {
        "record_id": flag.record_id,
        "priority": flag.priority,
        "findings": findings,
        "crime_ids": list(flag.crime_ids),
    }


def summarise_flags(flags: Iterable[Flag], top_n: int = 25) -> FlagSummary:
    """Totals of a scan's flags, with the ``top_n`` flagged records by priority."""
    summary = FlagSummary(top_n=top_n)
    for flag in flags:
        summary.add(flag)
    return summary


def load_estimate(path: Path) -> dict[str, Any]:
    """An estimate written by ``crimedetect audit estimate --out``; checked for its keys."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("design", "valid_estimate", "domains", "confidence"):
        if key not in data:
            raise ValueError(
                f"{path}: {key}: missing; write the file with `crimedetect audit estimate --out`"
            )
    return data


def _family_rows(summary: FlagSummary, estimate: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    names = list(estimate["domains"]) if estimate else ["overall", *FAMILIES]
    for name in names:
        cats = None if name == "overall" else FAMILIES.get(name)
        disclosed = sum(n for c, n in summary.disclosed.items() if cats is None or c in cats)
        unrecorded = sum(
            n for (t, c), n in summary.findings.items() if t == "unrecorded" and (cats is None or c in cats)
        )
        row: dict[str, Any] = {"domain": name, "disclosed": disclosed, "unrecorded_flags": unrecorded}
        est = (estimate or {}).get("domains", {}).get(name) if estimate else None
        if est and est.get("rate") is not None:
            row.update(
                rate=est["rate"],
                low=est["low"],
                high=est["high"],
                crimes=est["crimes"],
                half_width=est["half_width"],
            )
        rows.append(row)
    return rows


def build_context(
    summary: FlagSummary,
    estimate: dict[str, Any] | None,
    *,
    title: str,
    flags_name: str,
    estimate_name: str | None,
) -> dict[str, Any]:
    """Everything the template shows, charts included (as data URIs)."""
    from crimedetect.report import charts

    by_type = summary.by_type()
    headline = None
    if estimate and estimate.get("valid_estimate"):
        overall = next(iter(estimate["domains"].values()))
        if overall.get("rate") is not None:
            headline = {
                "domain": next(iter(estimate["domains"])),
                "rate": overall["rate"],
                "low": overall["low"],
                "high": overall["high"],
                "half_width": overall["half_width"],
                "crimes": overall["crimes"],
                "confidence": estimate["confidence"],
                "u": estimate.get("unrecorded_per_year"),
            }
    families = _family_rows(summary, estimate)
    disclosed_total = sum(summary.disclosed.values())
    unrecorded_total = by_type.get("unrecorded", 0)
    late = by_type.get("late", 0)
    rape_disclosed = summary.disclosed.get("rape", 0)
    context: dict[str, Any] = {
        "title": title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "flags_name": flags_name,
        "estimate_name": estimate_name,
        "sections": SECTIONS,
        "summary": summary,
        "estimate": estimate,
        "headline": headline,
        "indicative_rate": (1 - unrecorded_total / disclosed_total) if disclosed_total else None,
        "families": families,
        "timeliness": {
            "crimes_linked": summary.crimes_linked,
            "late_flags": late,
            "within_24h_share": (1 - late / summary.crimes_linked) if summary.crimes_linked else None,
            "late_audited": (estimate or {}).get("late"),
        },
        "n100": {
            "rape_disclosed": rape_disclosed,
            "n100_missing_flags": by_type.get("n100_missing", 0),
            "n100_missing_audited": (estimate or {}).get("n100_missing"),
        },
        "cancellations": {
            "unsupported_flags": by_type.get("cancellation_unsupported", 0),
            "unsupported_audited": (estimate or {}).get("cancellations_unsupported"),
        },
        "by_type": dict(sorted(by_type.items())),
        "findings_table": sorted(
            ((t, c, n) for (t, c), n in summary.findings.items()), key=lambda r: (-r[2], r[0])
        ),
        "top_rows": summary.top_rows(),
        "charts": {
            "families": charts.families_chart(families),
            "findings": charts.findings_chart(by_type),
            "timeliness": charts.timeliness_chart(summary.crimes_linked, late),
            "priority": charts.priority_chart(summary.priorities),
        },
    }
    return context


def render(context: dict[str, Any]) -> str:
    """The report HTML from the packaged Jinja2 template (``report/templates/report.html.j2``)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("crimedetect.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["pct"] = lambda v, digits=1: "-" if v is None else f"{100 * v:.{digits}f}%"
    env.filters["num"] = lambda v: "-" if v is None else f"{v:,.0f}"
    return env.get_template("report.html.j2").render(**context)


def write_report(
    flags: Iterable[Flag],
    out: Path,
    *,
    estimate: dict[str, Any] | None = None,
    title: str = "Crime recording: inspection-style report",
    flags_name: str = "flags",
    estimate_name: str | None = None,
    top_n: int = 25,
) -> dict[str, Any]:
    """Summarise the flags, render the report to ``out``; returns the context."""
    summary = summarise_flags(flags, top_n=top_n)
    context = build_context(
        summary, estimate, title=title, flags_name=flags_name, estimate_name=estimate_name
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(context), encoding="utf-8")
    return context
