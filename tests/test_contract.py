"""The data contract as pydantic models: round trips, zones, extras, code table."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from crimedetect.contract import (
    CATEGORIES,
    Audit,
    Crime,
    Disclosure,
    Entry,
    Evidence,
    Finding,
    Flag,
    Record,
)

EXAMPLES = {
    Record: {
        "record_id": "INC-20170104-0113",
        "kind": "incident",
        "opened_at": "2017-01-04T21:13:00Z",
        "opening_code": "DOMESTIC",
        "closing_code": "DOMESTIC - NO CRIME",
        "linked_record_ids": ["INC-2"],
        "entries": [
            {"at": "2017-01-04T21:13:00Z", "author": "call handler", "text": "RP states ex-partner..."},
            {"at": "2017-01-04T22:40:00+01:00", "author": "PC 2231", "text": "Attended. IP has red mark"},
        ],
    },
    Crime: {
        "crime_id": "CR-17-004567",
        "record_ids": ["INC-20170104-0113"],
        "category": "violence_without_injury",
        "offence_code": "105A",
        "victim": "Kelly MORRIS",
        "recorded_at": "2017-01-05T09:02:00Z",
        "status": "recorded",
        "cancellation_reason": None,
    },
    Audit: {
        "record_id": "INC-20170104-0113",
        "auditor": "A7",
        "audited_at": "2017-03-01T10:00:00Z",
        "crimes": [
            {
                "category": "violence_without_injury",
                "victim": "Kelly MORRIS",
                "evidence": "he slapped me across the face",
                "crime_id": "CR-17-004567",
            },
            {
                "category": "stalking_harassment",
                "victim": "Kelly MORRIS",
                "evidence": "has sent over 40 texts",
                "crime_id": None,
            },
        ],
        "n100_required": False,
        "notes": "harassment disclosed in second entry, not recorded",
    },
    Flag: {
        "record_id": "INC-20170104-0113",
        "disclosed": [
            {
                "category": "stalking_harassment",
                "victim": "Kelly MORRIS",
                "score": 0.91,
                "by": ["rules", "model"],
                "evidence": [{"entry": 0, "start": 41, "end": 86, "text": "has sent over 40 texts"}],
                "rule_ids": ["harassment.texts"],
            },
        ],
        "crime_ids": ["CR-17-004567"],
        "findings": [
            {
                "type": "unrecorded",
                "category": "stalking_harassment",
                "count": 1,
                "score": 0.91,
                "detail": "harassment disclosed at 21:13, no matching crime record",
            },
        ],
        "priority": 0.91,
    },
}


@pytest.mark.parametrize("model", list(EXAMPLES))
def test_round_trip_through_json(model: type) -> None:
    original = model.model_validate(EXAMPLES[model])
    text = json.dumps(original.to_json_dict())
    again = model.model_validate(json.loads(text))
    assert again == original
    assert again.to_json_dict() == original.to_json_dict()


def test_times_keep_their_zone() -> None:
    record = Record.model_validate(EXAMPLES[Record])
    dumped = record.to_json_dict()
    assert dumped["entries"][0]["at"] == "2017-01-04T21:13:00Z"
    assert dumped["entries"][1]["at"] == "2017-01-04T22:40:00+01:00"
    assert record.entries[1].at.utcoffset() == timedelta(hours=1)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="zone"):
        Entry.model_validate({"at": "2017-01-04T21:13:00", "text": "x"})


def test_unknown_fields_are_kept() -> None:
    data = dict(EXAMPLES[Record], force="Eastshire", custom={"a": 1})
    record = Record.model_validate(data)
    assert record.to_json_dict()["force"] == "Eastshire"
    assert record.to_json_dict()["custom"] == {"a": 1}


def test_opened_at_defaults_to_first_entry() -> None:
    data = {k: v for k, v in EXAMPLES[Record].items() if k != "opened_at"}
    assert Record.model_validate(data).opened_at == Record.model_validate(EXAMPLES[Record]).entries[0].at


def test_entries_out_of_order_are_reported() -> None:
    data = dict(EXAMPLES[Record])
    data["entries"] = [
        {"at": "2017-01-05T10:00:00Z", "text": "later"},
        {"at": "2017-01-04T10:00:00Z", "text": "earlier"},
    ]
    assert Record.model_validate(data).entries_out_of_order() == [1]


def test_crime_category_comes_from_code_when_absent() -> None:
    crime = Crime.model_validate({"crime_id": "C1", "offence_code": "8n"})
    assert crime.offence_code == "8N"
    assert crime.resolved_category == "violence_with_injury"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"crime_id": "C1"}, "category or an offence_code"),
        ({"crime_id": "C1", "offence_code": "ZZ9"}, "not in resources/hocr_codes.csv"),
        ({"crime_id": "C1", "category": "shoplifting"}, "category"),
        ({"crime_id": "C1", "category": "theft", "status": "binned"}, "status"),
    ],
)
def test_bad_crimes_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Crime.model_validate(data)


def test_unknown_code_is_kept_when_category_given() -> None:
    crime = Crime.model_validate({"crime_id": "C1", "offence_code": "ZZ9", "category": "theft"})
    assert crime.resolved_category == "theft"


def test_score_and_span_bounds() -> None:
    with pytest.raises(ValidationError):
        Disclosure.model_validate({"category": "theft", "score": 1.5})
    with pytest.raises(ValidationError):
        Evidence.model_validate({"entry": 0, "start": 10, "end": 5, "text": ""})
    with pytest.raises(ValidationError):
        Finding.model_validate({"type": "forgotten", "category": "theft", "score": 0.5})


def test_twelve_categories() -> None:
    assert len(CATEGORIES) == 12
    assert "violence_with_injury" in CATEGORIES and "other_notifiable" in CATEGORIES


def test_defaults_are_plain_values_like_given_ones() -> None:
    record = Record.model_validate(
        {"record_id": "R", "entries": [{"at": "2017-01-04T21:13:00Z", "text": "x"}]}
    )
    crime = Crime.model_validate({"crime_id": "C", "category": "theft"})
    assert record.kind == "incident" and type(record.kind) is str
    assert crime.status == "recorded" and str(crime.status) == "recorded"
