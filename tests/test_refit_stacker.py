"""``crimedetect models refit-stacker``: a bundle's stacker fitted on other audited records
(the tiny random BERT of ``tests/conftest.py``, one epoch: seconds on CPU)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimedetect.cli import app
from crimedetect.contract import Audit
from test_model import CASES, make_records, tiny_config

LEGACY = ["rule_score", "rule_fired", "model_logit_fired", "model_logit_silent", "model_over_threshold"]


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row.to_json_dict()) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small force of ``test_model`` plus ``other_audits.jsonl``: the same records, other labels."""
    folder = tmp_path_factory.mktemp("force")
    records, audits = make_records()
    _write_jsonl(folder / "records.jsonl", records)
    _write_jsonl(folder / "audits.jsonl", audits)
    other = [
        Audit(record_id=a.record_id, crimes=[{"category": "theft"}] if i % 2 else [])
        for i, a in enumerate(audits)
    ]
    _write_jsonl(folder / "other_audits.jsonl", other)
    _write_jsonl(folder / "no_crimes.jsonl", [Audit(record_id=a.record_id, crimes=[]) for a in audits])
    return folder


@pytest.fixture(scope="module")
def bundle(force: Path, tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch bundle whose stacker has non-default settings (C, legacy features)."""
    from crimedetect.model.train import train

    out = tmp_path_factory.mktemp("bundle") / "b"
    stacker = {"C": 0.25, "features": LEGACY}
    train(tiny_config(force, tiny_bert, out, epochs=1, stacker=stacker), log_to_mlflow=False)
    assert json.loads((out / "bundle.json").read_text())["stacker"]["C"] == 0.25
    return out


def _meta(bundle_dir: Path) -> dict:
    return json.loads((bundle_dir / "bundle.json").read_text(encoding="utf-8"))


def test_refit_on_other_audits_changes_the_stacker_and_records_the_fit(
    force: Path, bundle: Path, tmp_path: Path
) -> None:
    from crimedetect.model.bundle import ModelBundle
    from crimedetect.model.train import fit_stacker_on_audits, rule_detector

    before = (bundle / "bundle.json").read_text()
    result = CliRunner().invoke(
        app,
        [
            "models",
            "refit-stacker",
            "--bundle",
            str(bundle),
            "--records",
            str(force / "records.jsonl"),
            "--audits",
            str(force / "audits.jsonl"),
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "in-sample" in result.output and "ensemble" in result.output
    for first, second, *_ in CASES:
        assert first not in result.output and second not in result.output
    assert (bundle / "bundle.json").read_text() == before  # --out leaves the original alone

    other = fit_stacker_on_audits(
        bundle, force / "records.jsonl", force / "other_audits.jsonl", out_dir=tmp_path / "b"
    )
    assert set(other.metrics) == {"rules", "model", "ensemble"}
    assert other.counts["records_labelled"] == len(CASES)

    a, b = _meta(tmp_path / "a"), _meta(tmp_path / "b")
    assert a["stacker"]["coef"] != b["stacker"]["coef"]
    for meta in (a, b):
        assert meta["stacker"]["C"] == 0.25 and meta["stacker"]["features"] == LEGACY  # settings kept
        assert meta["rules_version"]
    fit = b["stacker_fit"]
    digest = hashlib.sha256((force / "other_audits.jsonl").read_bytes()).hexdigest()
    assert fit["audits_sha256"] == digest and fit["records"] == len(CASES) and fit["fitted_at"]

    # each refit names its stacker in the bundle's version, so flags tell the variants apart
    base = _meta(bundle)["version"]
    assert a["version"] != b["version"]
    for meta in (a, b):
        assert re.fullmatch(re.escape(base) + r"\+stacker-[0-9a-f]{8}", meta["version"])
    again = fit_stacker_on_audits(tmp_path / "b", force / "records.jsonl", force / "other_audits.jsonl")
    assert _meta(again.bundle_dir)["version"] == b["version"]  # replaced, not appended; same fit
    loaded = ModelBundle(tmp_path / "b")
    assert loaded.version == b["version"]
    assert loaded.stacker is not None and list(loaded.stacker.coef_) == b["stacker"]["coef"]
    records, _ = make_records()
    rules = rule_detector()
    combined = loaded.combine(records, rules.detect(records), loaded.predict(records))
    assert len(combined) == len(records)


def test_refit_stacker_from_the_training_config_uses_the_same_fit(
    force: Path, bundle: Path, tiny_bert: Path, tmp_path: Path
) -> None:
    from crimedetect.model.train import refit_stacker

    copy = tmp_path / "c"
    shutil.copytree(bundle, copy)
    cfg = tiny_config(force, tiny_bert, copy, epochs=1, stacker={"C": 2.0})
    stacker = refit_stacker(copy, cfg)
    assert stacker is not None and stacker.C == 2.0  # the config's settings, not the bundle's
    meta = _meta(copy)
    assert meta["stacker"]["C"] == 2.0 and meta["stacker_fit"]["source"].startswith("validation")
    assert re.fullmatch(re.escape(_meta(bundle)["version"]) + r"\+stacker-[0-9a-f]{8}", meta["version"])


def test_refit_stacker_command_errors(force: Path, bundle: Path, tmp_path: Path) -> None:
    runner = CliRunner()

    def refit(bundle_dir: Path, records: Path, audits: Path, *extra: str) -> tuple[int, str]:
        args = ["models", "refit-stacker", "--bundle", str(bundle_dir)]
        args += ["--records", str(records), "--audits", str(audits), *extra]
        result = runner.invoke(app, args)
        return result.exit_code, " ".join(result.output.split())

    records, audits = force / "records.jsonl", force / "audits.jsonl"
    code, out = refit(bundle, tmp_path / "missing.jsonl", audits)
    assert code == 2 and "does not exist" in out
    no_model = tmp_path / "no-model"
    no_model.mkdir()
    shutil.copy(bundle / "bundle.json", no_model / "bundle.json")
    code, out = refit(no_model, records, audits)
    assert code == 2 and "holds no model" in out
    before = (bundle / "bundle.json").read_text()
    code, out = refit(bundle, records, force / "no_crimes.jsonl")
    assert code == 2 and "0 positive" in out and "needs at least" in out
    code, out = refit(bundle, records, force / "no_crimes.jsonl", "--out", str(tmp_path / "x"))
    assert code == 2 and not (tmp_path / "x").exists()
    assert (bundle / "bundle.json").read_text() == before  # a failed fit changes nothing


def test_dev_parts_keeps_one_part_and_prefixed_extra_records(tmp_path: Path) -> None:
    import importlib.util

    from crimedetect.rules.quality import part

    spec = importlib.util.spec_from_file_location(
        "dev_parts", Path(__file__).resolve().parents[1] / "training" / "dev_parts.py"
    )
    assert spec is not None and spec.loader is not None
    dev_parts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev_parts)

    def folder(name: str, ids: list[str]) -> Path:
        path = tmp_path / name
        path.mkdir()
        for file, key in (("records", "record_id"), ("audits", "record_id"), ("crimes", "record_ids")):
            rows = [{key: [i] if key == "record_ids" else i, "n": n} for n, i in enumerate(ids)]
            (path / f"{file}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    dev_ids = [f"DV-{n:03d}" for n in range(30)]
    dev = folder("dev", dev_ids)
    extra = folder("extra", ["BL-A-001", "BL-B-001", "BL-D-001"])
    counts = dev_parts.write_parts(tmp_path / "out", dev, "development", [extra], ["BL-A-", "BL-B-"])
    kept = [json.loads(line)["record_id"] for line in (tmp_path / "out" / "records.jsonl").open()]
    development = [i for i in dev_ids if part(i) == "development"]
    assert kept == [*development, "BL-A-001", "BL-B-001"]
    assert counts == dict.fromkeys(("records.jsonl", "crimes.jsonl", "audits.jsonl"), len(kept))
    with pytest.raises(ValueError, match="more than one"):
        dev_parts.write_parts(tmp_path / "again", dev, "development", [dev], [])


def test_stacker_cv_compares_feature_sets_on_held_out_folds(
    force: Path, bundle: Path, tmp_path: Path, capsys
) -> None:
    """``training/stacker_cv.py``: every record is held out once per repeat, so the pooled
    truth is the oracle's count times the repeats, whatever the features."""
    import importlib.util

    from crimedetect.io import load_all
    from crimedetect.reconcile import finding_quality, oracle_disclosures
    from crimedetect.scan import scan_records

    script = Path(__file__).parents[1] / "training" / "stacker_cv.py"
    spec = importlib.util.spec_from_file_location("stacker_cv", script)
    stacker_cv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stacker_cv)
    crimes = tmp_path / "crimes.jsonl"
    crimes.write_text("", encoding="utf-8")  # nothing recorded: every crime is unrecorded
    argv = [
        f"--records={force / 'records.jsonl'}",
        f"--crimes={crimes}",
        f"--audits={force / 'audits.jsonl'}",
    ]
    features = "context=bundle,rule_others,model_logit_silent_others"
    folds = ["--folds", "3", "--repeats", "2", "--threshold-repeats", "2"]
    assert stacker_cv.main(["--bundle", str(bundle), *argv, *folds, "--features", features]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| bundle") or line.startswith("| context")]
    assert len(rows) == 4  # two feature sets, folding on and off
    # fixed thresholds beside each fold's own: a threshold of 0 accepts every (record, category)
    assert stacker_cv.main(["--bundle", str(bundle), *argv, *folds, "--thresholds", "0", "1.01"]) == 0
    swept = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| bundle")]
    assert len(swept) == 6  # folding on and off, three thresholds each
    by_threshold = {line.split("|")[3].strip(): line.split("|")[4] for line in swept if "| off |" in line}

    def counts(cell: str) -> tuple[int, ...]:
        return tuple(int(x) for x in cell.split("(")[1].rstrip(") ").split("/"))

    assert counts(by_threshold["1.01"])[:2] == (0, 0)  # nothing accepted: no unrecorded flag
    assert counts(by_threshold["0.00"])[1] >= counts(by_threshold["each fold's own"])[1]

    records = load_all(force / "records.jsonl", "records")
    audits = load_all(force / "audits.jsonl", "audits")

    class Oracle:
        name = version = "oracle"

        def detect(self, rs):
            by_id = {a.record_id: a for a in audits}
            return [oracle_disclosures(r, by_id[r.record_id]) for r in rs]

    truth = finding_quality(scan_records(records, [], Oracle()), audits, records, [])["unrecorded"].actual
    assert truth > 0
    for row in rows:
        unrecorded = row.split("|")[4]
        tp, predicted, actual = (int(x) for x in unrecorded.split("(")[1].rstrip(") ").split("/"))
        assert actual == 2 * truth and tp <= min(predicted, actual)
    # --extra-fit joins every fold's fit and is never held out: the held-out truth is unchanged
    extra = ["--extra-fit", str(force / "records.jsonl"), str(force / "audits.jsonl")]
    assert stacker_cv.main(["--bundle", str(bundle), *argv, *folds, *extra]) == 0
    extra_rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| bundle")]
    assert len(extra_rows) == 2
    assert all(counts(line.split("|")[4])[2] == 2 * truth for line in extra_rows)
    unaudited = tmp_path / "no_audits.jsonl"
    unaudited.write_text("", encoding="utf-8")
    with pytest.raises(SystemExit, match="no audit"):
        stacker_cv.main(
            ["--bundle", str(bundle), *argv, "--extra-fit", str(force / "records.jsonl"), str(unaudited)]
        )
    with pytest.raises(ValueError, match="unknown stacker feature"):
        stacker_cv.main(["--bundle", str(bundle), *argv, "--features", "bad=rule_score,no_such_feature"])
