"""The scan engine and CLI: accounting, order, workers, resume, worklist, problems.

A small keyword detector stands in for the rules here so these tests exercise the engine
alone; it is a module-level class so worker processes can unpickle it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimedetect.contract import Disclosure, Evidence, Record
from crimedetect.detect import Detector, Pipeline
from crimedetect.scan import KeywordBaselineDetector, ScanError, run_scan, scan_records


class KeywordDetector:
    """One disclosure per category whose keyword appears; evidence at the first hit."""

    name = "keywords"
    version = "keywords-test-1"
    PATTERNS = {
        "violence_with_injury": r"\b(punched|bruis\w*|swelling)\b",
        "stalking_harassment": r"\b(texts|messages)\b",
        "theft": r"\b(stole|stolen)\b",
    }

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        self.calls += 1
        out = []
        for record in records:
            found = []
            for category, pattern in self.PATTERNS.items():
                for i, entry in enumerate(record.entries):
                    match = re.search(pattern, entry.text, re.IGNORECASE)
                    if match:
                        found.append(
                            Disclosure(
                                category=category,
                                score=0.9,
                                by=["rules"],
                                evidence=[
                                    Evidence(
                                        entry=i, start=match.start(), end=match.end(), text=match.group()
                                    )
                                ],
                                first_entry=i,
                            )
                        )
                        break
            out.append(found)
        return out


class FakeBundle:
    """Stands in for a ModelBundle: adds a model-only theft disclosure where the text says 'bag'."""

    version = "fake-model-7"

    def predict(self, records: Sequence[Record]) -> list[dict]:
        return [{"theft": 0.8 if "bag" in " ".join(e.text for e in r.entries) else 0.1} for r in records]

    def combine(self, records, rule_disclosures, predictions, folds_into=None):
        out = []
        for found, probs in zip(rule_disclosures, predictions, strict=True):
            found = list(found)
            if probs["theft"] > 0.5 and not any(d.category == "theft" for d in found):
                found.append(
                    Disclosure(category="theft", score=probs["theft"], by=["model"], model_score=0.8)
                )
            out.append(found)
        return out


def entry(at: str, text: str) -> dict:
    return {"at": at, "author": "PC 1", "text": text}


def write_jsonl(path: Path, rows: list) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    records = []
    for i in range(12):
        text = [
            "He punched her, swelling to eye.",
            "Quiet night.",
            "Ex keeps sending texts.",
            "Phone stolen.",
        ][i % 4]
        records.append(
            {
                "record_id": f"INC-{i:03d}",
                "entries": [
                    entry(f"2017-03-{i + 1:02d}T10:00:00Z", "Call received."),
                    entry(f"2017-03-{i + 1:02d}T11:00:00Z", text),
                ],
            }
        )
    records[5]["entries"].append(
        entry("2017-03-01T09:00:00Z", "written before the entry above")
    )  # out of order
    records[7]["entries"][1]["text"] = "bag taken. " + "x" * 120_000  # huge entry
    lines: list = (
        records[:3]
        + ['{"record_id": "BROKEN", "entries": [', {"record_id": "EMPTY", "entries": []}]
        + records[3:]
    )
    crimes = [
        {
            "crime_id": "C0",
            "record_ids": ["INC-000"],
            "category": "violence_with_injury",
            "recorded_at": "2017-03-01T12:00:00Z",
        },
        {
            "crime_id": "C4",
            "record_ids": ["INC-004"],
            "category": "violence_without_injury",
            "recorded_at": "2017-03-05T12:00:00Z",
        },
        {"crime_id": "C4", "record_ids": ["INC-004"], "category": "theft"},  # duplicate id
        {"crime_id": "C9", "record_ids": ["INC-999"], "category": "theft"},  # unknown record
        {
            "crime_id": "C3",
            "record_ids": ["INC-003"],
            "category": "theft",
            "status": "cancelled",
            "cancellation_reason": "victim uncontactable",
        },
    ]
    return write_jsonl(tmp_path / "records.jsonl", lines), write_jsonl(tmp_path / "crimes.jsonl", crimes)


def scan(inputs: tuple[Path, Path], out: Path, **kwargs) -> object:
    kwargs.setdefault("pipeline", Pipeline(KeywordDetector()))
    return run_scan(inputs[0], inputs[1], out, **kwargs)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_one_flag_per_accepted_record_in_order_and_counts_add_up(inputs, tmp_path: Path) -> None:
    out = tmp_path / "out" / "flags.jsonl"
    summary = scan(inputs, out, top=3)
    flags = read_lines(out)
    assert [f["record_id"] for f in flags] == [f"INC-{i:03d}" for i in range(12)]
    assert summary.records.read == 14 and summary.records.rejected == 2 and summary.written == 12
    assert summary.balanced
    rejected = read_lines(out.with_name("flags.rejected.jsonl"))
    reasons = {(r["file"].split("/")[-1], r["line"], r["reason"]) for r in rejected}
    assert ("records.jsonl", 4, "invalid_json") in reasons
    assert ("records.jsonl", 5, "no_entries") in reasons
    assert ("crimes.jsonl", 3, "duplicate_id") in reasons
    # Findings: INC-000 recorded (no finding), INC-004 misclassified, INC-003 cancellation, INC-001 none.
    by_id = {f["record_id"]: f for f in flags}
    assert by_id["INC-000"]["findings"] == []
    assert [(f["type"], f["crime_id"]) for f in by_id["INC-004"]["findings"]] == [("misclassified", "C4")]
    assert {f["type"] for f in by_id["INC-003"]["findings"]} == {"cancellation_unsupported"}
    assert by_id["INC-008"]["findings"][0]["type"] == "unrecorded"
    assert by_id["INC-001"]["findings"] == [] and by_id["INC-001"]["priority"] < by_id["INC-008"]["priority"]
    assert all(f["versions"]["rules"] == "keywords-test-1" and f["versions"]["model"] is None for f in flags)
    # Problems are reported, in the flag and the problems file; nothing is dropped.
    assert by_id["INC-005"]["problems"][0]["problem"] == "entries_out_of_order"
    assert by_id["INC-007"]["problems"][0]["problem"] == "entry_too_long"
    problems = read_lines(out.with_name("flags.problems.jsonl"))
    assert {(p["kind"], p.get("record_id") or p.get("crime_id"), p["problem"]) for p in problems} == {
        ("record", "INC-005", "entries_out_of_order"),
        ("record", "INC-007", "entry_too_long"),
        ("crime", "C9", "unknown_record"),
    }
    # Summary CSV and the worklist.
    rows = list(csv.DictReader(out.with_name("flags.summary.csv").open()))
    metric = {(r["metric"], r["type"], r["category"]): r["value"] for r in rows}
    assert metric[("records_read", "", "")] == "14" and metric[("records_flagged", "", "")] == str(
        summary.flagged
    )
    assert metric[("findings", "unrecorded", "stalking_harassment")] == "3"
    top = list(csv.DictReader(out.with_name("flags.top.csv").open()))
    assert [int(r["rank"]) for r in top] == [1, 2, 3]
    priorities = [float(r["priority"]) for r in top]
    assert priorities == sorted(priorities, reverse=True)
    assert priorities[0] == max(f["priority"] for f in flags)


def test_workers_give_identical_output(inputs, tmp_path: Path) -> None:
    one, two = tmp_path / "one" / "flags.jsonl", tmp_path / "two" / "flags.jsonl"
    scan(inputs, one, workers=1, batch_size=2, top=5)
    scan(inputs, two, workers=2, batch_size=2, top=5)
    for name in (
        "flags.jsonl",
        "flags.summary.csv",
        "flags.top.csv",
        "flags.problems.jsonl",
        "flags.rejected.jsonl",
    ):
        assert (one.parent / name).read_bytes() == (two.parent / name).read_bytes(), name


def test_resume_is_byte_identical_to_an_uninterrupted_scan(inputs, tmp_path: Path) -> None:
    whole = tmp_path / "whole" / "flags.jsonl"
    scan(inputs, whole, top=4, batch_size=3)
    part = tmp_path / "part" / "flags.jsonl"
    stopped = scan(inputs, part, top=4, batch_size=3, stop_after=5)
    assert stopped.written == 5
    with part.open("ab") as handle:  # a write torn by the interruption
        handle.write(b'{"record_id": "INC-005", "disc')
    detector = KeywordDetector()
    resumed = scan(inputs, part, top=4, batch_size=3, resume=True, pipeline=Pipeline(detector))
    assert resumed.resumed_from == 5 and resumed.written == 12 and resumed.balanced
    for name in (
        "flags.jsonl",
        "flags.summary.csv",
        "flags.top.csv",
        "flags.problems.jsonl",
        "flags.rejected.jsonl",
    ):
        assert (whole.parent / name).read_bytes() == (part.parent / name).read_bytes(), name
    # Resuming a finished scan detects nothing again.
    again = KeywordDetector()
    scan(inputs, part, resume=True, pipeline=Pipeline(again))
    assert again.calls == 0


def test_resume_refuses_a_flags_file_from_other_input_or_versions(inputs, tmp_path: Path) -> None:
    out = tmp_path / "flags.jsonl"
    scan(inputs, out)
    lines = out.read_text().splitlines()
    other = json.loads(lines[0])
    other["record_id"] = "SOMETHING-ELSE"
    write_jsonl(out, [other])
    with pytest.raises(ScanError, match="not from this input"):
        scan(inputs, out, resume=True)
    # More flags than the input has records.
    write_jsonl(out, lines + lines[:1])
    with pytest.raises(ScanError, match="only 12 accepted records"):
        scan(inputs, out, resume=True)
    # Written by other rules.
    changed = json.loads(lines[0])
    changed["versions"]["rules"] = "keywords-test-0"
    write_jsonl(out, [changed])
    with pytest.raises(ScanError, match="same rules, model and settings"):
        scan(inputs, out, resume=True)


def test_pipeline_runs_rules_then_model_and_records_versions(inputs) -> None:
    pipeline = Pipeline(KeywordDetector(), FakeBundle())
    assert isinstance(pipeline.rules, Detector)
    records = [
        Record(record_id="A", entries=[entry("2017-03-01T10:00:00Z", "He punched him and took his bag.")]),
        Record(record_id="B", entries=[entry("2017-03-01T10:00:00Z", "Quiet.")]),
    ]
    found = pipeline.detect(records)
    assert [[d.category for d in ds] for ds in found] == [["violence_with_injury", "theft"], []]
    assert found[0][1].by == ["model"]
    quantised = FakeBundle()
    quantised.quantize = True
    assert Pipeline(KeywordDetector(), quantised).versions["model"] == "fake-model-7+int8"
    [flag_a, flag_b] = scan_records(records, [], pipeline)
    assert flag_a.versions["model"] == "fake-model-7" and flag_a.versions["rules"] == "keywords-test-1"
    assert {f.category for f in flag_a.findings} == {"violence_with_injury", "theft"}
    assert flag_b.findings == []


class FoldingBundle(FakeBundle):
    """As ModelBundle.combine: with a principal-crime table, drops a model-only category part
    of one the rules kept; the model finds damage where the text says 'window'."""

    def predict(self, records: Sequence[Record]) -> list[dict]:
        return [{"window": any("window" in e.text for e in r.entries)} for r in records]

    def combine(self, records, rule_disclosures, predictions, folds_into=None):
        out = []
        for found, said in zip(rule_disclosures, predictions, strict=True):
            kept = list(found)
            if said["window"]:
                kept.append(Disclosure(category="criminal_damage_arson", score=0.9, by=["model"]))
            if folds_into:
                present = {str(d.category) for d in found}
                kept = [
                    d
                    for d in kept
                    if d.by != ["model"] or not present & set(folds_into.get(str(d.category), ()))
                ]
            out.append(kept)
        return out


def test_pipeline_leaves_model_only_categories_to_reconcile() -> None:
    """reconcile-9: the ensemble does not fold a category the model alone found into one the
    rules kept (the shop's window beside the assault on its worker is a crime of its own);
    reconcile applies the principal crime rule when matching."""
    rules = KeywordDetector()
    rules.folds_into = {"criminal_damage_arson": ["violence_with_injury"]}  # type: ignore[attr-defined]
    record = Record(
        record_id="A",
        entries=[entry("2017-03-01T10:00:00Z", "He punched the guard, then put the shop window in.")],
    )
    (found,) = Pipeline(rules, FoldingBundle()).detect([record])
    assert [(str(d.category), d.by) for d in found] == [
        ("violence_with_injury", ["rules"]),
        ("criminal_damage_arson", ["model"]),
    ]
    (flag,) = scan_records([record], [], Pipeline(rules, FoldingBundle()))
    assert {(str(f.type), str(f.category)) for f in flag.findings} == {
        ("unrecorded", "violence_with_injury"),
        ("unrecorded", "criminal_damage_arson"),
    }


def test_cli_scan_writes_summary_and_exit_code(
    inputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crimedetect.scan as scan_module
    from crimedetect.cli import app

    def fake_build(**kwargs):
        kwargs["notes"].append("rules only (test keywords)")
        return Pipeline(KeywordDetector())

    monkeypatch.setattr(scan_module, "build_pipeline", fake_build)
    out = tmp_path / "cli" / "flags.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--records",
            str(inputs[0]),
            "--crimes",
            str(inputs[1]),
            "--out",
            str(out),
            "--rules-only",
            "--top",
            "2",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1, result.output  # rejected lines and problems were found
    assert len(read_lines(out)) == 12
    assert out.with_name("flags.top.csv").exists() and out.with_name("flags.summary.csv").exists()

    def broken_build(**kwargs):
        from crimedetect.reconcile import ConfigError

        raise ConfigError("reconcile.yaml: victim.roles: Input should be a valid list")

    monkeypatch.setattr(scan_module, "build_pipeline", broken_build)
    broken = CliRunner().invoke(
        app, ["scan", "--records", str(inputs[0]), "--out", str(out), "--rules-only", "--no-progress"]
    )
    assert broken.exit_code == 2 and "victim.roles" in broken.output
    usage = CliRunner().invoke(
        app, ["scan", "--records", str(inputs[0]), "--out", str(out), "--rules-only", "--model", "x"]
    )
    assert usage.exit_code == 2


def test_scan_records_matches_run_scan_and_the_keyword_baseline_detects(inputs, tmp_path: Path) -> None:
    from crimedetect.io import load_all

    out = tmp_path / "flags.jsonl"
    scan(inputs, out)
    records = load_all(inputs[0], "records")
    crimes = load_all(inputs[1], "crimes")
    in_memory = scan_records(records, crimes, Pipeline(KeywordDetector()))
    assert [f.to_json_dict() for f in in_memory] == read_lines(out)
    baseline = scan_records(records, crimes, KeywordBaselineDetector())
    assert {d.category for d in baseline[3].disclosed} == {"theft"}  # "Phone stolen."
    assert baseline[3].versions["rules"] == "keyword-baseline"


@pytest.fixture
def back_link(tmp_path: Path) -> tuple[Path, Path]:
    """Record INC-A lists INC-B; the theft INC-B discloses was recorded on INC-A only."""
    records = [
        {
            "record_id": "INC-A",
            "linked_record_ids": ["INC-B"],
            "entries": [entry("2017-03-01T10:00:00Z", "He punched her, swelling to eye.")],
        },
        {"record_id": "INC-C", "entries": [entry("2017-03-02T10:00:00Z", "Phone stolen.")]},
        {"record_id": "INC-B", "entries": [entry("2017-03-01T11:00:00Z", "Phone stolen.")]},
    ]
    crimes = [
        {
            "crime_id": "C-INJ",
            "record_ids": ["INC-A"],
            "category": "violence_with_injury",
            "recorded_at": "2017-03-01T12:00:00Z",
        },
        {
            "crime_id": "C-THEFT",
            "record_ids": ["INC-A"],
            "category": "theft",
            "recorded_at": "2017-03-01T12:00:00Z",
        },
    ]
    return write_jsonl(tmp_path / "records.jsonl", records), write_jsonl(tmp_path / "crimes.jsonl", crimes)


def unrecorded(flag: dict) -> set[str]:
    return {f["category"] for f in flag["findings"] if f["type"] == "unrecorded"}


def test_links_are_symmetric_in_run_scan_scan_records_and_resume(back_link, tmp_path: Path) -> None:
    from crimedetect.io import load_all

    out = tmp_path / "whole" / "flags.jsonl"
    summary = scan(back_link, out, batch_size=1)
    flags = {flag["record_id"]: flag for flag in read_lines(out)}
    # INC-B sees the theft raised from INC-A, which links to it: recorded, not missing.
    assert "C-THEFT" in flags["INC-B"]["crime_ids"] and unrecorded(flags["INC-B"]) == set()
    assert flags["INC-C"]["crime_ids"] == [] and unrecorded(flags["INC-C"]) == {"theft"}
    assert summary.balanced and summary.versions["reconcile"] == "reconcile-10+s7"
    # One way only (the old local behaviour), INC-B's theft would be unrecorded.
    one_way = scan(back_link, tmp_path / "one_way" / "flags.jsonl", link_back=False)
    one_way_b = read_lines(tmp_path / "one_way" / "flags.jsonl")[2]
    assert one_way.written == 3 and unrecorded(one_way_b) == {"theft"}
    # The in-memory engine gives the same flags.
    in_memory = scan_records(
        load_all(back_link[0], "records"), load_all(back_link[1], "crimes"), Pipeline(KeywordDetector())
    )
    assert [f.to_json_dict() for f in in_memory] == read_lines(out)
    # A scan stopped before INC-B and resumed still sees the back-link: same bytes.
    part = tmp_path / "part" / "flags.jsonl"
    scan(back_link, part, batch_size=1, stop_after=1)
    scan(back_link, part, batch_size=1, resume=True)
    for name in ("flags.jsonl", "flags.summary.csv", "flags.problems.jsonl", "flags.rejected.jsonl"):
        assert (part.parent / name).read_bytes() == (out.parent / name).read_bytes(), name


class RapeReportDetector:
    """A rape disclosure in every record, with the cues its last entry names (``cues: a, b``)."""

    name = "rape-reports"
    version = "rape-reports-test-1"

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        out = []
        for record in records:
            text = record.entries[-1].text
            cues = [c.strip() for c in text.split("cues:", 1)[1].split(",")] if "cues:" in text else []
            evidence = Evidence(entry=len(record.entries) - 1, start=0, end=len(text), text=text)
            found = Disclosure(
                category="rape",
                victim="Abbie TRELAWNEY",
                score=0.9,
                by=["rules"],
                evidence=[evidence],
                cues=cues,
            )
            out.append([found])
        return out


def test_n100_missing_is_reported_end_to_end_only_for_unconfirmed_reports(tmp_path: Path) -> None:
    texts = {
        "R-UNCONFIRMED": "Third party says she may have been raped. cues: unconfirmed",
        "R-ANSWERED": "Third party says she may have been raped. cues: unconfirmed",
        "R-PROFESSIONAL": "Teacher reports a disclosure of rape. cues: unconfirmed, professional",
        "R-PLAIN": "She was raped by her ex-partner.",
    }
    records = write_jsonl(
        tmp_path / "records.jsonl",
        [{"record_id": rid, "entries": [entry("2017-03-01T10:00:00Z", text)]} for rid, text in texts.items()],
    )
    n100 = {
        "crime_id": "N100-1",
        "record_ids": ["R-ANSWERED"],
        "victim": "Abbie TRELAWNEY",
        "offence_code": "N100",
        "status": "n100",
        "recorded_at": "2017-03-01T12:00:00Z",
    }
    crimes = write_jsonl(tmp_path / "crimes.jsonl", [n100])
    out = tmp_path / "flags.jsonl"
    summary = run_scan(records, crimes, out, pipeline=Pipeline(RapeReportDetector()))
    found = {
        flag["record_id"]: [(f["type"], f["category"]) for f in flag["findings"]] for flag in read_lines(out)
    }
    assert found == {
        "R-UNCONFIRMED": [("n100_missing", "rape")],  # a report to answer with an N100, none raised
        "R-ANSWERED": [],  # the N100 answers it
        "R-PROFESSIONAL": [("unrecorded", "rape")],  # a professional in role: a crime to record
        "R-PLAIN": [("unrecorded", "rape")],
    }
    assert summary.findings[("n100_missing", "rape")] == 1
    assert summary.findings[("unrecorded", "rape")] == 2


class VictimDetector:
    """Assault disclosures for every victim named 'punched <Name>', in the entry naming them."""

    name = "victims"
    version = "victims-test-1"

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        out = []
        for record in records:
            found = []
            for i, e in enumerate(record.entries):
                for match in re.finditer(r"punched (\w+)", e.text):
                    found.append(
                        Disclosure(
                            category="violence_without_injury",
                            victim=match.group(1),
                            score=0.9,
                            by=["rules"],
                            evidence=[
                                Evidence(entry=i, start=match.start(), end=match.end(), text=match.group())
                            ],
                            first_entry=i,
                        )
                    )
            out.append(found)
        return out


def test_reconcile_config_is_used_and_named_in_versions(tmp_path: Path, capsys) -> None:
    """An analyst's edited reconcile.yaml changes the findings, and the flags say it was used;
    the measuring command can apply it to a scan's flags without scanning again."""
    from crimedetect.cli import app
    from crimedetect.reconcile import main as reconcile_main

    records = write_jsonl(
        tmp_path / "records.jsonl",
        [
            {
                "record_id": "INC-1",
                "entries": [
                    entry("2017-03-01T10:00:00Z", "Dean punched Kelly outside the pub."),
                    entry("2017-03-02T10:00:00Z", "Later: he also punched Amy at her flat."),
                ],
            }
        ],
    )
    crimes = write_jsonl(
        tmp_path / "crimes.jsonl",
        [
            {
                "crime_id": "C1",
                "record_ids": ["INC-1"],
                "category": "violence_without_injury",
                "victim": "Kelly",
                "recorded_at": "2017-03-01T12:00:00Z",
            }
        ],
    )
    packaged = resources.files("crimedetect") / "resources" / "reconcile.yaml"
    edited = tmp_path / "reconcile.yaml"
    edited.write_text(
        packaged.read_text(encoding="utf-8").replace(
            "second_victim_same_entry: true", "second_victim_same_entry: false"
        ),
        encoding="utf-8",
    )
    pipeline = Pipeline(VictimDetector())
    default = run_scan(records, crimes, tmp_path / "default.jsonl", pipeline=pipeline)
    counted = run_scan(
        records, crimes, tmp_path / "counted.jsonl", pipeline=pipeline, reconcile_config=str(edited)
    )
    assert default.versions["reconcile"] == "reconcile-10+s7"
    assert re.fullmatch(r"reconcile-10\+s7@[0-9a-f]{8}", counted.versions["reconcile"])
    # by default the second victim, told only in the later entry, raises no finding; the edited
    # settings count it
    assert unrecorded(read_lines(tmp_path / "default.jsonl")[0]) == set()
    assert len(read_lines(tmp_path / "default.jsonl")[0]["disclosed"]) == 2  # still listed
    assert unrecorded(read_lines(tmp_path / "counted.jsonl")[0]) == {"violence_without_injury"}
    # a resumed scan under other settings is refused
    with pytest.raises(ScanError, match="same rules, model and settings"):
        run_scan(
            records,
            crimes,
            tmp_path / "default.jsonl",
            pipeline=pipeline,
            reconcile_config=str(edited),
            resume=True,
        )
    # the CLI refuses a missing settings file with a usage error
    missing = CliRunner().invoke(
        app,
        [
            "scan",
            "--records",
            str(records),
            "--out",
            str(tmp_path / "x.jsonl"),
            "--reconcile-config",
            str(tmp_path / "no.yaml"),
        ],
    )
    assert missing.exit_code == 2 and "no such file" in " ".join(missing.output.split())
    # measuring the default scan's flags under the edited settings matches them again
    audits = write_jsonl(
        tmp_path / "audits.jsonl",
        [
            {
                "record_id": "INC-1",
                "auditor": "A1",
                "crimes": [
                    {
                        "category": "violence_without_injury",
                        "victim": "Kelly",
                        "evidence": "punched Kelly",
                        "crime_id": "C1",
                    }
                ],
            }
        ],
    )
    common = [
        "--flags",
        str(tmp_path / "default.jsonl"),
        "--records",
        str(records),
        "--crimes",
        str(crimes),
        "--audits",
        str(audits),
    ]

    def measured(*extra: str) -> str:
        reconcile_main([*common, *extra])
        return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("unrecorded"))

    assert measured().split()[1:4] == ["0", "0", "0"]
    assert measured("--reconcile-config", str(edited)).split()[1:4] == ["0", "1", "0"]  # a false finding


