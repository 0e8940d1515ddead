"""Regression cases for every qualifier and judgement, from tests/data/rules_regression.yaml.

Gold evidence is marked inline with [[...]]; cases the rules get wrong carry
``known_failure`` and run as strict xfails, so a fix is noticed and the list stays honest.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from crimedetect.contract import Record
from crimedetect.rules import RuleDetector

CASES_FILE = Path(__file__).parent / "data" / "rules_regression.yaml"
MARK = re.compile(r"\[\[(.+?)\]\]")


def _cases() -> list[Any]:
    data = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    params = []
    for case in data["cases"]:
        marks = (
            [pytest.mark.xfail(reason=case["known_failure"], strict=True)]
            if case.get("known_failure")
            else []
        )
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def _strip(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without [[ ]] and the character spans of the marked words."""
    spans: list[tuple[int, int]] = []
    out = ""
    last = 0
    for match in MARK.finditer(text):
        out += text[last : match.start()]
        spans.append((len(out), len(out) + len(match.group(1))))
        out += match.group(1)
        last = match.end()
    return out + text[last:], spans


@pytest.fixture(scope="module")
def detector() -> RuleDetector:
    return RuleDetector()


@pytest.mark.parametrize("case", _cases())
def test_regression_case(case: dict[str, Any], detector: RuleDetector) -> None:
    texts, gold = zip(*(_strip(t) for t in case["entries"]), strict=True)
    record = Record.model_validate(
        {
            "record_id": f"REG-{case['id']}",
            "entries": [{"at": f"2017-06-01T1{i}:00:00Z", "text": text} for i, text in enumerate(texts)],
        }
    )
    disclosures = detector.detect([record])[0]
    assert sorted(str(d.category) for d in disclosures) == sorted(case["expect"])
    for entry, spans in enumerate(gold):
        for start, end in spans:
            assert any(
                ev.entry == entry and ev.start < end and start < ev.end
                for d in disclosures
                for ev in d.evidence
            ) or any(  # cues (injury words) are evidence of the judgement, shown by explain
                c.entry == entry and c.start < end and start < c.end for c in detector.trace([record])[0].cues
            ), f"gold evidence {texts[entry][start:end]!r} not covered"
    for cue in case.get("cues", []):
        assert any(cue in (d.model_extra or {}).get("cues", []) for d in disclosures), f"cue {cue} missing"
    if "victims" in case:
        assert sorted(str(d.victim) for d in disclosures) == sorted(case["victims"])
    if "first_entry" in case:  # where each disclosure's 24-hour clock starts
        assert sorted((d.model_extra or {}).get("first_entry") for d in disclosures) == case["first_entry"]
    for cue in case.get("absent_cues", []):
        assert not any(cue in (d.model_extra or {}).get("cues", []) for d in disclosures), (
            f"cue {cue} present"
        )
