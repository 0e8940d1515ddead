"""The scan with a real (tiny, randomly initialised, briefly trained) model bundle and the
real rules: model batched in the main process, rules in workers, identical output, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crimedetect.contract import Audit, Record

pytestmark = pytest.mark.slow

T0, T1 = "2017-03-01T10:00:00Z", "2017-03-01T11:00:00Z"
CASES = [
    ("RP states her partner punched her in the face, swelling to her eye.", "violence_with_injury"),
    ("Ex partner keeps sending her texts every night, over 40 messages.", "stalking_harassment"),
    ("Male took purse from a handbag on the bus.", "theft"),
    ("Lost dog reported in the park.", None),
    ("Neighbour dispute about parking, words only.", None),
    ("He slapped her across the face, no injury.", "violence_without_injury"),
]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path) -> Path:
    from crimedetect.model.config import TrainConfig
    from crimedetect.model.train import train

    root = tmp_path_factory.mktemp("scan-model")
    base = tiny_bert
    records, audits = [], []
    for i in range(18):
        text, category = CASES[i % len(CASES)]
        rid = f"T-{i:03d}"
        records.append(
            Record(record_id=rid, entries=[{"at": T0, "text": "Call received."}, {"at": T1, "text": text}])
        )
        audits.append(
            Audit(record_id=rid, crimes=[{"category": category, "evidence": text}] if category else [])
        )
    (root / "records.jsonl").write_text("".join(json.dumps(r.to_json_dict()) + "\n" for r in records))
    (root / "audits.jsonl").write_text("".join(json.dumps(a.to_json_dict()) + "\n" for a in audits))
    train_config = TrainConfig.model_validate(
        {
            "run_name": "scan-tiny",
            "data": {
                "train": [{"records": str(root / "records.jsonl"), "audits": str(root / "audits.jsonl")}],
                "val_fraction": 0.34,
            },
            "base_model": str(base),
            "max_length": 32,
            "stride": 4,
            "epochs": 1,
            "batch_size": 4,
            "learning_rate": 3e-3,
            "warmup_ratio": 0.0,
            "min_val_positives": 1,
            "output_dir": str(root / "bundle"),
        }
    )
    train(train_config, log_to_mlflow=False)
    return root / "bundle"


def frozen_rules(folder: Path) -> str:
    """A copy of the packaged rules and a config that reads it: the rules may be edited while
    the tests run, and runs compared byte for byte must use the same rules."""
    from crimedetect.rules.pipeline import copy_rules

    return str(copy_rules(folder))


@pytest.mark.parametrize("quantize", [False, True])
def test_scan_with_model_is_identical_across_workers_and_resume(
    bundle_dir: Path, tmp_path: Path, quantize: bool
) -> None:
    from crimedetect.detect import Pipeline
    from crimedetect.model import load_bundle
    from crimedetect.rules import RuleDetector
    from crimedetect.scan import run_scan

    records = tmp_path / "records.jsonl"
    with records.open("w") as handle:
        for i in range(10):
            text = CASES[i % len(CASES)][0]
            entries = [{"at": T0, "text": "Call received."}, {"at": T1, "text": text}]
            handle.write(json.dumps({"record_id": f"R-{i}", "entries": entries}) + "\n")
    crimes = tmp_path / "crimes.jsonl"
    crimes.write_text(json.dumps({"crime_id": "C1", "record_ids": ["R-2"], "category": "theft"}) + "\n")

    bundle = load_bundle(str(bundle_dir), quantize=quantize)
    rules_cfg = frozen_rules(tmp_path)

    def pipeline() -> Pipeline:
        return Pipeline(RuleDetector(rules_cfg), bundle)

    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}" / "flags.jsonl"
        summary = run_scan(records, crimes, out, pipeline=pipeline(), workers=workers, batch_size=3)
        assert summary.balanced and summary.written == 10
        outputs.append(out.read_bytes())
    # The model in the workers too (one copy each): the same flags.
    out = tmp_path / "in-workers" / "flags.jsonl"
    run_scan(
        records,
        crimes,
        out,
        pipeline=pipeline(),
        workers=2,
        batch_size=3,
        model_in_workers=True,
    )
    outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    flags = [json.loads(line) for line in outputs[0].decode().splitlines()]
    assert all(f["versions"]["model"] == bundle.version + bundle.run_settings for f in flags)
    assert ("+int8w7" in bundle.run_settings) == quantize
    assert all(f["versions"]["rules"] for f in flags)

    part = tmp_path / "part" / "flags.jsonl"
    run_scan(records, crimes, part, pipeline=pipeline(), batch_size=3, stop_after=4)
    run_scan(records, crimes, part, pipeline=pipeline(), batch_size=3, resume=True)
    assert part.read_bytes() == outputs[0]
