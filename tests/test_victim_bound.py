"""training/victim_bound.py: the upper bound of perfect victims on a finished scan."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from crimedetect.contract import Audit
from crimedetect.reconcile import reconcile
from test_reconcile import crime, disclosure, make_record

RECORD = make_record(("2017-01-04T21:13:00Z", "He punched Amy LEE and Kim WU in the street."))
AUDIT = Audit.model_validate(
    {
        "record_id": "INC-1",
        "auditor": "A1",
        "audited_at": "2017-02-01T10:00:00Z",
        "crimes": [
            {
                "category": "violence_without_injury",
                "victim": "Amy LEE",
                "evidence": "punched Amy LEE",
                "crime_id": "C1",
            },
            {
                "category": "violence_without_injury",
                "victim": "Kim WU",
                "evidence": "Kim WU",
                "crime_id": None,
            },
        ],
        "n100_required": False,
    }
)
RECORDED = [crime("C1", "violence_without_injury", victim="Amy LEE")]


def _script():  # noqa: ANN202  (the module)
    path = Path(__file__).parents[1] / "training" / "victim_bound.py"
    spec = importlib.util.spec_from_file_location("victim_bound", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("by", "rule_only", "model_only"),
    [(["rules"], (1, 1, 1), (0, 0, 1)), (["model"], (0, 0, 1), (1, 1, 1))],
)
def test_one_victim_found_of_two_is_a_missed_crime_that_perfect_victims_recover(
    by: list[str], rule_only: tuple[int, int, int], model_only: tuple[int, int, int]
) -> None:
    """The scan found the assault for Amy only, whose crime was recorded: Kim's unrecorded crime is
    missed. The audit's own victims recover it, credited to where the category came from."""
    found = disclosure("violence_without_injury", "Amy LEE" if by == ["rules"] else None).model_copy(
        update={"by": by}
    )
    flag = reconcile(RECORD, [found], RECORDED)
    rows = _script().bound([flag], [RECORD], RECORDED, [AUDIT])
    assert rows["the scan"] == (0, 0, 1)
    assert rows["perfect victims"] == (1, 1, 1)
    assert rows["perfect victims, rule categories only"] == rule_only
    assert rows["perfect victims, model-only categories only"] == model_only


def test_a_category_the_audit_lacks_keeps_the_scans_disclosures() -> None:
    """A false category stays false under perfect victims: the bound fixes victims, not categories."""
    theft = disclosure("theft", "Amy LEE")
    flag = reconcile(RECORD, [theft], RECORDED)
    rows = _script().bound([flag], [RECORD], RECORDED, [AUDIT])
    assert rows["the scan"] == rows["perfect victims"] == (0, 1, 1)
