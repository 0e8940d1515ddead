"""Evaluation: audit truth, metrics on a hand-made example, the CLI with real MLflow."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from crimedetect.cli import app
from crimedetect.contract import Audit, Crime, Flag, Record
from crimedetect.evaluate import audit_truth, evaluate_flags, truths_for
from crimedetect.evaluate.core import cause_counts, error_cause
from crimedetect.evaluate.metrics import bootstrap_totals, prf, reliability
from crimedetect.evaluate.truth import CrimeLookup, evidence_entry
from crimedetect.io import read_contract, write_contract

SECRET = "he struck her with the kettle"  # record text that must never leak into outputs


def _record(rid: str, texts: list[tuple[str, str]]) -> Record:
    return Record(record_id=rid, entries=[{"at": at, "text": text} for at, text in texts])


@pytest.fixture
def example() -> dict:
    """Four audited records with hand-countable truth and flags (see test docstrings)."""
    records = [
        _record(
            "R1",
            [
                ("2017-01-01T10:00:00Z", f"IP says {SECRET}."),
                ("2017-01-01T12:00:00Z", "He keeps texting her, 40 texts."),
            ],
        ),
        _record("R2", [("2017-01-02T10:00:00Z", "Two phones stolen from two victims.")]),
        _record("R3", [("2017-01-03T10:00:00Z", "Noise complaint, words only.")]),
        _record("R4", [("2017-01-04T10:00:00Z", "He pushed her, no injury.")]),
    ]
    crimes = [
        Crime(
            crime_id="C1",
            record_ids=["R1"],
            category="stalking_harassment",
            recorded_at="2017-01-01T13:00:00Z",
        ),
        Crime(crime_id="C4", record_ids=["R4"], category="public_order", recorded_at="2017-01-04T11:00:00Z"),
    ]
    audits = [
        Audit(
            record_id="R1",
            crimes=[
                {"category": "violence_with_injury", "evidence": SECRET, "crime_id": None},
                {"category": "stalking_harassment", "evidence": "40 texts", "crime_id": "C1"},
            ],
        ),
        Audit(
            record_id="R2",
            crimes=[{"category": "theft", "crime_id": None}, {"category": "theft", "crime_id": None}],
        ),
        Audit(record_id="R3", crimes=[]),
        Audit(
            record_id="R4",
            crimes=[{"category": "violence_without_injury", "evidence": "pushed her", "crime_id": "C4"}],
        ),
    ]

    def disclosure(category: str, score: float, by: str = "rules", rule: str = "X1") -> dict:
        return {
            "category": category,
            "score": score,
            "by": [by],
            "rule_ids": [rule],
            "evidence": [{"entry": 0, "start": 0, "end": 3, "text": SECRET[:3]}],
        }

    flags = [
        Flag(
            record_id="R1",
            priority=0.9,
            crime_ids=["C1"],
            disclosed=[
                disclosure("violence_with_injury", 0.9, rule="V7"),
                disclosure("stalking_harassment", 0.8),
            ],
            findings=[
                {
                    "type": "unrecorded",
                    "category": "violence_with_injury",
                    "count": 1,
                    "score": 0.9,
                    "detail": SECRET,
                }
            ],
            versions={"rules": "rules-9", "model": "m-3"},
        ),
        Flag(
            record_id="R2",
            priority=0.6,
            disclosed=[disclosure("theft", 0.6, rule="T1")],
            findings=[{"type": "unrecorded", "category": "theft", "count": 1, "score": 0.6}],
        ),
        Flag(
            record_id="R3",
            priority=0.4,
            disclosed=[disclosure("public_order", 0.4, by="model")],
            findings=[{"type": "unrecorded", "category": "public_order", "count": 1, "score": 0.4}],
        ),
        Flag(record_id="R4", priority=0.1, crime_ids=["C4"], disclosed=[disclosure("public_order", 0.5)]),
    ]
    return {"records": records, "crimes": crimes, "audits": audits, "flags": flags}


def test_truth_follows_the_label_conventions() -> None:
    record = _record(
        "R",
        [
            ("2017-05-01T10:00:00Z", "First call."),
            ("2017-05-03T10:00:00Z", "PPU update: disclosed the rape in interview."),
        ],
    )
    crimes = CrimeLookup(
        [
            Crime(
                crime_id="A",
                record_ids=["R"],
                category="violence_with_injury",
                recorded_at="2017-05-01T11:00:00Z",
            ),
            Crime(crime_id="B", record_ids=["R"], category="rape", recorded_at="2017-05-05T10:00:01Z"),
            Crime(crime_id="C", record_ids=["R"], category="theft", status="cancelled"),
            Crime(crime_id="D", record_ids=["R"], category="robbery", status="transferred"),
        ]
    )
    audit = Audit(
        record_id="R",
        n100_required=True,
        crimes=[
            {
                "category": "violence_without_injury",
                "crime_id": "A",
                "evidence": "first call",
            },  # misclassified
            {
                "category": "rape",
                "crime_id": "B",
                "evidence": "disclosed the rape",
            },  # 48h+1s after entry 1: late
            {"category": "theft", "crime_id": "C"},  # cancelled without AVI
            {"category": "robbery", "crime_id": "D"},  # another force's: nothing
            {"category": "burglary", "crime_id": None},
            {"category": "burglary", "crime_id": None},
        ],
    )
    truth = audit_truth(audit, crimes=crimes, record=record)
    assert truth.finding_counts() == Counter(
        {
            ("unrecorded", "burglary"): 2,
            ("misclassified", "violence_without_injury"): 1,
            ("late", "rape"): 1,
            ("cancellation_unsupported", "theft"): 1,
        }
    )  # a rape crime exists, so no n100_missing
    assert truth.should_record == Counter(
        {"violence_without_injury": 1, "rape": 1, "theft": 1, "burglary": 2}
    )
    assert truth.recorded == Counter({"violence_without_injury": 1, "rape": 1})
    assert truth.transferred == Counter({"robbery": 1})
    assert truth.unrecorded_total == 3


def test_truth_without_crimes_or_records_judges_only_what_it_can() -> None:
    audit = Audit(
        record_id="R",
        n100_required=True,
        crimes=[{"category": "theft", "crime_id": None}, {"category": "rape", "crime_id": "X"}],
    )
    truth = audit_truth(audit)
    assert truth.finding_counts() == Counter({("unrecorded", "theft"): 1})
    assert truth.unjudged == {"misclassified", "late", "n100_missing", "cancellation_unsupported"}
    missing = audit_truth(audit, crimes=CrimeLookup([]))
    assert ("n100_missing", "rape") in missing.finding_counts()
    assert missing.unknown_crime_ids == ["X"]


def test_evidence_entry_ignores_case_and_spacing() -> None:
    record = _record(
        "R",
        [
            ("2017-01-01T10:00:00Z", "nothing here"),
            ("2017-01-01T11:00:00Z", "He   SLAPPED her across\nthe face"),
        ],
    )
    assert evidence_entry(record, "he slapped her across the face") == 1
    assert evidence_entry(record, None) is None


def test_truth_on_dev_set_matches_its_readme(dev_dir: Path) -> None:
    truths = truths_for(
        read_contract(dev_dir / "audits.jsonl"),
        list(read_contract(dev_dir / "crimes.jsonl")),
        list(read_contract(dev_dir / "records.jsonl")),
    )
    counts: Counter[str] = Counter()
    for truth in truths.values():
        for finding in truth.findings:
            counts[finding.type] += finding.count
    # README: 30 never recorded, 10 late, 8 misclassified, 3 cancelled without AVI, 1 N100 missing.
    assert counts == Counter(
        {"unrecorded": 30, "late": 10, "misclassified": 8, "cancellation_unsupported": 3, "n100_missing": 1}
    )
    assert sum(sum(t.transferred.values()) for t in truths.values()) == 3


def test_evaluation_numbers_match_the_hand_count(example: dict) -> None:
    result = evaluate_flags(
        {f.record_id: f for f in example["flags"]},
        example["audits"],
        example["crimes"],
        {r.record_id: r for r in example["records"]},
        n_boot=200,
        seed=1,
    )
    # Crime level, unrecorded: truth R1 vwi 1, R2 theft 2; flagged R1 vwi 1, R2 theft 1, R3 public order 1.
    row = result.row("crime", "type:unrecorded")
    assert (row.tp, row.fp, row.fn) == (2, 1, 1)
    assert row.values["precision"] == pytest.approx(2 / 3)
    assert row.values["recall"] == pytest.approx(2 / 3)
    assert row.values["f2"] == pytest.approx(10 / 15)
    # R4's misclassification (audit vwoi, recorded public order) was not flagged.
    assert (result.row("crime", "type:misclassified").tp, result.row("crime", "type:misclassified").fn) == (
        0,
        1,
    )
    every = result.row("crime", "all")
    assert (every.tp, every.fp, every.fn) == (2, 1, 2)
    assert every.values["f1"] == pytest.approx(4 / 7)
    assert every.values["f2"] == pytest.approx(10 / 19)
    # Record level: flagged R1 R2 R3; with a true finding R1 R2 R4.
    rec = result.row("record", "all")
    assert (rec.tp, rec.fp, rec.fn) == (2, 1, 1)
    # Disclosures against every audited crime: 3 matched, R3+R4 public order extra, R2 theft + R4 vwoi missed.
    disc = result.row("disclosure", "all")
    assert (disc.tp, disc.fp, disc.fn) == (3, 2, 2)
    assert result.row("disclosure", "category:theft").values["recall"] == pytest.approx(1 / 2)
    # Intervals bracket the point estimates.
    for r in (row, every, rec, disc):
        for name in ("precision", "recall", "f1"):
            low, high = r.intervals[name]
            assert low <= r.values[name] + 1e-9 and r.values[name] <= high + 1e-9
    # Confusion: R4 vwoi disclosed as public order; R2's second theft not disclosed; R3 extra.
    labels = result.confusion_labels
    at = {
        (labels[i], labels[j]): int(result.confusion[i, j])
        for i, j in zip(*np.nonzero(result.confusion), strict=True)
    }
    assert at == {
        ("violence_with_injury", "violence_with_injury"): 1,
        ("stalking_harassment", "stalking_harassment"): 1,
        ("theft", "theft"): 1,
        ("theft", "(none)"): 1,
        ("violence_without_injury", "public_order"): 1,
        ("(none)", "public_order"): 1,
    }
    assert result.versions == {"rules": "rules-9", "model": "m-3"}
    sources = {(e["record_id"], e["level"], e["error"]): e["source"] for e in result.errors}
    assert sources[("R3", "finding", "false_positive")] == "model"
    assert sources[("R2", "finding", "false_negative")] == "rules[T1]"
    assert sources[("R4", "finding", "false_negative")] == "not disclosed"
    causes = {(e["record_id"], e["level"], e["type"], e["category"]): e["cause"] for e in result.errors}
    assert causes == {
        ("R2", "finding", "unrecorded", "theft"): "undercounted",  # two thefts, one flagged
        ("R2", "disclosure", "disclosed", "theft"): "undercounted",
        ("R3", "finding", "unrecorded", "public_order"): "no_crime_in_record",
        ("R3", "disclosure", "disclosed", "public_order"): "no_crime_in_record",
        (
            "R4",
            "finding",
            "misclassified",
            "violence_without_injury",
        ): "not_disclosed",  # read as public order
        ("R4", "disclosure", "disclosed", "violence_without_injury"): "not_disclosed",
        ("R4", "disclosure", "disclosed", "public_order"): "false_category",
    }
    assert cause_counts(result.errors) == {
        ("misclassified", "not_disclosed"): 1,
        ("unrecorded", "no_crime_in_record"): 1,
        ("unrecorded", "undercounted"): 1,
    }
    logged = {k: v for k, v in result.metrics().items() if k.startswith("errors.")}
    assert logged == {
        "errors.misclassified.not_disclosed": 1.0,
        "errors.unrecorded.no_crime_in_record": 1.0,
        "errors.unrecorded.undercounted": 1.0,
    }


@pytest.mark.parametrize(
    ("level", "predicted", "true", "disclosed", "audited", "cause"),
    [
        ("finding", 0, 1, set(), {"theft"}, "not_disclosed"),
        ("finding", 0, 1, {"theft"}, {"theft"}, "disclosed_reconciled_otherwise"),  # matched to a crime
        ("disclosure", 0, 1, {"theft"}, {"theft"}, "not_disclosed"),
        ("finding", 1, 2, {"theft"}, {"theft"}, "undercounted"),
        ("finding", 2, 1, {"theft"}, {"theft"}, "overcounted"),
        ("finding", 1, 0, {"theft"}, {"theft"}, "real_category_reconciled_wrongly"),  # e.g. it was recorded
        ("disclosure", 1, 0, {"theft"}, {"robbery"}, "false_category"),
        ("finding", 1, 0, {"theft"}, {"robbery"}, "false_category"),
        ("finding", 1, 0, {"theft"}, set(), "no_crime_in_record"),
    ],
)
def test_error_cause(level: str, predicted: int, true: int, disclosed: set, audited: set, cause: str) -> None:
    assert error_cause(level, "theft", predicted, true, disclosed, audited) == cause


def test_types_needing_crimes_are_not_judged_without_them(example: dict) -> None:
    result = evaluate_flags({f.record_id: f for f in example["flags"]}, example["audits"], n_boot=0)
    assert result.judged_types == ["unrecorded"]
    assert "late" in result.unjudged_types
    assert result.row("crime", "all").fn == 1  # R4's misclassification is not counted


def test_missing_flag_lines_count_as_nothing_found(example: dict) -> None:
    flags = {f.record_id: f for f in example["flags"] if f.record_id != "R2"}
    result = evaluate_flags(flags, example["audits"], example["crimes"], n_boot=0)
    assert result.missing_flags == ["R2"]
    assert result.row("crime", "type:unrecorded").fn == 2 + 0  # R2's two thefts (R1 found)


def test_prf_and_reliability_by_hand() -> None:
    out = prf(np.array([3, 0]), np.array([1, 0]), np.array([2, 0]))
    assert out["precision"][0] == pytest.approx(0.75)
    assert out["recall"][0] == pytest.approx(0.6)
    assert out["f1"][0] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert out["f2"][0] == pytest.approx(5 * 0.75 * 0.6 / (4 * 0.75 + 0.6))
    assert np.isnan(out["precision"][1])
    cal = reliability(np.array([0.05, 0.05, 0.95, 0.95]), np.array([0, 0, 1, 0]), bins=10)
    assert cal["count"][0] == 2 and cal["count"][9] == 2
    assert cal["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * abs(0.95 - 0.5))


def test_bootstrap_totals_are_seeded_and_unbiased() -> None:
    columns = np.ones((500, 2))
    a = bootstrap_totals(columns, 400, seed=3, chunk=128)
    assert np.array_equal(a, bootstrap_totals(columns, 400, seed=3, chunk=128))
    assert a.shape == (400, 2)
    assert abs(a[:, 0].mean() - 500) < 10


@pytest.mark.slow
def test_cli_evaluate_logs_to_mlflow_without_text(example: dict, tmp_path: Path, monkeypatch) -> None:
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for kind in ("records", "crimes", "audits", "flags"):
        write_contract(tmp_path / f"{kind}.jsonl", example[kind])
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--flags",
            "flags.jsonl",
            "--audits",
            "audits.jsonl",
            "--records",
            "records.jsonl",
            "--crimes",
            "crimes.jsonl",
            "--experiment",
            "eval-test",
            "--out",
            "ev",
            "--bootstrap",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "type:unrecorded" in result.output
    for name in (
        "reliability.png",
        "pr_curves.png",
        "category_confusion.png",
        "f1_by_type.png",
        "metrics.json",
        "errors.csv",
    ):
        assert (tmp_path / "ev" / name).stat().st_size > 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["records_evaluated"] == 4
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("eval-test")
    run = client.search_runs([experiment.experiment_id])[0]
    assert run.data.metrics["crime.type.unrecorded.precision"] == pytest.approx(2 / 3)
    assert run.data.params["rules_version"] == "rules-9"
    assert len(run.data.tags["data.flags.sha256"]) == 64
    assert "git_commit" in run.data.tags
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert "evaluation/errors.csv" in artifacts and "evaluation/reliability.png" in artifacts
    logged = json.dumps([run.data.params, run.data.tags]) + (tmp_path / "ev" / "errors.csv").read_text()
    logged += (tmp_path / "ev" / "metrics.json").read_text()
    assert SECRET not in logged and SECRET[:12] not in logged


def test_cli_evaluate_exits_1_on_rejected_lines(example: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_contract(tmp_path / "audits.jsonl", example["audits"])
    write_contract(tmp_path / "flags.jsonl", example["flags"])
    with (tmp_path / "flags.jsonl").open("a") as handle:
        handle.write('{"record_id": "R9", "priority": 7}\n')
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--flags",
            "flags.jsonl",
            "--audits",
            "audits.jsonl",
            "--no-mlflow",
            "--bootstrap",
            "0",
            "--rejected",
            "rej.jsonl",
        ],
    )
    assert result.exit_code == 1, result.output
    rejected = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert rejected[0]["line"] == 5 and rejected[0]["field"] == "priority"


def test_reconcile_truth_findings_rekeys_audit_truth_without_changing_counts(dev_dir: Path) -> None:
    """The scan stage measures itself with reconcile.truth_findings, a re-keying of
    audit_truth per record: it must give the same counts as the evaluation's truths."""
    from crimedetect import reconcile

    crimes = list(read_contract(dev_dir / "crimes.jsonl"))
    records = {r.record_id: r for r in read_contract(dev_dir / "records.jsonl")}
    audits = list(read_contract(dev_dir / "audits.jsonl"))
    ours: Counter = Counter()
    for rid, truth in truths_for(audits, crimes, records).items():
        for (kind, category), n in truth.finding_counts().items():
            ours[(rid, kind, category)] += n
    theirs: Counter = Counter()
    by_id = {c.crime_id: c for c in crimes}
    for audit in audits:
        theirs.update(reconcile.truth_findings(records[audit.record_id], audit, by_id))
    assert ours == theirs
