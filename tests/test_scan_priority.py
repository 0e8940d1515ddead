"""The priority model: fitted on audited flags, calibrated, saved and loaded as data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crimedetect.contract import Audit, Crime, Finding, Flag, Record
from crimedetect.priority import (
    FEATURES,
    NoisyOrPriority,
    PriorityModel,
    calibration_report,
    evaluate_priority,
    features,
    fit_priority,
    load_priority_model,
)


def flag(record_id: str, score: float | None) -> Flag:
    findings = [] if score is None else [Finding(type="unrecorded", category="theft", score=score)]
    return Flag(record_id=record_id, findings=findings, priority=0.0)


def record(record_id: str) -> Record:
    return Record(record_id=record_id, entries=[{"at": "2017-01-01T10:00:00Z", "text": "x"}])


def test_features_follow_the_declared_names() -> None:
    values = features(record("A"), flag("A", 0.7))
    assert len(values) == len(FEATURES)
    assert values[FEATURES.index("max_unrecorded")] == pytest.approx(0.7)
    assert values[FEATURES.index("max_late")] == 0.0


def test_fit_learns_calibrated_probabilities_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    flags, audits, records = [], [], []
    for i in range(400):
        rid = f"R{i}"
        score = float(rng.uniform(0.5, 1.0)) if rng.random() < 0.5 else None
        # The truth: a flagged record holds a failure with probability = its score; others 10%.
        has_failure = rng.random() < (score if score is not None else 0.1)
        flags.append(flag(rid, score))
        records.append(record(rid))
        crimes = (
            [{"category": "theft", "victim": "A B", "evidence": "x", "crime_id": None}] if has_failure else []
        )
        audits.append(Audit(record_id=rid, crimes=crimes))
    model = fit_priority(flags, audits, records, [], folds=5)
    assert model.metrics_["n"] == 400 and 0 < model.metrics_["positives"] < 400
    # Held-out calibration is good and the ordering is informative.
    assert model.metrics_["cv5_ece"] < 0.1 and model.metrics_["cv5_auc"] > 0.7
    p_flagged = model.predict_flag(records[0], flag("R0", 0.95))
    p_quiet = model.predict_flag(records[0], flag("R0", None))
    assert 0.0 < p_quiet < 0.3 < p_flagged <= 1.0
    checked = evaluate_priority(model, flags, audits, records, [])
    assert checked["n"] == 400 and checked["precision_at_50"] >= checked["positives"] / 400
    path = tmp_path / "priority.json"
    model.save(path)
    loaded = PriorityModel.load(path)
    assert loaded.predict_flag(records[0], flag("R0", 0.8)) == model.predict_flag(records[0], flag("R0", 0.8))
    data = json.loads(path.read_text())
    data["features"] = data["features"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="refit"):
        PriorityModel.load(path)


def test_fit_needs_both_outcomes() -> None:
    flags = [flag("A", 0.9), flag("B", None)]
    audits = [Audit(record_id="A"), Audit(record_id="B")]
    with pytest.raises(ValueError, match="both outcomes"):
        fit_priority(flags, audits, [record("A"), record("B")], [Crime(crime_id="C", category="theft")])


def test_packaged_model_or_fallback_gives_probabilities() -> None:
    model = load_priority_model()
    assert isinstance(model, PriorityModel | NoisyOrPriority)
    assert 0.0 <= model.predict_flag(record("A"), flag("A", 0.9)) <= 1.0
    assert NoisyOrPriority().predict_flag(None, flag("A", None)) == 0.0


def test_calibration_report() -> None:
    y = np.array([0, 0, 1, 1])
    report = calibration_report(y, np.array([0.1, 0.2, 0.8, 0.9]))
    assert report["auc"] == 1.0 and report["brier"] < 0.05
