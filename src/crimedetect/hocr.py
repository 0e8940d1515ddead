"""HOCR data: the offence-code table (``resources/hocr_codes.csv``: code -> category, each row
citing its source) and the counting-rule settings by edition (``resources/counting_rules.yaml``).

Both are data an analyst can edit; this module only loads them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class OffenceCode:
    code: str
    category: str
    offence: str
    source: str


@lru_cache(maxsize=1)
def offence_codes() -> dict[str, OffenceCode]:
    """All rows of the code table, keyed by upper-case code."""
    path = resources.files("crimedetect") / "resources" / "hocr_codes.csv"
    with path.open(encoding="utf-8") as handle:
        rows = [OffenceCode(**row) for row in csv.DictReader(handle)]
    return {row.code.upper(): row for row in rows}


def category_for_code(code: str) -> str | None:
    """The contract category for an HOCR code, or None if the table lacks it."""
    row = offence_codes().get(code.strip().upper())
    return row.category if row else None


@dataclass(frozen=True)
class CountingEdition:
    """The counting-rule settings of one HOCR edition (financial year)."""

    edition: str
    starts: date
    timeliness_hours: int
    counted_in_addition: tuple[str, ...]


@lru_cache(maxsize=1)
def _counting_rules() -> dict[str, Any]:
    path = resources.files("crimedetect") / "resources" / "counting_rules.yaml"
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    editions = sorted(
        (
            CountingEdition(
                edition=str(e["edition"]),
                starts=e["starts"],
                timeliness_hours=int(e["timeliness_hours"]),
                counted_in_addition=tuple(e.get("counted_in_addition", [])),
            )
            for e in data["editions"]
        ),
        key=lambda e: e.starts,
    )
    return {"severity": list(data["severity"]), "editions": editions}


def severity_rank(category: str) -> int:
    """0 for the most serious category (rape); larger is less serious."""
    return _counting_rules()["severity"].index(category)


def counting_edition(when: date | datetime) -> CountingEdition:
    """The edition in force on a date; the earliest edition for dates before all of them."""
    day = when.date() if isinstance(when, datetime) else when
    editions: list[CountingEdition] = _counting_rules()["editions"]
    chosen = editions[0]
    for edition in editions:
        if edition.starts <= day:
            chosen = edition
    return chosen
