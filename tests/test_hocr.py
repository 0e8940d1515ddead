"""The HOCR data files: code table and counting rules by edition."""

from __future__ import annotations

from datetime import date

import pytest

from crimedetect.contract import CATEGORIES
from crimedetect.hocr import category_for_code, counting_edition, offence_codes, severity_rank


@pytest.mark.parametrize(
    "code, category",
    [
        ("105A", "violence_without_injury"),
        ("8N", "violence_with_injury"),
        ("5D", "violence_with_injury"),
        ("8L", "stalking_harassment"),
        ("8Q", "stalking_harassment"),
        ("8R", "stalking_harassment"),
        ("19C", "rape"),
        ("34B", "robbery"),
        ("39", "theft"),
        ("9A", "public_order"),
        ("106", "modern_slavery"),
    ],
)
def test_published_codes_map_to_their_category(code: str, category: str) -> None:
    assert category_for_code(code) == category
    assert category_for_code(code.lower()) == category


def test_every_row_is_a_contract_category_and_cites_a_source() -> None:
    rows = offence_codes()
    assert len(rows) > 60
    for row in rows.values():
        assert row.category in CATEGORIES, row
        assert row.source.strip(), row


def test_unknown_code() -> None:
    assert category_for_code("ZZ9") is None


def test_severity_ranks_every_category_once() -> None:
    ranks = sorted(severity_rank(c) for c in CATEGORIES)
    assert ranks == list(range(12))
    assert (
        severity_rank("rape")
        < severity_rank("violence_with_injury")
        < severity_rank("violence_without_injury")
    )
    assert severity_rank("robbery") < severity_rank(
        "violence_with_injury"
    )  # injury in a robbery is the robbery


@pytest.mark.parametrize(
    "day, edition, hours",
    [
        (date(2015, 3, 31), "2014/15", 72),
        (date(2015, 4, 1), "2015/16", 24),
        (date(2017, 1, 4), "2016/17", 24),
        (date(2017, 4, 1), "2017/18", 24),
    ],
)
def test_edition_chosen_by_date(day: date, edition: str, hours: int) -> None:
    chosen = counting_edition(day)
    assert chosen.edition == edition
    assert chosen.timeliness_hours == hours
