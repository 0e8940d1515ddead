"""The scan on Apache Spark: national-scale input, the same flags as the local engine.

The plan, one Spark job graph per scan::

    records (JSONL text lines | Parquet rows) ── parse + validate in executors ──┐
    crimes  (JSONL text lines | Parquet rows) ── parse + validate in executors ──┤
                                   duplicates ids rejected (window on the id) ───┤
    crime candidates per record: join on record id (the record's own id, its     │
      linked_record_ids, and the records that link to it) ───────────────────────┤
    mapInPandas: Pipeline.detect (one pipeline per Python worker), then          │
      CrimeIndex.for_record + reconcile in the executor ─────────────────────────┘
                                   ──> flags, sorted by the input order key

- Records are read as raw text lines (or Parquet rows) and validated with the contract
  *inside the executors*; a bad line becomes a rejection with file, line, field and reason,
  and ``read == accepted + rejected`` holds for every input, as with the local reader.
- Every input line keeps an explicit order key ``(file rank, split start, index in split)``
  that sorts exactly like (file, line number). Flags are written in that order; line numbers
  for rejections are computed from per-split line counts.
- The detection pipeline is built once per executor Python process and cached by its spec
  (:func:`pipeline_for`). The spec is small and picklable (a rules config path and a model
  folder the driver pinned, see :func:`resolve_model`) and goes to the executors inside the
  task closure (a few hundred bytes); files are shipped with ``addFile`` on a cluster.
- Crime matching reuses :class:`~crimedetect.reconcile.CrimeIndex`: the join gathers for
  each record a superset of the crimes it may see (raised from the record, from the
  records it links to or from those linking to it), and the executor builds a small
  ``CrimeIndex`` from them, in crime-file order, and asks ``for_record`` exactly as the local
  engine does. ``for_detection`` and ``flag_record`` then run unchanged,
  and the side files (rejected lines, problems, summary CSV, worklist) are the local
  engine's, computed with its own helpers (``ScanSummary.add_flag``, ``write_top``).

Run it as ``crimedetect scan --engine spark [--master URL]``, or with ``spark-submit`` on a
cluster (``spark-submit ... src/crimedetect/engines/spark.py --records ... --crimes ...
--out ...``); see ``docs/spark.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from crimedetect.contract import KINDS, Crime, Record
from crimedetect.io import (
    DEFAULT_MAX_LINE_BYTES,
    FORMATS,
    RAW_EXCERPT_CHARS,
    ContractWriter,
    LineProblem,
    ReadStats,
    Rejection,
    decode_row,
    parse_jsonl_line,
    rejection_from_error,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from crimedetect.detect import Detector

log = logging.getLogger(__name__)

#: The order key of every input line: sorts like (file, line number).
ORDER = ("rank", "block", "idx")
#: What the parse step gives for every input line (Spark DDL).
PARSED_SCHEMA = (
    "rank int, block long, idx long, ok boolean, id string, keys array<string>, "
    "payload string, field string, reason string, message string, raw string"
)
#: What the scan step gives for every accepted record.
FLAGS_SCHEMA = "rank int, block long, idx long, flag string, priority double"
#: Formats the engine reads and writes (CSV needs the local engine).
SPARK_FORMATS = ("jsonl", "parquet")

QUIET_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
"""


class SparkEngineError(Exception):
    """A scan the Spark engine cannot run as asked (bad path, format or option)."""


# --------------------------------------------------------------------------- session

_WORK_DIRS: dict[int, Path] = {}


def _quiet_pandas_warning() -> None:
    # PySpark 4 warns on every pandas UDF that pandas 3 is "not yet fully supported"; the
    # engine only moves plain strings and numbers through pandas.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )


