"""The Spark engine: the same scan as the local engine, byte for byte, on local[2].

Fast tests check the pieces that need no JVM (line parsing as the local reader judges it,
formats, side-file names, the per-process pipeline cache). The slow tests start ONE
``local[2]`` session for the module and compare every output file of a Spark scan with
``run_scan``'s on the same input: the dev set with the real rules, and a small hand-made
input with bad lines, repeated ids, links, Parquet crimes and input split in many pieces
written as folders of part files (with a keyword detector standing in for the rules).
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from crimedetect.contract import Disclosure, Evidence, Record
from crimedetect.detect import Pipeline
from crimedetect.engines import spark as engine
from crimedetect.io import ContractWriter, RejectedLines, read_contract
from crimedetect.scan import run_scan

pytest.importorskip("pyspark")
SIDE_FILES = (
    "flags.jsonl",
    "flags.rejected.jsonl",
    "flags.problems.jsonl",
    "flags.summary.csv",
    "flags.top.csv",
)


# --------------------------------------------------------------------------- a stand-in detector


class KeywordDetector:
    """One disclosure per category whose keyword appears; evidence at the first hit."""

    name = "keywords"
    version = "keywords-spark-test-1"
    PATTERNS = {
        "violence_with_injury": r"\b(punched|bruis\w*|swelling)\b",
        "stalking_harassment": r"\b(texts|messages)\b",
        "theft": r"\b(stole|stolen)\b",
    }

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        out = []
        for record in records:
            found = []
            for category, pattern in self.PATTERNS.items():
                for i, entry in enumerate(record.entries):
                    hit = re.search(pattern, entry.text, re.IGNORECASE)
                    if hit:
                        evidence = Evidence(entry=i, start=hit.start(), end=hit.end(), text=hit.group(0))
                        found.append(
                            Disclosure(
                                category=category,
                                score=0.8,
                                by=["keywords"],
                                evidence=[evidence],
                                first_entry=i,
                                cues=[],
                            )
                        )
                        break
            out.append(found)
        return out


@dataclass(frozen=True)
class KeywordSpec:
    """The picklable, hashable factory executors build the stand-in pipeline from."""

    tag: str = "keywords"

    def build(self) -> Pipeline:
        return Pipeline(KeywordDetector())


# --------------------------------------------------------------------------- fast: no JVM


def test_parse_line_judges_as_the_local_reader(tmp_path: Path) -> None:
    lines = [
        b'{"record_id": "A", "entries": [{"at": "2017-01-01T10:00:00Z", "text": "hi"}]}',
        b"",
        b"   ",
        b'{"record_id": "B", "entries": [',
        b"[1, 2]",
        b'{"record_id": "\xff"}',
    ]
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rejected = tmp_path / "rejected.jsonl"
    with RejectedLines(rejected) as sink:
        list(read_contract(path, "records", rejected=sink))
    local = {r["line"]: (r["reason"], r["message"], r["raw"]) for r in map(json.loads, rejected.open())}
    for number, data in enumerate(lines, 1):
        item, problem, raw = engine._parse_line(data, 1000)
        if number == 1:
            assert item is not None and item["record_id"] == "A" and problem is None
            continue
        assert problem is not None
        assert (problem[1], problem[2], raw) == local[number]
    too_long = engine._parse_line(b"x" * 11, 10)[1]
    assert too_long is not None and too_long[1] == "line_too_long"
    assert (
        engine._parse_line(b"x" * 10, 10)[1] is not None
        and engine._parse_line(b"x" * 10, 10)[1][1] != "line_too_long"
    )


def test_formats_and_paths() -> None:
    assert engine.input_format(["hdfs://nn/data/records.jsonl"]) == "jsonl"
    assert engine.input_format(["s3a://bucket/records.parquet/"]) == "parquet"
    assert engine.input_format(["s3a://bucket/records/"], "parquet") == "parquet"
    with pytest.raises(engine.SparkEngineError, match="JSON Lines"):
        engine.input_format(["records.csv"])
    with pytest.raises(engine.SparkEngineError, match="no suffix"):
        engine.input_format(["/data/records"])
    assert engine.file_key("file:///tmp/x.jsonl") == engine.file_key("file:/tmp/x.jsonl")
    assert engine._beside("out/flags.jsonl", "rejected") == str(Path("out/flags.rejected.jsonl"))
    assert (
        engine._beside("hdfs://nn:8020/out/flags.jsonl", "problems")
        == "hdfs://nn:8020/out/flags.problems.jsonl"
    )


def test_pipeline_is_built_once_per_process_and_specs_travel() -> None:
    spec = KeywordSpec(tag="cache-test")
    first, built = engine.pipeline_for(spec)
    again, built_again = engine.pipeline_for(KeywordSpec(tag="cache-test"))
    assert built and not built_again and again is first
    assert engine.pipeline_for(KeywordSpec(tag="other"))[0] is not first
    real = engine.PipelineSpec(rules_config=None, model=None)
    assert pickle.loads(pickle.dumps(real)) == real and hash(real) == hash(engine.PipelineSpec())


def test_resume_is_refused(tmp_path: Path) -> None:
    with pytest.raises(engine.SparkEngineError, match="resume"):
        engine.run_spark_scan(tmp_path / "records.jsonl", None, tmp_path / "flags.jsonl", resume=True)


# --------------------------------------------------------------------------- slow: one local[2] session


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    from pyspark import cloudpickle

    # The stand-in detector lives in this test module, which executors cannot import.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    session = engine.create_session("local[2]", shuffle_partitions=4)
    try:
        yield session
    finally:
        engine.stop_session(session)


def _same_files(local: Path, spark_dir: Path, names: Sequence[str]) -> None:
    for name in names:
        assert (spark_dir / name).read_bytes() == (local / name).read_bytes(), name


def frozen_rules(folder: Path) -> str:
    """A copy of the packaged rules and a config that reads it: the rules may be edited while
    the tests run, and runs compared byte for byte must use the same rules."""
    from crimedetect.rules.pipeline import copy_rules

    return str(copy_rules(folder))


@pytest.mark.slow
def test_cli_spark_engine_gives_the_local_engines_bytes(spark: object, dev_dir: Path, tmp_path: Path) -> None:
    """``crimedetect scan --engine spark --master local[2]`` with the real rules on the dev set."""
    from typer.testing import CliRunner

    from crimedetect.cli import app

    runner = CliRunner()
    rules_cfg = frozen_rules(tmp_path)
    codes = {}
    for engine_name in ("local", "spark"):
        args = ["scan", "-r", str(dev_dir / "records.jsonl"), "-c", str(dev_dir / "crimes.jsonl")]
        args += [
            "-o",
            str(tmp_path / engine_name / "flags.jsonl"),
            "--rules-only",
            "--top",
            "15",
            "--no-progress",
            "--rules-config",
            rules_cfg,
        ]
        args += ["--engine", engine_name] + (["--master", "local[2]"] if engine_name == "spark" else [])
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        codes[engine_name] = result.exit_code
    assert codes["spark"] == codes["local"] in (0, 1)
    _same_files(tmp_path / "local", tmp_path / "spark", SIDE_FILES)
    flags = [json.loads(line) for line in (tmp_path / "spark" / "flags.jsonl").open()]
    assert len(flags) == 150 and any(flag["findings"] for flag in flags)
    assert spark.sparkContext._jsc is not None  # the running session was used, not stopped


def _messy_input(dev_dir: Path, folder: Path) -> tuple[Path, Path]:
    """Dev records with bad lines and links; crimes as Parquet with a repeat and a stray."""
    folder.mkdir(parents=True)
    lines = (dev_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    first = json.loads(lines[0])
    linked = json.loads(lines[1])
    linked["linked_record_ids"] = [first["record_id"], "NOT-READ-1"]
    lines[1] = json.dumps(linked)
    missing = json.loads(lines[5])
    del missing["entries"]
    lines[5] = json.dumps(missing)
    lines[9:9] = ["", '{"record_id": "BROKEN", "entries": [', json.dumps(first)]  # blank, bad JSON, repeat
    lines.append("[]")
    records = folder / "records.jsonl"
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids = {json.loads(line)["record_id"] for line in lines if line.startswith("{") and line.endswith("}")}
    crimes_in = list(read_contract(dev_dir / "crimes.jsonl", "crimes"))
    kept = [c for c in crimes_in if set(c.record_ids) & ids]
    stray = crimes_in[-1].model_copy(update={"crime_id": "STRAY-1", "record_ids": ["NOT-READ-2"]})
    crimes = folder / "crimes.parquet"
    write = [*kept, kept[0], stray]  # kept[0] again: a repeated crime_id
    with ContractWriter(crimes, "crimes") as writer:
        writer.write_all(write)
    return records, crimes


def _part_lines(folder: Path) -> bytes:
    parts = sorted(p for p in folder.iterdir() if p.name.startswith("part-"))
    return b"".join(p.read_bytes() for p in parts)


@pytest.mark.slow
def test_messy_split_input_written_as_folders_matches_local(
    spark: object, dev_dir: Path, tmp_path: Path
) -> None:
    records, crimes = _messy_input(dev_dir, tmp_path / "in")
    local = run_scan(records, crimes, tmp_path / "local" / "flags.jsonl", pipeline=KeywordSpec().build())
    assert local.records.rejected == 5 and local.crimes is not None and local.crimes.rejected == 1
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16384")  # many splits, line numbers across them
    try:
        out = tmp_path / "spark"
        summary = engine.run_spark_scan(
            records,
            crimes,
            out / "flags.jsonl",
            pipeline=KeywordSpec(),
            spark=spark,
            single_file=False,
            partitions=8,
            batch_size=4,
        )
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    for name in ("flags.jsonl", "flags.rejected.jsonl", "flags.problems.jsonl"):
        assert _part_lines(out / name) == (tmp_path / "local" / name).read_bytes(), name
    assert summary.records.to_json_dict() == local.records.to_json_dict()
    assert summary.crimes.to_json_dict() == local.crimes.to_json_dict()
    assert summary.problems == local.problems and summary.problems["crime:unknown_record"] == 1
    assert summary.balanced and summary.written == local.written == local.records.accepted
    # 8 detection tasks on 2 cores: pipelines are reused across tasks (reuse, not rebuild).
    assert 1 <= summary.spark.pipelines_built <= 4
    shutil.rmtree(tmp_path / "in")


# --------------------------------------------------------------------------- slow: with a model

T0, T1 = "2017-03-01T10:00:00Z", "2017-03-01T11:00:00Z"
CASES = [
    ("RP states her partner punched her in the face, swelling to her eye.", "violence_with_injury"),
    ("Ex partner keeps sending her texts every night, over 40 messages.", "stalking_harassment"),
    ("Male took purse from a handbag on the bus.", "theft"),
    ("Lost dog reported in the park.", None),
    ("He slapped her across the face, no injury.", "violence_without_injury"),
]


def _tiny_bundle(root: Path, base: Path) -> Path:
    """The shared tiny random BERT, trained one epoch on a few records: a real bundle."""
    from crimedetect.contract import Audit
    from crimedetect.model.config import TrainConfig
    from crimedetect.model.train import train

    root.mkdir(parents=True, exist_ok=True)
    records, audits = [], []
    for i in range(15):
        text, category = CASES[i % len(CASES)]
        entries = [{"at": T0, "text": "Call received."}, {"at": T1, "text": text}]
        records.append(Record(record_id=f"T-{i:03d}", entries=entries))
        crimes = [{"category": category, "evidence": text}] if category else []
        audits.append(Audit(record_id=f"T-{i:03d}", crimes=crimes))
    (root / "train.jsonl").write_text("".join(json.dumps(r.to_json_dict()) + "\n" for r in records))
    (root / "audits.jsonl").write_text("".join(json.dumps(a.to_json_dict()) + "\n" for a in audits))
    settings = {
        "run_name": "spark-tiny",
        "data": {
            "train": [{"records": str(root / "train.jsonl"), "audits": str(root / "audits.jsonl")}],
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
    train(TrainConfig.model_validate(settings), log_to_mlflow=False)
    return root / "bundle"


@pytest.mark.slow
def test_model_in_executors_gives_the_local_engines_bytes(
    spark: object, tmp_path: Path, tiny_bert: Path
) -> None:
    bundle = _tiny_bundle(tmp_path / "model", tiny_bert)
    records = tmp_path / "records.jsonl"
    with records.open("w") as handle:
        for i in range(12):
            entries = [{"at": T0, "text": "Call received."}, {"at": T1, "text": CASES[i % len(CASES)][0]}]
            handle.write(json.dumps({"record_id": f"R-{i}", "entries": entries}) + "\n")
    crimes = tmp_path / "crimes.jsonl"
    crimes.write_text(json.dumps({"crime_id": "C1", "record_ids": ["R-2"], "category": "theft"}) + "\n")
    same = {"model_uri": str(bundle), "rules_config": frozen_rules(tmp_path), "batch_size": 5}
    local = run_scan(records, crimes, tmp_path / "local" / "flags.jsonl", **same)
    summary = engine.run_spark_scan(records, crimes, tmp_path / "spark" / "flags.jsonl", spark=spark, **same)
    _same_files(tmp_path / "local", tmp_path / "spark", SIDE_FILES[:4])
    assert summary.versions["model"] == local.versions["model"] is not None
    assert summary.written == 12 and summary.spark.pipelines_built >= 1


@pytest.mark.slow
def test_three_engines_agree_on_a_back_link(spark: object, tmp_path: Path) -> None:
    """Record B's theft was recorded on record A, which lists B: all engines see it by default."""
    from crimedetect.io import load_all
    from crimedetect.scan import scan_records

    entry = {"at": T0, "text": "Phone stolen."}
    records = tmp_path / "records.jsonl"
    rows = [
        {"record_id": "A", "linked_record_ids": ["B"], "entries": [{"at": T0, "text": "He punched her."}]},
        {"record_id": "C", "entries": [entry]},
        {"record_id": "B", "entries": [entry]},
    ]
    records.write_text("".join(json.dumps(row) + "\n" for row in rows))
    crimes = tmp_path / "crimes.jsonl"
    crime_rows = [
        {"crime_id": "C-INJ", "record_ids": ["A"], "category": "violence_with_injury", "recorded_at": T1},
        {"crime_id": "C-THEFT", "record_ids": ["A"], "category": "theft", "recorded_at": T1},
    ]
    crimes.write_text("".join(json.dumps(row) + "\n" for row in crime_rows))
    run_scan(records, crimes, tmp_path / "local" / "flags.jsonl", pipeline=KeywordSpec().build())
    spark_out = tmp_path / "spark" / "flags.jsonl"
    engine.run_spark_scan(records, crimes, spark_out, pipeline=KeywordSpec(), spark=spark)
    _same_files(tmp_path / "local", tmp_path / "spark", SIDE_FILES[:4])
    in_memory = scan_records(load_all(records, "records"), load_all(crimes, "crimes"), KeywordSpec().build())
    flags = [json.loads(line) for line in spark_out.open()]
    assert [f.to_json_dict() for f in in_memory] == flags
    by_id = {flag["record_id"]: flag for flag in flags}
    assert "C-THEFT" in by_id["B"]["crime_ids"] and "C-THEFT" not in by_id["C"]["crime_ids"]
    assert not [f for f in by_id["B"]["findings"] if f["type"] == "unrecorded"]
    assert [f["category"] for f in by_id["C"]["findings"] if f["type"] == "unrecorded"] == ["theft"]
