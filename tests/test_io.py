"""Streaming readers and writers: one test per rejection reason, format parity, accounting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimedetect.cli import app
from crimedetect.contract import Record
from crimedetect.io import (
    ContractFileError,
    ContractWriter,
    ReadStats,
    RejectedLines,
    load_all,
    read_contract,
    write_contract,
)


def _entry(text: str = "RP states he slapped her", at: str = "2017-01-04T21:13:00Z") -> dict:
    return {"at": at, "author": "call handler", "text": text}


def _record(record_id: str = "R1", **overrides: object) -> dict:
    data = {"record_id": record_id, "entries": [_entry()]}
    data.update(overrides)
    return data


GOOD = json.dumps(_record("GOOD-1"))

# (reason, field, bad line as bytes)
BAD_LINES = [
    ("invalid_json", "-", b'{"record_id": "R1", "entries": ['),
    ("missing_field", "entries", json.dumps({"record_id": "R1"}).encode()),
    ("missing_field", "record_id", json.dumps({"entries": [_entry()]}).encode()),
    ("bad_time", "entries[0].at", json.dumps(_record(entries=[_entry(at="yesterday")])).encode()),
    ("bad_time", "entries[0].at", json.dumps(_record(entries=[_entry(at="2017-01-04T21:13:00")])).encode()),
    ("empty_text", "entries[0].text", json.dumps(_record(entries=[_entry(text="   ")])).encode()),
    ("no_entries", "entries", json.dumps(_record(entries=[])).encode()),
    ("duplicate_id", "record_id", GOOD.encode()),
    ("line_too_long", "-", json.dumps(_record(entries=[_entry(text="x" * 5000)])).encode()),
    ("undecodable", "-", b'{"record_id": "R\xff\xfe", "entries": []}'),
    ("not_an_object", "-", b"[1, 2, 3]"),
    ("invalid_value", "kind", json.dumps(_record(kind="tweet")).encode()),
]


@pytest.mark.parametrize("reason, field, bad", BAD_LINES, ids=[f"{r}-{f}" for r, f, _ in BAD_LINES])
def test_each_bad_line_is_rejected_with_its_reason(
    tmp_path: Path, reason: str, field: str, bad: bytes
) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(GOOD.encode() + b"\n" + bad + b"\n" + json.dumps(_record("GOOD-2")).encode() + b"\n")
    stats = ReadStats(str(path))
    with RejectedLines(tmp_path / "rejected.jsonl") as sink:
        accepted = list(read_contract(path, rejected=sink, stats=stats, max_line_bytes=4096))
    assert [r.record_id for r in accepted] == ["GOOD-1", "GOOD-2"]  # the run goes on after the bad line
    assert (stats.read, stats.accepted, stats.rejected) == (3, 2, 1)
    assert stats.balanced
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == 1
    assert rejected[0]["reason"] == reason
    assert rejected[0]["line"] == 2
    assert rejected[0]["field"] == field
    assert rejected[0]["file"] == str(path)


def test_unknown_category_in_crimes(tmp_path: Path) -> None:
    path = tmp_path / "crimes.jsonl"
    path.write_text(json.dumps({"crime_id": "C1", "category": "shoplifting"}) + "\n")
    stats = ReadStats(str(path))
    assert list(read_contract(path, stats=stats)) == []
    assert stats.reasons == {"unknown_category": 1}
    assert stats.first_errors[0].field == "category"


def test_blank_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(GOOD + "\n\n")
    stats = ReadStats(str(path))
    assert len(list(read_contract(path, stats=stats))) == 1
    assert stats.read == 2 and stats.rejected == 1 and stats.balanced


def test_over_long_line_is_skipped_without_losing_the_next(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    huge = json.dumps(_record("BIG", entries=[_entry(text="y" * 3_000_000)]))
    path.write_text(huge + "\n" + GOOD + "\n")
    stats = ReadStats(str(path))
    accepted = list(read_contract(path, stats=stats, max_line_bytes=1_000_000))
    assert [r.record_id for r in accepted] == ["GOOD-1"]
    assert stats.reasons == {"line_too_long": 1}


def test_unknown_fields_survive_a_write_and_read(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    write_contract(path, [Record.model_validate(_record(force_code="EA"))], kind="records")
    (again,) = load_all(path)
    assert again.to_json_dict()["force_code"] == "EA"


@pytest.fixture
def records() -> list[Record]:
    return [
        Record.model_validate(
            _record(
                f"R{i}",
                kind="safeguarding" if i % 2 else "incident",
                linked_record_ids=[f"R{i - 1}"] if i else [],
                entries=[
                    _entry(f'entry {i}, with "quotes", commas\nand a newline'),
                    _entry("second", at="2017-01-05T10:00:00+01:00"),
                ],
                extra_field=i,
            )
        )
        for i in range(25)
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_formats_give_the_same_records(tmp_path: Path, records: list[Record], suffix: str) -> None:
    path = tmp_path / f"records{suffix}"
    with ContractWriter(path, "records", batch_size=7) as writer:
        writer.write_all(records)
    assert writer.count == len(records)
    again = load_all(path)
    assert [r.to_json_dict() for r in again] == [r.to_json_dict() for r in records]


def test_csv_bad_nested_json_is_rejected_with_field(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(
        'record_id,entries\nR1,"[{not json"\nR2,"[{""at"": ""2017-01-04T21:13:00Z"", ""text"": ""hi""}]"\n'
    )
    stats = ReadStats(str(path))
    accepted = list(read_contract(path, stats=stats))
    assert [r.record_id for r in accepted] == ["R2"]
    assert stats.first_errors[0].field == "entries" and stats.first_errors[0].reason == "invalid_json"
    assert stats.first_errors[0].line == 2


def test_unknown_format_and_kind(tmp_path: Path) -> None:
    (tmp_path / "records.txt").write_text("x")
    with pytest.raises(ContractFileError, match="unknown file format"):
        list(read_contract(tmp_path / "records.txt"))
    (tmp_path / "stuff.jsonl").write_text(GOOD)
    with pytest.raises(ContractFileError, match="--kind"):
        list(read_contract(tmp_path / "stuff.jsonl"))
    with pytest.raises(ContractFileError, match="no such file"):
        list(read_contract(tmp_path / "missing-records.jsonl"))


@pytest.mark.parametrize("kind", ["records", "crimes", "audits"])
def test_dev_set_validates_cleanly(dev_dir: Path, kind: str) -> None:
    stats = ReadStats(kind)
    items = list(read_contract(dev_dir / f"{kind}.jsonl", stats=stats))
    assert stats.rejected == 0, stats.first_errors
    assert len(items) == stats.read > 0


runner = CliRunner()


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "records.jsonl"
    good.write_text(GOOD + "\n")
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0

    bad = tmp_path / "bad-records.jsonl"
    bad.write_text(GOOD + "\n{oops\n")
    rejected = tmp_path / "rejected.jsonl"
    result = runner.invoke(app, ["validate", str(bad), "--rejected", str(rejected)])
    assert result.exit_code == 1
    assert "invalid_json" in result.output
    assert json.loads(rejected.read_text())["line"] == 2

    assert runner.invoke(app, ["validate", str(tmp_path / "nope.jsonl")]).exit_code == 2
    assert runner.invoke(app, ["validate", "--no-such-option"]).exit_code == 2


def test_cli_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).output.startswith("crimedetect ")
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0 and "--rejected" in result.output