def create_session(
    master: str | None = None,
    *,
    app_name: str = "crimedetect-scan",
    driver_memory: str = "1g",
    shuffle_partitions: int | None = None,
    conf: Mapping[str, str] | None = None,
    work_dir: str | Path | None = None,
) -> SparkSession:
    """A quiet, small Spark session; stop it with :func:`stop_session`.

    ``master`` defaults to the one ``spark-submit`` gives, else ``local[2]``. The web UI is
    off, logs are errors only, shuffle partitions are two per core unless set, and scratch
    space lives in a temporary folder that :func:`stop_session` removes. ``conf`` overrides
    any setting.
    Python workers run this interpreter (``PYSPARK_PYTHON``), so they see this venv.
    """
    _quiet_pandas_warning()
    from pyspark.sql import SparkSession

    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[2]"  # not under spark-submit: run on this machine
    local = master is None or master.startswith("local")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="crimedetect-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    log4j = work / "log4j2.properties"
    log4j.write_text(QUIET_LOG4J, encoding="utf-8")
    settings: dict[str, str] = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": driver_memory,
        "spark.local.dir": str(work / "local"),
        "spark.sql.warehouse.dir": str(work / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j.as_uri()}",
        # Detection costs CPU per record, not per byte: keep the partitions asked for.
        "spark.sql.adaptive.coalescePartitions.enabled": "false",
        "spark.python.worker.reuse": "true",
        "spark.sql.session.timeZone": "UTC",
    }
    if local:
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    settings.update(conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if shuffle_partitions or not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        # Two detection tasks per core the application has (spark-submit's --conf wins).
        chosen = shuffle_partitions or max(2, 2 * spark.sparkContext.defaultParallelism)
        spark.conf.set("spark.sql.shuffle.partitions", str(chosen))
    _WORK_DIRS[id(spark)] = work
    return spark


def _running_session(master: str | None) -> SparkSession | None:
    """The session already running in this process (a notebook's, a test's), if its master
    is the one asked for; the scan then uses it and leaves it running."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    context = SparkContext._active_spark_context
    if context is None or (master is not None and context.master != master):
        return None
    return SparkSession.builder.getOrCreate()


def stop_session(spark: SparkSession) -> None:
    """Stop the session and remove its scratch folder."""
    spark.stop()
    work = _WORK_DIRS.pop(id(spark), None)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def spark_session(master: str | None = None, **kwargs: Any) -> Iterator[SparkSession]:
    """:func:`create_session` as a context manager that always stops the session."""
    spark = create_session(master, **kwargs)
    try:
        yield spark
    finally:
        stop_session(spark)


# --------------------------------------------------------------------------- pipeline spec


class PipelineFactory(Protocol):
    """What executors need to build a detector: small, picklable and hashable (the cache key)."""

    def build(self) -> Detector: ...


@dataclass(frozen=True)
class PipelineSpec:
    """The scan's detection pipeline as executors build it (:func:`crimedetect.scan.build_pipeline`).

    ``model`` is a local bundle folder (the driver downloads an MLflow URI once and pins its
    version, see :func:`resolve_model`) or ``None`` for the rules alone. A path starting
    ``sparkfiles:`` names a file or folder shipped with ``SparkContext.addFile`` (:func:`ship`).
    """

    rules_config: str | None = None
    model: str | None = None

    def build(self) -> Detector:
        from crimedetect.scan import build_pipeline

        return build_pipeline(
            rules_config=_resolve(self.rules_config),
            model_uri=_resolve(self.model),
            rules_only=self.model is None,
        )


def _resolve(path: str | None) -> str | None:
    """A path as the executor sees it (``sparkfiles:NAME`` becomes the shipped copy)."""
    if path and path.startswith("sparkfiles:"):
        from pyspark import SparkFiles

        return SparkFiles.get(path[len("sparkfiles:") :])
    return path


def resolve_model(model_uri: str | None, rules_only: bool, notes: list[str]) -> str | None:
    """The model every executor loads, decided once on the driver, as the local engine decides
    it (``--model``, else the registered champion, else rules only). An MLflow URI is fetched
    here to a local bundle folder whose version is pinned (an alias moved mid-scan cannot give
    executors different models)."""
    from crimedetect.scan import choose_model_uri

    uri = choose_model_uri(model_uri, rules_only, notes)
    if uri is None:
        return None
    from crimedetect.model.bundle import fetch_bundle_dir

    folder = fetch_bundle_dir(uri)
    notes.append(f"model from {uri} ({folder})")
    return str(folder)


def ship(spark: SparkSession, path: str | None) -> str | None:
    """Ship a local file or folder (rules config, model bundle) to every executor; returns the
    name to use in a :class:`PipelineSpec`. Remote URIs are returned as they are."""
    if not path or _has_scheme(path):
        return path
    local = Path(path)
    if not local.exists():
        raise SparkEngineError(f"{path}: no such file or folder to ship to the executors")
    spark.sparkContext.addFile(str(local.resolve()), recursive=local.is_dir())
    return f"sparkfiles:{local.resolve().name}"


#: One detection pipeline per executor Python process, by spec.
_PIPELINES: dict[Hashable, Detector] = {}


def pipeline_for(spec: PipelineFactory) -> tuple[Detector, bool]:
    """The process's pipeline for ``spec`` (built on first use); also whether it was built now."""
    pipeline = _PIPELINES.get(spec)
    if pipeline is not None:
        return pipeline, False
    pipeline = spec.build()
    _PIPELINES[spec] = pipeline
    return pipeline, True


# --------------------------------------------------------------------------- executors: parse


def file_key(uri: str) -> str:
    """One spelling of a file URI (``inputFiles`` writes ``file:///x``, ``_metadata`` ``file:/x``)."""
    return "file:" + uri[len("file://") :] if uri.startswith("file:///") else uri


def _parse_line(
    data: bytes | None, max_line_bytes: int
) -> tuple[dict[str, Any] | None, LineProblem | None, str]:
    """One JSON Lines line as Spark's line reader gives it (without its newline), judged by
    :func:`crimedetect.io.parse_jsonl_line` as the local reader judges it."""
    return parse_jsonl_line((data or b"") + b"\n", max_line_bytes)


def _parsed_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("rank", pa.int32()),
            ("block", pa.int64()),
            ("idx", pa.int64()),
            ("ok", pa.bool_()),
            ("id", pa.string()),
            ("keys", pa.list_(pa.string())),
            ("payload", pa.string()),
            ("field", pa.string()),
            ("reason", pa.string()),
            ("message", pa.string()),
            ("raw", pa.string()),
        ]
    )


def parse_partition(
    batches: Iterator[pa.RecordBatch], *, kind: str, fmt: str, ranks: Mapping[str, int], max_line_bytes: int
) -> Iterator[pa.RecordBatch]:
    """mapInArrow: validate every input line with the contract; keep the order key.

    JSON Lines rows arrive as ``(_value bytes, _file, _block)`` in file order within each
    split, so the index in the split is counted here. Parquet rows carry ``_row`` (the row
    index in the file). Accepted lines keep their id, their link keys (a record's
    ``linked_record_ids``, a crime's ``record_ids``) and their text; rejected ones the field,
    reason and message the local reader gives.
    """
    import pyarrow as pa
    from pydantic import ValidationError

    model, id_field = KINDS[kind]
    link_field = "linked_record_ids" if kind == "records" else "record_ids"
    declared = frozenset(model.model_fields)  # as read_contract tells the Parquet decoder
    schema = _parsed_arrow_schema()
    counters: dict[tuple[str, int], int] = {}
    for batch in batches:
        columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        for row in batch.to_pylist():
            file = row.pop("_file")
            if fmt == "jsonl":
                block = int(row["_block"])
                idx = counters.get((file, block), 0)
                counters[(file, block)] = idx + 1
                item, problem, raw = _parse_line(row["_value"], max_line_bytes)
            else:
                block, idx = 0, int(row.pop("_row"))
                item, problem, raw = decode_row(idx + 1, row, declared)[1:]
            out: dict[str, Any] = dict.fromkeys(schema.names)
            out.update(rank=ranks[file_key(file)], block=block, idx=idx, ok=False)
            if problem is not None:
                out.update(field=problem[0] or "-", reason=problem[1], message=problem[2], raw=raw)
            else:
                try:
                    obj = model.model_validate(item)
                except ValidationError as exc:
                    rejection = rejection_from_error("", 0, exc, raw)
                    out.update(
                        field=rejection.field, reason=rejection.reason, message=rejection.message, raw=raw
                    )
                else:
                    jsonl = fmt == "jsonl"
                    out.update(
                        ok=True,
                        id=str(getattr(obj, id_field)),
                        keys=[str(k) for k in getattr(obj, link_field)],
                        payload=(
                            row["_value"].decode("utf-8")
                            if jsonl
                            else json.dumps(item, ensure_ascii=False, default=str)
                        ),
                        raw=None if jsonl else raw,
                    )
            for name in schema.names:
                columns[name].append(out[name])
        yield pa.RecordBatch.from_pydict(columns, schema=schema)