def test_min_finding_score_sets_the_operating_point_of_rules_and_model(tmp_path: Path) -> None:
    """--min-finding-score: a rule disclosure under the default 0.5 gate raises a finding at a
    lower score; with a force model the stacker keeps a category down to that score too, and
    the flags' versions say both (reconcile settings digest, model ``+cut``)."""
    from crimedetect.cli import app
    from crimedetect.contract import CATEGORIES, Flag
    from crimedetect.model.bundle import ModelBundle, RecordPrediction
    from crimedetect.model.ensemble import LEGACY_FEATURES

    records = write_jsonl(
        tmp_path / "records.jsonl",
        [{"record_id": "INC-1", "entries": [entry("2017-03-01T10:00:00Z", "Bike taken from the shed.")]}],
    )
    crimes = write_jsonl(tmp_path / "crimes.jsonl", [])

    class WeakRules(KeywordDetector):
        def detect(self, rs: Sequence[Record]) -> list[list[Disclosure]]:
            return [[Disclosure(category="burglary", score=0.4, by=["rules"], evidence=[])] for _ in rs]

    def findings(path: Path) -> set[str]:
        return {f"{f['type']}:{f['category']}" for f in read_lines(path)[0]["findings"]}

    rules_only = Pipeline(WeakRules())
    run_scan(records, crimes, tmp_path / "a.jsonl", pipeline=rules_only)
    low = run_scan(records, crimes, tmp_path / "b.jsonl", pipeline=rules_only, min_finding_score=0.3)
    assert findings(tmp_path / "a.jsonl") == set()
    assert findings(tmp_path / "b.jsonl") == {"unrecorded:burglary"}
    assert re.fullmatch(r"reconcile-10\+s7@[0-9a-f]{8}", low.versions["reconcile"])

    # A force model whose stacker scores a category by the model's probability (0.35 for theft)
    # and keeps it from 0.45: dropped by default, kept and found at 0.3.
    folder = tmp_path / "bundle"
    folder.mkdir()
    coef = [1.0 if name.startswith("model_logit") else 0.0 for name in LEGACY_FEATURES]
    stacker = {"features": list(LEGACY_FEATURES), "coef": coef, "intercept": 0.0, "threshold": 0.45}
    meta = {"format": 1, "labels": list(CATEGORIES), "thresholds": dict.fromkeys(CATEGORIES, 0.5)}
    (folder / "bundle.json").write_text(json.dumps({**meta, "stacker": stacker, "version": "m1"}))
    bundle = ModelBundle(folder)
    probs = {**dict.fromkeys(CATEGORIES, 0.0), "theft": 0.35}
    spans = {c: (0, 0, 4) for c in CATEGORIES}
    bundle.predict = lambda rs: [  # type: ignore[method-assign]  # no encoder in this bundle
        RecordPrediction(r.record_id, dict(probs), dict.fromkeys(CATEGORIES, 0), dict(spans)) for r in rs
    ]
    with_model = Pipeline(KeywordDetector(), bundle)
    default = run_scan(records, crimes, tmp_path / "c.jsonl", pipeline=with_model)
    lowered = run_scan(records, crimes, tmp_path / "d.jsonl", pipeline=with_model, min_finding_score=0.3)
    assert findings(tmp_path / "c.jsonl") == set() and default.versions["model"] == "m1"
    assert findings(tmp_path / "d.jsonl") == {"unrecorded:theft"} and lowered.versions["model"] == "m1+cut0.3"
    # in memory (the web app, notebooks) the same
    record = Record.model_validate(json.loads(records.read_text()))
    (in_memory,) = scan_records([record], [], with_model, min_finding_score=0.3)
    assert in_memory.findings == Flag.model_validate(read_lines(tmp_path / "d.jsonl")[0]).findings
    # the option is for the local engine, and a score outside [0, 1] is a usage error
    for extra in (["--engine", "spark", "--min-finding-score", "0.3"], ["--min-finding-score", "1.5"]):
        result = CliRunner().invoke(
            app,
            ["scan", "--records", str(records), "--out", str(tmp_path / "x.jsonl"), "--rules-only", *extra],
        )
        assert result.exit_code == 2
