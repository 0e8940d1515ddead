"""The inspection-style report: every section renders, with and without an estimate; no text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimedetect.cli import app
from crimedetect.contract import Flag
from crimedetect.io import write_contract
from crimedetect.report import SECTIONS, load_estimate, summarise_flags, write_report

SECRET = "she said he held a knife to her throat"


def _flags() -> list[Flag]:
    evidence = [{"entry": 0, "start": 0, "end": len(SECRET), "text": SECRET}]
    out = []
    for i in range(40):
        findings = []
        disclosed = []
        if i % 4 == 0:
            disclosed.append({"category": "violence_with_injury", "score": 0.8, "evidence": evidence})
            findings.append(
                {
                    "type": "unrecorded",
                    "category": "violence_with_injury",
                    "count": 1 + i % 3,
                    "score": 0.8,
                    "detail": SECRET,
                }
            )
        if i % 10 == 0:
            disclosed.append({"category": "rape", "score": 0.7, "evidence": evidence})
            findings.append({"type": "n100_missing", "category": "rape", "score": 0.7})
        if i % 7 == 0:
            findings.append({"type": "late", "category": "theft", "score": 0.5, "crime_id": f"C{i}"})
        if i == 13:
            findings.append(
                {"type": "cancellation_unsupported", "category": "robbery", "score": 0.6, "crime_id": "C13"}
            )
        out.append(
            Flag(
                record_id=f"R{i:03d}",
                priority=round(i / 40, 3) if findings else 0.0,
                disclosed=disclosed,
                findings=findings,
                crime_ids=[f"C{i}"] if i % 2 else [],
            )
        )
    return out


ESTIMATE = {
    "design": "stratified",
    "valid_estimate": True,
    "population": 40,
    "sample_size": 20,
    "audited": 20,
    "not_audited": [],
    "confidence": 0.95,
    "domains": {
        "overall": {"rate": 0.758, "low": 0.7386, "high": 0.7774, "half_width": 0.0194, "crimes": 500},
        "violence": {"rate": 0.658, "low": 0.6255, "high": 0.6905, "half_width": 0.0325, "crimes": 300},
        "sexual_offences": {"rate": 0.794, "low": 0.7605, "high": 0.8275, "half_width": 0.0335, "crimes": 90},
        "rape": {"rate": None, "low": None, "high": None, "half_width": None, "crimes": 0},
    },
    "unrecorded_found": 50,
    "unrecorded_found_per_100": 25.0,
    "unrecorded_per_year": {
        "recorded_crimes_12m": 66400,
        "estimate": 21200.2,
        "low": 18991.0,
        "high": 23522.0,
    },
    "cancellations_unsupported": 2,
    "late": 7,
    "misclassified": 3,
    "n100_missing": 1,
    "notes": ["a note"],
}


def _sections(html: str) -> dict[str, str]:
    return {
        m.group(1): m.group(2) for m in re.finditer(r'<section id="([\w-]+)">(.*?)</section>', html, re.S)
    }


def test_report_with_estimate_renders_every_section(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    context = write_report(_flags(), out, estimate=ESTIMATE, top_n=5)
    html = out.read_text()
    sections = _sections(html)
    assert list(sections) == list(SECTIONS)
    assert all(len(re.sub(r"<[^>]+>", "", body).strip()) > 20 for body in sections.values())
    assert "75.8% &plusmn;1.94" in sections["headline"]
    assert "21,200" in sections["headline"]
    assert "65.8%" in sections["families"] and "62.5% &ndash; 69.0%" in sections["families"]
    assert "recorded late" in sections["timeliness"]
    assert html.count("data:image/png;base64,") == 4  # self-contained: charts inline
    assert 'src="http' not in html and "<link" not in html
    # Top records by priority (ids only), highest first.
    top = re.findall(r"<td>(R\d{3})</td>", sections["top-records"])
    assert top == ["R036", "R035", "R032", "R030", "R028"]
    assert context["n100"]["n100_missing_flags"] == 4
    assert context["cancellations"]["unsupported_flags"] == 1
    assert SECRET not in html


def test_report_without_estimate_is_labelled_indicative(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(_flags(), out)
    sections = _sections(out.read_text())
    assert list(sections) == list(SECTIONS)
    assert "No recording-rate estimate" in sections["headline"]
    assert "Indicative only" in sections["headline"]
    priority_estimate = dict(ESTIMATE, design="priority", valid_estimate=False)
    write_report(_flags(), out, estimate=priority_estimate)
    assert "gives no valid population estimate" in _sections(out.read_text())["headline"]


def test_report_of_an_empty_scan_renders(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report([Flag(record_id="R1", priority=0.0)], out)
    sections = _sections(out.read_text())
    assert list(sections) == list(SECTIONS)
    assert "No flagged records." in sections["top-records"]


def test_summary_counts() -> None:
    summary = summarise_flags(_flags(), top_n=3)
    assert summary.records == 40
    assert summary.by_type()["unrecorded"] == sum(1 + i % 3 for i in range(0, 40, 4))
    assert [row["record_id"] for row in summary.top_rows()] == ["R036", "R035", "R032"]


def test_cli_report(tmp_path: Path) -> None:
    write_contract(tmp_path / "flags.jsonl", _flags())
    (tmp_path / "estimate.json").write_text(json.dumps(ESTIMATE))
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--flags",
            str(tmp_path / "flags.jsonl"),
            "--estimate",
            str(tmp_path / "estimate.json"),
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert list(_sections((tmp_path / "r.html").read_text())) == list(SECTIONS)
    (tmp_path / "bad.json").write_text(json.dumps({"design": "srs"}))
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--flags",
            str(tmp_path / "flags.jsonl"),
            "--estimate",
            str(tmp_path / "bad.json"),
            "--out",
            str(tmp_path / "r2.html"),
        ],
    )
    assert result.exit_code == 2 and "valid_estimate" in result.output
    with pytest.raises(ValueError, match="domains"):
        (tmp_path / "bad2.json").write_text(
            json.dumps({"design": "srs", "valid_estimate": True, "confidence": 0.95})
        )
        load_estimate(tmp_path / "bad2.json")