# --------------------------------------------------------------------------- executors: scan


def _strings(value: Any) -> list[str]:
    """A list column from pandas (None, NaN, a list or an array) as strings."""
    if value is None or isinstance(value, float):
        return []
    return [str(v) for v in value]


def _text(value: Any) -> str:
    """A string column from pandas, where a null may arrive as None or NaN."""
    return value if isinstance(value, str) else ""


def _lines_frame(out: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Order key + text columns with explicit types (an empty untyped frame fails in Arrow)."""
    import pandas as pd

    types = {"rank": "int32", "block": "int64", "idx": "int64"}
    return pd.DataFrame({k: pd.Series(list(v), dtype=types.get(k, object)) for k, v in out.items()})


def _versions(pipeline: Any) -> dict[str, Any]:
    if hasattr(pipeline, "versions"):
        return dict(pipeline.versions)
    return {"rules": pipeline.version, "model": None}  # a bare detector, as scan_records does


def scan_partition(
    frames: Iterator[pd.DataFrame],
    *,
    spec: PipelineFactory,
    priority: Any | None,
    batch_size: int,
    built: Any,
    timers: Any = None,
    settings: Any = None,
) -> Iterator[pd.DataFrame]:
    """mapInPandas: detect and reconcile a partition of records, in batches, as ``run_scan`` does.

    Each row holds a record's text, its candidate crimes (crime JSON lines in crime-file
    order) and the ids of the records that link to it (none without ``link_back``). The pipeline is
    built from the picklable ``spec`` at the first record this Python process sees and
    reused by every later task (``built`` is an accumulator counting builds).
    """
    import pandas as pd

    from crimedetect.priority import load_priority_model
    from crimedetect.reconcile import CrimeIndex, load_settings, reconcile_version
    from crimedetect.scan import flag_record, for_detection

    pipeline: Any = None
    priority_model: Any = None
    versions: dict[str, Any] = {}
    for frame in frames:
        for start in range(0, len(frame), batch_size):
            part = frame.iloc[start : start + batch_size]
            if part.empty:
                continue
            if pipeline is None:
                pipeline, fresh = pipeline_for(spec)
                if fresh:
                    built.add(1)
                settings = settings if settings is not None else load_settings()
                priority_model = priority if priority is not None else load_priority_model()
                versions = {
                    **_versions(pipeline),
                    "priority": priority_model.version,
                    "reconcile": reconcile_version(settings),
                }
            clock = time.perf_counter()
            records = [Record.model_validate(json.loads(text)) for text in part["payload"]]
            prepared = [for_detection(r, settings.max_entry_chars) for r in records]
            parsed_at = time.perf_counter()
            disclosures = pipeline.detect(prepared)
            detected_at = time.perf_counter()
            flags: list[str] = []
            priorities: list[float] = []
            rows = zip(records, disclosures, part["crimes"], part["sources"], strict=True)
            for record, found, crimes_text, sources in rows:
                lines = crimes_text.split("\n") if isinstance(crimes_text, str) else []
                index = CrimeIndex.build(Crime.model_validate(json.loads(line)) for line in lines if line)
                for source in _strings(sources):
                    index.add_links(source, [record.record_id])
                flag = flag_record(
                    record, found, index.for_record(record), settings, priority_model, versions
                )
                flags.append(json.dumps(flag.to_json_dict(), ensure_ascii=False))
                priorities.append(float(flag.priority))
            if timers is not None:
                timers.add((parsed_at - clock, detected_at - parsed_at, time.perf_counter() - detected_at))
            yield pd.DataFrame(
                {
                    "rank": part["rank"].to_numpy(),
                    "block": part["block"].to_numpy(),
                    "idx": part["idx"].to_numpy(),
                    "flag": flags,
                    "priority": priorities,
                }
            )


def account_partition(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: per partition, the summary counts (``ScanSummary.add_flag``) as one JSON
    row (``rank`` -1), and the record problems lines ``run_scan`` writes, with their keys."""
    from crimedetect.scan import ScanSummary

    partial_summary = ScanSummary(records=ReadStats("-"), crimes=None)
    out: dict[str, list[Any]] = {"rank": [], "block": [], "idx": [], "value": []}
    first: tuple[int, int, int] | None = None
    versions: Any = None
    for frame in frames:
        for rank, block, idx, text in zip(
            frame["rank"], frame["block"], frame["idx"], frame["flag"], strict=True
        ):
            flag = json.loads(text)
            partial_summary.add_flag(flag)
            key = (int(rank), int(block), int(idx))
            if first is None or key < first:
                first, versions = key, flag.get("versions")
            for problem in flag.get("problems") or []:
                line = {"kind": "record", "record_id": flag["record_id"], **problem}
                for key, value in (("rank", rank), ("block", block), ("idx", idx)):
                    out[key].append(int(value))
                out["value"].append(json.dumps(line, ensure_ascii=False))
    counts = {
        "written": partial_summary.written,
        "flagged": partial_summary.flagged,
        "findings": [[*k, v] for k, v in partial_summary.findings.items()],
        "flagged_by": [[*k, v] for k, v in partial_summary.flagged_by.items()],
        "problems": dict(partial_summary.problems),
        "first": first,
        "versions": versions,
    }
    out["rank"].append(-1)
    out["block"].append(-1)
    out["idx"].append(-1)
    out["value"].append(json.dumps(counts))
    yield _lines_frame(out)


def crime_problems_partition(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: ``CrimeIndex.problems`` for each crime, given which of its records were read."""

    from crimedetect.reconcile import CrimeIndex

    for frame in frames:
        out: dict[str, list[Any]] = {"rank": [], "block": [], "idx": [], "value": []}
        for row in frame.itertuples(index=False):
            crime = Crime.model_validate(json.loads(row.payload))
            known = set(_strings(row.known))
            for problem in CrimeIndex.build([crime]).problems(known):
                line = {
                    "kind": "crime",
                    "crime_id": problem.crime_id,
                    "problem": problem.problem,
                    "detail": problem.detail,
                }
                out["rank"].append(int(row.rank))
                out["block"].append(int(row.block))
                out["idx"].append(int(row.idx))
                out["value"].append(json.dumps(line, ensure_ascii=False))
        yield _lines_frame(out)


def format_rejections(
    frames: Iterator[pd.DataFrame],
    *,
    names: Mapping[str, Mapping[int, str]],
    offsets: Mapping[str, Mapping[tuple[int, int], int]],
) -> Iterator[pd.DataFrame]:
    """mapInPandas: rejection rows as the local rejected-lines JSON (file, line, field, ...)."""

    for frame in frames:
        lines: list[str] = []
        for row in frame.itertuples(index=False):
            kind, rank, block, idx = row.kind, int(row.rank), int(row.block), int(row.idx)
            line = offsets.get(kind, {}).get((rank, block), 0) + idx + 1
            if row.reason == "duplicate_id":
                id_field = KINDS[kind][1]
                message, field_name = f"{id_field} {row.id!r} seen earlier", id_field
            else:
                message, field_name = row.message, row.field
            rejection = Rejection(names[kind][rank], line, field_name, row.reason, message, _text(row.raw))
            lines.append(json.dumps(rejection.to_json_dict(), ensure_ascii=False))
        yield _lines_frame(
            {
                "kind": frame["kind"].tolist(),
                "rank": frame["rank"].tolist(),
                "block": frame["block"].tolist(),
                "idx": frame["idx"].tolist(),
                "value": lines,
            }
        )


def flatten_flags(frames: Iterator[pd.DataFrame], *, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """mapInPandas: flags as Parquet columns the way :class:`~crimedetect.io.ContractWriter`
    writes them (nested fields as JSON text, ``priority`` a double)."""
    import pandas as pd

    for frame in frames:
        out: dict[str, list[Any]] = {c: [] for c in columns}
        for text in frame["flag"]:
            flag = json.loads(text)
            for c in columns:
                value = flag.get(c)
                if c != "priority" and value is not None and not isinstance(value, str):
                    value = json.dumps(value, ensure_ascii=False)
                out[c].append(value)
        yield pd.DataFrame(out)


# --------------------------------------------------------------------------- driver


@dataclass
class SparkScanSummary:
    """Where the Spark engine ran, beside the scan summary (``ScanSummary``) it returns."""

    master: str = ""
    partitions: int = 0
    pipelines_built: int = 0
    seconds: float = 0.0
    #: Seconds the Python workers spent, all cores together: parsing records, detecting, reconciling.
    worker_seconds: dict[str, float] = field(default_factory=dict)


class _SumTriple:
    """An accumulator of (parse, detect, reconcile) seconds."""

    def zero(self, value: tuple[float, float, float]) -> tuple[float, float, float]:
        return (0.0, 0.0, 0.0)

    def addInPlace(  # noqa: N802  (pyspark's AccumulatorParam interface)
        self, a: tuple[float, float, float], b: tuple[float, float, float]
    ) -> tuple[float, float, float]:
        return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _as_list(paths: str | Path | Sequence[str | Path] | None) -> list[str]:
    if paths is None:
        return []
    return [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]


def _has_scheme(path: str) -> bool:
    head = path.split("/", 1)[0]
    return head.endswith(":") and len(head) > 2  # 'C:' is a drive, not a scheme


def input_format(paths: Sequence[str], fmt: str | None = None) -> str:
    """``jsonl`` or ``parquet``: as given, else from the first path's suffix."""
    if fmt:
        if fmt not in SPARK_FORMATS:
            raise SparkEngineError(f"format {fmt!r}: the Spark engine reads {' or '.join(SPARK_FORMATS)}")
        return fmt
    name = paths[0].rstrip("/").split("/")[-1]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    found = FORMATS.get(suffix)
    if found not in SPARK_FORMATS:
        raise SparkEngineError(
            f"{paths[0]}: cannot tell the format ({suffix or 'no suffix'}); the Spark engine reads "
            "JSON Lines (.jsonl) or Parquet (.parquet); name the format for a folder"
        )
    return found


def _read_input(spark: SparkSession, paths: list[str], fmt: str) -> tuple[DataFrame, list[str]]:
    """Raw rows with the order-key columns, and the input files in order."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        if fmt == "jsonl":
            frame = spark.read.text(paths)
            raw = frame.select(
                F.col("value").cast("binary").alias("_value"),
                F.col("_metadata.file_path").alias("_file"),
                F.col("_metadata.file_block_start").alias("_block"),
            )
        else:
            frame = spark.read.parquet(*paths)
            raw = frame.select(
                "*",
                F.col("_metadata.file_path").alias("_file"),
                F.col("_metadata.row_index").alias("_row"),
            )
        files = sorted(file_key(f) for f in frame.inputFiles())
    except AnalysisException as exc:
        raise SparkEngineError(f"{', '.join(paths)}: cannot read: {str(exc).splitlines()[0]}") from exc
    return raw, files


def _display_names(paths: list[str], files: list[str]) -> dict[int, str]:
    """The file name each rejection names: the path as given for a one-file input."""
    if len(paths) == 1 and len(files) == 1:
        return {0: paths[0]}
    return {rank: unquote(f[5:] if f.startswith("file:/") else f) for rank, f in enumerate(files)}


def _line_offsets(raw: DataFrame) -> dict[tuple[str, int], int]:
    """Lines before each split of JSON Lines files (counted natively, only when a rejection
    lies beyond a file's first split)."""
    by_file: dict[str, list[tuple[int, int]]] = {}
    for row in raw.groupBy("_file", "_block").count().collect():
        by_file.setdefault(file_key(row["_file"]), []).append((int(row["_block"]), int(row["count"])))
    out: dict[tuple[str, int], int] = {}
    for file, blocks in by_file.items():
        total = 0
        for block, count in sorted(blocks):
            out[(file, block)] = total
            total += count
    return out


@contextmanager
def _stage_progress(spark: SparkSession, description: str, enabled: bool) -> Iterator[None]:
    """Draw Spark's task progress (all active stages) on the console while the block runs."""
    if not enabled:
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crimedetect.cli.common import console

    tracker = spark.sparkContext.statusTracker()
    stop = threading.Event()
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tasks"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=None)

        def poll() -> None:
            while not stop.wait(0.5):
                done = total = 0
                for stage_id in tracker.getActiveStageIds():
                    info = tracker.getStageInfo(stage_id)
                    if info is not None:
                        done += info.numCompletedTasks
                        total += info.numTasks
                if total:
                    progress.update(task, completed=done, total=total)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=2)


def _one_file(spark: SparkSession, path: str, single_file: bool | None) -> bool:
    """Write ``path`` as one file from the driver (local master and local path), else as a
    folder of ordered part files written by the executors."""
    if single_file is not None:
        return single_file
    local_fs = not _has_scheme(path) or path.startswith("file:")
    return local_fs and spark.sparkContext.master.startswith("local")


def _local_path(path: str) -> Path:
    return Path(path[len("file://") :] if path.startswith("file://") else path)


def _beside(out: str, name: str) -> str:
    """A side file next to ``out`` (``flags.jsonl`` -> ``flags.rejected.jsonl``), for any URI."""
    from crimedetect.scan import ScanPaths

    if not _has_scheme(out):
        return str(getattr(ScanPaths.beside(out), name))
    head, _, leaf = out.rstrip("/").rpartition("/")
    stem = leaf.rsplit(".", 1)[0] if "." in leaf else leaf
    suffix = {
        "rejected": "rejected.jsonl",
        "problems": "problems.jsonl",
        "summary": "summary.csv",
        "top": "top.csv",
    }
    return f"{head}/{stem}.{suffix[name]}"


def _write_streams(
    spark: SparkSession,
    streams: Mapping[str, tuple[DataFrame, str]],
    single_file: bool | None,
    *,
    progress: bool,
    total: int,
) -> Counter[str]:
    """Write each stream (``k0, rank, block, idx, value``) in key order to its path.

    Folders (cluster, remote paths): one globally sorted Spark write per stream. Single
    files (local master, local paths): ONE Spark job stages every stream sorted within
    partitions, and the driver merges the sorted parts into each file (no global sort, no
    job per partition). Flags go through :class:`~crimedetect.io.ContractWriter` (JSON Lines
    or Parquet, the local engine's bytes). Returns the crime problems counted on the way.
    """
    import heapq

    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    from crimedetect.scan import track

    keys = ["k0", *ORDER]
    crime_problems: Counter[str] = Counter()
    staged: dict[str, str] = {}
    for name, (frame, path) in streams.items():
        if _one_file(spark, path, single_file):
            staged[name] = path
            continue
        ordered = frame.orderBy(*keys)
        if name == "flags" and input_format([path]) == "parquet":
            _write_flags_parquet(ordered, path)
        else:
            ordered.select("value").write.mode("overwrite").text(path)
    if "problems" in streams and "problems" not in staged:
        for row in streams["problems"][0].where("k0 = 1").select("value").collect():
            crime_problems[json.loads(row["value"])["problem"]] += 1
    if not staged:
        return crime_problems
    stage_root = Path(tempfile.mkdtemp(prefix="stage-", dir=_WORK_DIRS.get(id(spark))))
    try:
        union = None
        for name in staged:
            frame = streams[name][0].select(F.lit(name).alias("stream"), *keys, "value")
            union = frame if union is None else union.unionByName(frame)
        assert union is not None
        union.sortWithinPartitions("stream", *keys).write.mode("overwrite").partitionBy("stream").parquet(
            str(stage_root)
        )

        def merged(name: str) -> Iterator[tuple[Any, ...]]:
            parts = sorted((stage_root / f"stream={name}").glob("*.parquet"))

            def rows(part: Path) -> Iterator[tuple[Any, ...]]:
                for batch in pq.ParquetFile(part).iter_batches(columns=[*keys, "value"]):
                    yield from zip(*(batch.column(c).to_pylist() for c in (*keys, "value")), strict=True)

            return heapq.merge(*(rows(p) for p in parts), key=lambda row: row[:4])

        for name, path in staged.items():
            target = _local_path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if name == "flags":
                with ContractWriter(target, "flags") as writer:
                    for row in track(merged(name), "writing flags", total=total, enabled=progress):
                        writer.write(json.loads(row[4]))
                continue
            with target.open("w", encoding="utf-8") as handle:
                for row in merged(name):
                    handle.write(row[4] + "\n")
                    if name == "problems" and row[0] == 1:
                        crime_problems[json.loads(row[4])["problem"]] += 1
    finally:
        shutil.rmtree(stage_root, ignore_errors=True)
    return crime_problems


def _put_small_file(spark: SparkSession, local: Path, path: str) -> None:
    """Copy a small local file (summary, worklist) to ``path`` on any Hadoop file system."""
    if not _has_scheme(path) or path.startswith("file:"):
        target = _local_path(path)
        if target.resolve() != local.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        return
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(str(local.resolve())), hadoop_path)


def run_spark_scan(
    records_path: str | Path | Sequence[str | Path],
    crimes_path: str | Path | Sequence[str | Path] | None,
    out: str | Path,
    *,
    pipeline: PipelineFactory | None = None,
    rules_config: str | None = None,
    model_uri: str | None = None,
    rules_only: bool = False,
    workers: int = 1,
    batch_size: int = 64,
    resume: bool = False,
    top: int | None = None,
    rejected_path: str | Path | None = None,
    problems_path: str | Path | None = None,
    summary_path: str | Path | None = None,
    top_path: str | Path | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    progress: bool = False,
    priority: Any | None = None,
    stop_after: int | None = None,
    on_note: Any | None = None,
    master: str | None = None,
    spark: SparkSession | None = None,
    partitions: int | None = None,
    records_format: str | None = None,
    crimes_format: str | None = None,
    single_file: bool | None = None,
    link_back: bool = True,
    ship_files: bool | None = None,
    conf: Mapping[str, str] | None = None,
    reconcile_config: str | None = None,
) -> Any:
    """The scan of :func:`crimedetect.scan.run_scan` on Spark; returns its ``ScanSummary``.

    Same arguments and side files as ``run_scan`` (flags, rejected lines, problems, summary
    CSV, top-K worklist), and the same bytes on the same input. ``records_path`` and
    ``crimes_path`` may also be folders, globs or lists, at any Hadoop-compatible path
    (``hdfs://``, ``s3a://``, ``abfss://``...), as JSON Lines or Parquet. Outputs on a local
    master and local path are single files written by the driver; otherwise folders of
    ordered part files. ``pipeline`` replaces the detector built from ``rules_config`` and
    ``model_uri`` (any picklable, hashable object with ``build()``). ``workers`` is ignored
    (Spark's cores are the workers); ``resume`` and ``stop_after`` are not supported: Spark
    re-runs failed tasks instead. ``link_back`` (default, as in the local engine) gives a
    record the crimes of records that link to it (``CrimeIndex.add_links``). ``spark``: an
    existing session, left running (as is one already running in this process on the same
    master); else one is created on ``master`` and stopped at the end.

    The summary has an extra attribute ``spark`` (:class:`SparkScanSummary`).
    """
    del workers  # Spark's cores do the work
    if resume or stop_after is not None:
        raise SparkEngineError("--resume is not supported by the Spark engine: Spark re-runs failed tasks")
    started = time.perf_counter()
    if spark is None:
        spark = _running_session(master)
    own_session = spark is None
    if spark is None:
        spark = create_session(master, shuffle_partitions=partitions, conf=conf)
    _quiet_pandas_warning()
    try:
        return _run(
            spark,
            records=_as_list(records_path),
            crimes=_as_list(crimes_path),
            out=str(out),
            pipeline=pipeline,
            rules_config=rules_config,
            model_uri=model_uri,
            rules_only=rules_only,
            batch_size=batch_size,
            top=top,
            side={
                "rejected": str(rejected_path) if rejected_path else _beside(str(out), "rejected"),
                "problems": str(problems_path) if problems_path else _beside(str(out), "problems"),
                "summary": str(summary_path) if summary_path else _beside(str(out), "summary"),
                "top": str(top_path) if top_path else _beside(str(out), "top"),
            },
            max_line_bytes=max_line_bytes,
            progress=progress,
            priority=priority,
            on_note=on_note,
            partitions=partitions,
            records_format=records_format,
            crimes_format=crimes_format,
            single_file=single_file,
            link_back=link_back,
            ship_files=ship_files,
            started=started,
            reconcile_config=reconcile_config,
        )
    finally:
        if own_session:
            stop_session(spark)


def _run(
    spark: SparkSession,
    *,
    records: list[str],
    crimes: list[str],
    out: str,
    pipeline: PipelineFactory | None,
    rules_config: str | None,
    model_uri: str | None,
    rules_only: bool,
    batch_size: int,
    top: int | None,
    side: dict[str, str],
    max_line_bytes: int,
    progress: bool,
    priority: Any | None,
    on_note: Any | None,
    partitions: int | None,
    records_format: str | None,
    crimes_format: str | None,
    single_file: bool | None,
    link_back: bool,
    ship_files: bool | None,
    started: float,
    reconcile_config: str | None = None,
) -> Any:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from crimedetect.reconcile import load_settings
    from crimedetect.scan import ScanSummary, _Ranked, _top_row, write_top

    sc = spark.sparkContext
    if partitions:
        spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    n_partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
    notes: list[str] = []
    if pipeline is None:
        model = resolve_model(model_uri, rules_only, notes)
        if (not sc.master.startswith("local")) if ship_files is None else ship_files:
            rules_config, model = ship(spark, rules_config), ship(spark, model)
        pipeline = PipelineSpec(rules_config=rules_config, model=model)
    for note in notes:
        if on_note:
            on_note(note)

    # ---- parse and validate every input line in the executors
    inputs: dict[str, tuple[DataFrame, list[str], str]] = {}
    parsed: dict[str, DataFrame] = {}
    names: dict[str, dict[int, str]] = {}
    for kind, paths, fmt_given in (("records", records, records_format), ("crimes", crimes, crimes_format)):
        if not paths:
            continue
        fmt = input_format(paths, fmt_given)
        raw, files = _read_input(spark, paths, fmt)
        inputs[kind] = (raw, files, fmt)
        names[kind] = _display_names(paths, files)
        ranks = {file: rank for rank, file in enumerate(files)}
        parse = partial(parse_partition, kind=kind, fmt=fmt, ranks=ranks, max_line_bytes=max_line_bytes)
        parsed[kind] = raw.mapInArrow(parse, PARSED_SCHEMA).persist(StorageLevel.MEMORY_AND_DISK)
    rec = parsed["records"]
    crm = parsed.get("crimes", spark.createDataFrame([], PARSED_SCHEMA))

    # A repeated id is rejected after its first accepted line, as read_contract does.
    by_id = Window.partitionBy("id").orderBy(*ORDER)
    rec_ranked = rec.where("ok").withColumn("n", F.row_number().over(by_id))
    crm_ranked = crm.where("ok").withColumn("n", F.row_number().over(by_id))
    rec_ok = rec_ranked.where("n = 1").drop("n")
    crm_ok = crm_ranked.where("n = 1").drop("n")

    # ---- candidate crimes per record: raised from it, from records it links to and (with
    # link_back, the default) from records linking to it; CrimeIndex picks among them.
    no_ids = F.array().cast("array<string>")
    if link_back:
        sources = (
            rec_ok.select(F.explode("keys").alias("target"), F.col("id").alias("source"))
            .groupBy("target")
            .agg(F.collect_set("source").alias("sources"))
        )
        rec_linked = rec_ok.join(sources, rec_ok["id"] == sources["target"], "left").drop("target")
    else:
        rec_linked = rec_ok.withColumn("sources", F.lit(None).cast("array<string>"))
    wanted = F.array_distinct(F.concat(F.array("id"), "keys", F.coalesce("sources", no_ids)))
    lookup = rec_linked.select("id", F.explode(wanted).alias("key"))
    crime_keys = crm_ok.select(F.explode(F.array_distinct("keys")).alias("key"), *ORDER, "payload")
    candidates = (
        lookup.join(crime_keys, "key")
        .dropDuplicates(["id", *ORDER])
        .groupBy("id")
        .agg(F.sort_array(F.collect_list(F.struct(*ORDER, "payload"))).alias("found"))
        .select("id", F.array_join(F.transform("found", lambda c: c["payload"]), "\n").alias("crimes"))
    )
    work = rec_linked.join(candidates, "id", "left").select(*ORDER, "payload", "crimes", "sources")

    # ---- detect + reconcile in the executors, one pipeline per Python worker
    built = sc.accumulator(0)
    timers = sc.accumulator((0.0, 0.0, 0.0), _SumTriple())
    scan = partial(
        scan_partition,
        spec=pipeline,
        priority=priority,
        batch_size=batch_size,
        built=built,
        timers=timers,
        settings=load_settings(reconcile_config),  # read by the driver, shipped with the task
    )
    flags = work.mapInPandas(scan, FLAGS_SCHEMA).persist(StorageLevel.MEMORY_AND_DISK)
    accounts = flags.mapInPandas(account_partition, "rank int, block long, idx long, value string").persist(
        StorageLevel.MEMORY_AND_DISK
    )
    with _stage_progress(spark, "spark scan", progress):
        partials = [json.loads(r["value"]) for r in accounts.where("rank = -1").collect()]
    log.debug("scan: parse, join, detect, reconcile: %.1f s", time.perf_counter() - started)

    # ---- rejections: parse problems and repeated ids, with line numbers
    def rejections_of(kind: str, frame: DataFrame, ranked: DataFrame) -> DataFrame:
        bad = frame.where(~F.col("ok")).select(*ORDER, "id", "field", "reason", "message", "raw")
        repeated = ranked.where("n > 1").select(
            *ORDER,
            "id",
            F.lit(KINDS[kind][1]).alias("field"),
            F.lit("duplicate_id").alias("reason"),
            F.lit(None).cast("string").alias("message"),
            F.coalesce("raw", F.substring("payload", 1, RAW_EXCERPT_CHARS)).alias("raw"),
        )
        return bad.unionByName(repeated).withColumn("kind", F.lit(kind))

    rejections = rejections_of("records", rec, rec_ranked)
    if "crimes" in parsed:
        rejections = rejections.unionByName(rejections_of("crimes", crm, crm_ranked))
    rejections = rejections.persist(StorageLevel.MEMORY_AND_DISK)
    stats = {"records": ReadStats(records[0] if len(records) == 1 else ", ".join(records))}
    if "crimes" in parsed:
        stats["crimes"] = ReadStats(crimes[0] if len(crimes) == 1 else ", ".join(crimes))
    reads = None
    for kind, frame in parsed.items():
        counted = frame.select(F.lit(kind).alias("kind"))
        reads = counted if reads is None else reads.unionByName(counted)
    assert reads is not None
    log.debug("counts: start %.1f s", time.perf_counter() - started)
    for row in reads.groupBy("kind").count().collect():
        stats[row["kind"]].read = int(row["count"])
    split_files: set[str] = set()
    for row in (
        rejections.groupBy("kind", "reason")
        .agg(F.count(F.lit(1)).alias("n"), F.max("block").alias("b"))
        .collect()
    ):
        stats[row["kind"]].rejected += int(row["n"])
        stats[row["kind"]].reasons[row["reason"]] += int(row["n"])
        if row["b"] > 0:
            split_files.add(row["kind"])
    for item in stats.values():
        item.accepted = item.read - item.rejected

    offsets: dict[str, dict[tuple[int, int], int]] = {}
    for kind, (raw, files, fmt) in inputs.items():
        if fmt == "jsonl" and kind in split_files:
            ranks = {file: rank for rank, file in enumerate(files)}
            offsets[kind] = {(ranks[f], b): n for (f, b), n in _line_offsets(raw).items()}
    formatted = rejections.mapInPandas(
        partial(format_rejections, names=names, offsets=offsets),
        "kind string, rank int, block long, idx long, value string",
    ).select(F.when(F.col("kind") == "crimes", 0).otherwise(1).alias("k0"), *ORDER, "value")
    # (the local engine reads crimes first, so their rejections come first)

    # ---- problems: records' (from their flags), then crimes' (CrimeIndex.problems against
    # the records read)
    problem_lines = accounts.where("rank >= 0").select(F.lit(0).alias("k0"), *ORDER, "value")
    if "crimes" in parsed:
        known_ids = rec_ok.select(F.col("id").alias("key")).distinct().withColumn("known", F.lit(True))
        crime_known = (
            crm_ok.select(*ORDER, "payload", F.explode_outer(F.array_distinct("keys")).alias("key"))
            .join(known_ids, "key", "left")
            .groupBy(*ORDER, "payload")
            .agg(F.collect_list(F.when(F.col("known"), F.col("key"))).alias("known"))
        )
        crime_problems = crime_known.mapInPandas(
            crime_problems_partition, "rank int, block long, idx long, value string"
        ).select(F.lit(1).alias("k0"), *ORDER, "value")
        problem_lines = problem_lines.unionByName(crime_problems)

    # ---- summary, as ScanSummary counts it
    summary = ScanSummary(records=stats["records"], crimes=stats.get("crimes"), notes=notes)
    first_key: tuple[int, int, int] | None = None
    for part in partials:
        summary.written += part["written"]
        summary.flagged += part["flagged"]
        for type_, category, n in part["findings"]:
            summary.findings[(type_, category)] += n
        for type_, category, n in part["flagged_by"]:
            summary.flagged_by[(type_, category)] += n
        for problem, n in part["problems"].items():
            summary.problems[problem] += n
        if part["first"] is not None and (first_key is None or tuple(part["first"]) < first_key):
            first_key, summary.versions = tuple(part["first"]), dict(part["versions"] or {})

    # ---- write: flags, rejected lines, problems (in input order), summary, worklist
    streams = {
        "flags": (flags.select(F.lit(0).alias("k0"), *ORDER, F.col("flag").alias("value")), out),
        "rejected": (formatted, side["rejected"]),
        "problems": (problem_lines, side["problems"]),
    }
    log.debug("write: start %.1f s", time.perf_counter() - started)
    with _stage_progress(spark, "writing", progress):
        crime_problems_seen = _write_streams(
            spark, streams, single_file, progress=progress, total=summary.written
        )
    for problem, n in crime_problems_seen.items():
        summary.problems[f"crime:{problem}"] += n
    with tempfile.TemporaryDirectory(prefix="crimedetect-spark-out-") as tmp:
        local_summary = Path(tmp) / "summary.csv"
        summary.write_csv(local_summary)
        _put_small_file(spark, local_summary, side["summary"])
        if top:
            best = flags.orderBy(F.col("priority").desc(), *ORDER).limit(top).select("flag").collect()
            ranked = [
                _Ranked(float(json.loads(r["flag"])["priority"]), -i, _top_row(json.loads(r["flag"])))
                for i, r in enumerate(best)
            ]
            local_top = Path(tmp) / "top.csv"
            write_top(local_top, ranked)
            _put_small_file(spark, local_top, side["top"])

    log.debug("done: %.1f s", time.perf_counter() - started)
    parse_s, detect_s, reconcile_s = timers.value
    summary.spark = SparkScanSummary(  # type: ignore[attr-defined]
        master=sc.master,
        partitions=n_partitions,
        pipelines_built=int(built.value),
        worker_seconds={
            "parse": round(parse_s, 1),
            "detect": round(detect_s, 1),
            "reconcile": round(reconcile_s, 1),
        },
        seconds=time.perf_counter() - started,
    )
    for frame in (flags, accounts, rejections, *parsed.values()):
        frame.unpersist()
    return summary


def _write_flags_parquet(ordered: DataFrame, out: str) -> None:
    """Flags as a folder of ordered Parquet parts, with ContractWriter's columns (nested
    fields as JSON text, the first flag's extra fields after the contract's)."""
    from crimedetect.contract import Flag

    first = ordered.select("value").first()
    extras = [k for k in json.loads(first["value"]) if k not in Flag.model_fields] if first else []
    columns = [*Flag.model_fields, *extras]
    ddl = ", ".join(f"`{c}` {'double' if c == 'priority' else 'string'}" for c in columns)
    flat = ordered.select(ordered["value"].alias("flag")).mapInPandas(
        partial(flatten_flags, columns=columns), ddl
    )
    flat.write.mode("overwrite").parquet(out)


# --------------------------------------------------------------------------- spark-submit entry


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit .../crimedetect/engines/spark.py --records R --crimes C --out F``: the scan
    on a cluster, with paths at any Hadoop-compatible location. Exit 1 when lines were rejected."""
    parser = argparse.ArgumentParser(prog="crimedetect-spark", description=main.__doc__)
    parser.add_argument("--records", nargs="+", required=True, help="JSONL/Parquet files, folders or globs")
    parser.add_argument("--crimes", nargs="*", default=[], help="crime records: files, folders or globs")
    parser.add_argument("--out", required=True, help="flags (.jsonl or .parquet; a folder on a cluster)")
    parser.add_argument("--rejected", help="rejected input lines (default: beside --out)")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[2])")
    parser.add_argument("--rules-config", help="rules config file")
    parser.add_argument("--model", help="model bundle folder or models:/ URI (default: the champion)")
    parser.add_argument("--rules-only", action="store_true", help="use the rules alone")
    parser.add_argument("--partitions", type=int, help="shuffle partitions (= detection tasks)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--top", type=int, help="write the K highest-priority records as a CSV")
    parser.add_argument("--records-format", choices=SPARK_FORMATS)
    parser.add_argument("--crimes-format", choices=SPARK_FORMATS)
    parser.add_argument(
        "--no-link-back",
        dest="link_back",
        action="store_false",
        help="records do not see the crimes of records linking to them (links one way only)",
    )
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting")
    args = parser.parse_args(argv)
    summary = run_spark_scan(
        args.records,
        args.crimes or None,
        args.out,
        rejected_path=args.rejected,
        rules_config=args.rules_config,
        model_uri=args.model,
        rules_only=args.rules_only,
        master=args.master,
        partitions=args.partitions,
        batch_size=args.batch_size,
        top=args.top,
        records_format=args.records_format,
        crimes_format=args.crimes_format,
        link_back=args.link_back,
        conf=dict(item.split("=", 1) for item in args.conf),
        on_note=lambda note: print(note, file=sys.stderr),
    )
    report = {
        "records": summary.records.to_json_dict(),
        "crimes": summary.crimes.to_json_dict() if summary.crimes else None,
        "flags": summary.written,
        "flagged": summary.flagged,
        "balanced": summary.balanced,
        "versions": summary.versions,
        "spark": vars(summary.spark),
    }
    print(json.dumps(report, indent=2), file=sys.stderr)
    rejected = summary.records.rejected + (summary.crimes.rejected if summary.crimes else 0)
    return 1 if rejected or summary.problems else 0


if __name__ == "__main__":  # spark-submit runs this file: use the package's module, not __main__
    from crimedetect.engines.spark import main as _main

    raise SystemExit(_main())
