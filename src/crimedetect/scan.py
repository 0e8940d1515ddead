"""The local scan engine: records + crimes -> flags.jsonl, one line per accepted record.

``run_scan`` streams the records file in batches, runs the detection :class:`Pipeline`
(the rules in ``workers`` processes, each building its spaCy pipeline once; the model batched
in this process), reconciles each record with its crime records and writes the flags in
input order. Around that it keeps the accounts the contract asks for:

- every input line is either a flags line or a rejected line (``read == accepted +
  rejected``; rejected lines go to the rejected-lines file with file, line, field, reason);
- crimes pointing to records not read, crimes naming no record, records with entries out
  of time order and entries too long to read whole go to the problems file (and, for
  records, to the flag's ``problems`` field); nothing is dropped;
- ``resume=True`` continues an interrupted scan: complete flags lines are kept, the input is
  re-read up to that point, and the result is byte-identical to an uninterrupted run;
- the summary (read/accepted/rejected/flagged, findings by type and category) is returned and
  written as CSV; ``top`` writes the K highest-priority records as an auditors' worklist.

A scan is a pure function of (records, crimes, rules version, model version, settings): the
same inputs give the same bytes whatever the number of workers.
"""

from __future__ import annotations

import csv
import heapq
import json
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crimedetect.contract import Crime, Disclosure, Flag, Record
from crimedetect.detect import Detector, Pipeline
from crimedetect.io import (
    DEFAULT_MAX_LINE_BYTES,
    ContractWriter,
    ReadStats,
    RejectedLines,
    batched,
    read_contract,
)
from crimedetect.reconcile import CrimeIndex, ReconcileSettings, load_settings, reconcile, reconcile_version

if TYPE_CHECKING:
    from crimedetect.rules.detector import PackedRecord

DEFAULT_BATCH_SIZE = 64


class ScanError(Exception):
    """A scan that cannot start or continue (e.g. a resume against different input)."""


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class ScanPaths:
    """Where a scan writes: flags and, next to them, its side files."""

    out: Path
    rejected: Path
    problems: Path
    summary: Path
    top: Path

    @classmethod
    def beside(cls, out: str | Path, **overrides: str | Path | None) -> ScanPaths:
        out = Path(out)
        stem = out.name[: -len(out.suffix)] if out.suffix else out.name
        defaults = {
            "rejected": out.with_name(f"{stem}.rejected.jsonl"),
            "problems": out.with_name(f"{stem}.problems.jsonl"),
            "summary": out.with_name(f"{stem}.summary.csv"),
            "top": out.with_name(f"{stem}.top.csv"),
        }
        for key, value in overrides.items():
            if value is not None:
                defaults[key] = Path(value)
        return cls(out=out, **defaults)


# --------------------------------------------------------------------------- summary


@dataclass
class ScanSummary:
    """What a scan read, wrote and found; ``records.read == written + records.rejected``."""

    records: ReadStats
    crimes: ReadStats | None
    written: int = 0
    flagged: int = 0
    resumed_from: int = 0
    findings: Counter[tuple[str, str]] = field(default_factory=Counter)
    flagged_by: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    versions: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.records.read == self.written + self.records.rejected

    def add_flag(self, flag_dict: dict[str, Any]) -> None:
        self.written += 1
        findings = flag_dict.get("findings") or []
        if findings:
            self.flagged += 1
        seen: set[tuple[str, str]] = set()
        for finding in findings:
            key = (str(finding["type"]), str(finding["category"]))
            self.findings[key] += int(finding.get("count", 1))
            seen.add(key)
        for key in seen:
            self.flagged_by[key] += 1
        for problem in flag_dict.get("problems") or []:
            self.problems[f"record:{problem['problem']}"] += 1

    def rows(self) -> list[dict[str, Any]]:
        """The summary as CSV rows: ``metric, type, category, value``."""
        out: list[dict[str, Any]] = []

        def row(metric: str, value: Any, type_: str = "", category: str = "") -> None:
            out.append({"metric": metric, "type": type_, "category": category, "value": value})

        row("records_read", self.records.read)
        row("records_accepted", self.records.accepted)
        row("records_rejected", self.records.rejected)
        for reason, n in sorted(self.records.reasons.items()):
            row("records_rejected_reason", n, reason)
        if self.crimes is not None:
            row("crimes_read", self.crimes.read)
            row("crimes_accepted", self.crimes.accepted)
            row("crimes_rejected", self.crimes.rejected)
            for reason, n in sorted(self.crimes.reasons.items()):
                row("crimes_rejected_reason", n, reason)
        row("flags_written", self.written)
        row("records_flagged", self.flagged)
        for problem, n in sorted(self.problems.items()):
            row("problem", n, problem)
        for (type_, category), n in sorted(self.findings.items()):
            row("findings", n, type_, category)
        for (type_, category), n in sorted(self.flagged_by.items()):
            row("records_with_finding", n, type_, category)
        for name, version in sorted(self.versions.items()):
            row("version", version if version is not None else "none", name)
        return out

    def write_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["metric", "type", "category", "value"])
            writer.writeheader()
            writer.writerows(self.rows())


# --------------------------------------------------------------------------- records


def record_problems(record: Record, max_entry_chars: int) -> list[dict[str, Any]]:
    """What is wrong with a record that does not stop it being scanned."""
    out: list[dict[str, Any]] = []
    late = record.entries_out_of_order()
    if late:
        out.append(
            {
                "problem": "entries_out_of_order",
                "detail": (
                    f"entries {late} are earlier than the entry before them; each entry's own time is used"
                ),
            }
        )
    for index, entry in enumerate(record.entries):
        if len(entry.text) > max_entry_chars:
            out.append(
                {
                    "problem": "entry_too_long",
                    "detail": (
                        f"entry {index} is {len(entry.text):,} characters; only the first "
                        f"{max_entry_chars:,} were read for disclosures"
                    ),
                }
            )
    return out


def for_detection(record: Record, max_entry_chars: int) -> Record:
    """The record with over-long entries cut (evidence offsets stay valid: the start is kept)."""
    if all(len(e.text) <= max_entry_chars for e in record.entries):
        return record
    entries = [
        e if len(e.text) <= max_entry_chars else e.model_copy(update={"text": e.text[:max_entry_chars]})
        for e in record.entries
    ]
    return record.model_copy(update={"entries": entries})


# --------------------------------------------------------------------------- workers

_WORKER_DETECTOR: Detector | Pipeline | None = None


def flag_record(
    record: Record,
    disclosures: list[Disclosure],
    crimes: list[Crime],
    settings: Any,
    priority_model: Any,
    versions: dict[str, str],
) -> Flag:
    """One flags line: reconcile, plus the record's data problems and the versions used.

    Every engine (local, in-memory, Spark) builds its flags through this one function.
    """
    extras: dict[str, Any] = {"versions": versions}
    problems = record_problems(record, settings.max_entry_chars)
    if problems:
        extras["problems"] = problems
    return reconcile(record, disclosures, crimes, settings=settings, priority=priority_model, extras=extras)


def _init_worker(detector: Detector | Pipeline, model_threads: int | None = None) -> None:
    """Pool initializer: keep this worker's detector (the rules, or the whole pipeline with
    ``model_in_workers``); the rules' spaCy pipeline is built here (kept out of garbage
    collections), a model once, lazily, on the first batch."""
    from crimedetect.rules import RuleDetector

    global _WORKER_DETECTOR
    _WORKER_DETECTOR = detector
    if model_threads and isinstance(detector, Pipeline) and detector.bundle is not None:
        import torch

        torch.set_num_threads(model_threads)
    if isinstance(detector, RuleDetector):
        detector.build_for_worker()


def _worker_detect(records: list[Record]) -> list[list[Disclosure]]:
    assert _WORKER_DETECTOR is not None, "worker not initialised"
    return _WORKER_DETECTOR.detect(records)


def _worker_detect_packed(records: list[PackedRecord]) -> list[list[Disclosure]]:
    """The rules' disclosures of records sent packed (:func:`crimedetect.rules.detector.pack_records`:
    what the rules read, several times cheaper to pickle than the records)."""
    from crimedetect.rules import RuleDetector

    assert isinstance(_WORKER_DETECTOR, RuleDetector), "packed records are for a rules worker"
    return _WORKER_DETECTOR.detect_packed(records)


# --------------------------------------------------------------------------- detector


class KeywordBaselineDetector:
    """``crimedetect.rules.keyword_baseline`` as a detector: one disclosure per category
    whose keyword regex matches (no victim, no context, no counting), evidence at the first
    matching entry. For quality tables: what do the rules add over grepping?"""

    name = "keyword_baseline"
    version = "keyword-baseline"

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        from crimedetect.rules.baseline import _COMPILED, keyword_baseline

        out: list[list[Disclosure]] = []
        for record, categories in zip(records, keyword_baseline(records), strict=True):
            found = []
            for category in sorted(categories):
                for index, entry in enumerate(record.entries):
                    match = _COMPILED[category].search(entry.text)
                    if match:
                        evidence = {
                            "entry": index,
                            "start": match.start(),
                            "end": match.end(),
                            "text": match.group(),
                        }
                        found.append(
                            Disclosure(
                                category=category,
                                score=0.8,
                                by=["keywords"],
                                evidence=[evidence],
                                first_entry=index,
                            )
                        )
                        break
            out.append(found)
        return out


def choose_model_uri(model_uri: str | None, rules_only: bool, notes: list[str]) -> str | None:
    """The model a scan uses: ``--model``, else the registered champion, else none (rules
    only). The choice is appended to ``notes`` for the summary."""
    if rules_only:
        notes.append("rules only (--rules-only)")
        return None
    if model_uri is not None:
        return model_uri
    from crimedetect.model import champion_uri

    uri = champion_uri()
    if uri is None:
        notes.append("rules only: no champion model is registered in the tracking store")
    return uri


def operating_settings(settings: ReconcileSettings, min_finding_score: float | None) -> ReconcileSettings:
    """``settings`` with another ``min_finding_score`` (None: as they are). Flags' reconcile
    version then carries the settings' digest (:func:`reconcile_version`), as for an edited
    copy; :func:`at_operating_point` lowers a force model's stacker threshold to match."""
    if min_finding_score is None or min_finding_score == settings.min_finding_score:
        return settings
    if not 0.0 <= min_finding_score <= 1.0:
        raise ScanError(f"min_finding_score {min_finding_score}: must be between 0 and 1")
    return settings.model_copy(update={"min_finding_score": min_finding_score})


def at_operating_point(pipeline: Pipeline, min_finding_score: float | None) -> Pipeline:
    """``pipeline`` for a scan whose findings need ``min_finding_score``: a force model's
    stacker keeps categories down to it when it is under the stacker's threshold (else a lower
    gate would change no finding; :meth:`ModelBundle.with_min_score`, version ``+cut...``)."""
    bundle = pipeline.bundle
    if bundle is None or min_finding_score is None or not hasattr(bundle, "with_min_score"):
        return pipeline
    view = bundle.with_min_score(min_finding_score)
    return pipeline if view is bundle else Pipeline(pipeline.rules, view)


def build_pipeline(
    *,
    rules_config: str | None = None,
    model_uri: str | None = None,
    rules_only: bool = False,
    notes: list[str] | None = None,
    quantize: bool = False,
    model_gate: bool | str = True,
) -> Pipeline:
    """The detection pipeline: rules, plus the model at ``model_uri`` or the registered
    champion (when there is one and ``rules_only`` is off); ``quantize`` runs the model with
    7-bit weights and per-token int8 activations (CPU, about twice as fast; its version is
    marked ``+int8w7``);
    ``model_gate`` (True, the default, or a gate file) lets the encoder read only the entries
    the entry gate opens (:mod:`crimedetect.model.gate`; version marked ``+gate-...``);
    False reads every entry."""
    from crimedetect.rules import RuleDetector

    notes = notes if notes is not None else []
    rules = RuleDetector(rules_config)
    uri = choose_model_uri(model_uri, rules_only, notes)
    if uri is None:
        return Pipeline(rules)
    from crimedetect.model import load_bundle
    from crimedetect.model.gate import EntryGate

    gate = None
    if model_gate:
        gate = EntryGate(None if model_gate is True else str(model_gate), rules_config)
    bundle = load_bundle(uri, quantize=quantize, gate=gate)
    notes.append(
        f"model {bundle.version}{' (int8)' if quantize else ''}"
        f"{f', entry gate {gate.version}' if gate is not None else ''} from {uri}"
    )
    return Pipeline(rules, bundle)


# --------------------------------------------------------------------------- resume


def _complete_lines(path: Path) -> int:
    """Cut a partial last line (an interrupted write) and count the complete ones."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    with path.open("rb+") as handle:
        if size:
            # Find the last newline, reading backwards in blocks.
            position, tail_len = size, 0
            while position > 0:
                step = min(65536, position)
                handle.seek(position - step)
                block = handle.read(step)
                cut = block.rfind(b"\n")
                if cut >= 0:
                    tail_len = step - cut - 1
                    break
                position -= step
            else:
                tail_len = size
            if tail_len:
                handle.truncate(size - tail_len)
    count = 0
    with path.open("rb") as handle:
        for _ in handle:
            count += 1
    return count


def _count_lines(path: Path) -> int | None:
    if path.suffix.lower() not in (".jsonl", ".json", ".ndjson"):
        return None
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
    return count


# --------------------------------------------------------------------------- top-K


@dataclass(order=True)
class _Ranked:
    priority: float
    order: int  # negative input position: earlier records win ties
    row: dict[str, Any] = field(compare=False)


def _top_row(flag_dict: dict[str, Any]) -> dict[str, Any]:
    findings = flag_dict.get("findings") or []
    return {
        "record_id": flag_dict["record_id"],
        "priority": flag_dict["priority"],
        "findings": "; ".join(
            f"{f['type']}:{f['category']}"
            + (f"x{f['count']}" if int(f.get("count", 1)) > 1 else "")
            + (f" ({f['crime_id']})" if f.get("crime_id") else "")
            for f in findings
        ),
        "n_findings": sum(int(f.get("count", 1)) for f in findings),
        "crime_ids": " ".join(flag_dict.get("crime_ids") or []),
    }


def write_top(path: Path, ranked: Iterable[_Ranked]) -> int:
    rows = sorted(ranked, reverse=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["rank", "record_id", "priority", "n_findings", "findings", "crime_ids"]
        )
        writer.writeheader()
        for rank, item in enumerate(rows, 1):
            writer.writerow({"rank": rank, **item.row})
    return len(rows)


# --------------------------------------------------------------------------- scan


def run_scan(
    records_path: str | Path,
    crimes_path: str | Path | None,
    out: str | Path,
    *,
    pipeline: Pipeline | None = None,
    rules_config: str | None = None,
    model_uri: str | None = None,
    rules_only: bool = False,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
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
    on_note: Callable[[str], None] | None = None,
    quantize: bool = False,
    model_threads: int | None = 1,
    model_in_workers: bool = False,
    link_back: bool = True,
    model_gate: bool | str = True,
    reconcile_config: str | None = None,
    min_finding_score: float | None = None,
) -> ScanSummary:
    """Scan ``records_path`` against ``crimes_path`` and write flags to ``out``.

    ``pipeline`` defaults to :func:`build_pipeline` (rules + champion model, or rules only).
    ``stop_after`` stops after that many flags are written (to test and demonstrate resume).
    ``model_threads`` caps the model's torch threads in this process (None: torch's default);
    one thread is fastest when the rules workers share the cores. ``model_in_workers`` runs
    the model in the worker processes too (each loads its own copy), for when the model, not
    the rules, is the bottleneck; the flags are the same. Links are symmetric: a record sees
    the crimes of the records it links to and of those linking to it (``link_back``, read in
    a first pass over the records; ``link_back=False`` keeps only its own links).
    ``model_gate`` (True or a gate file) runs the encoder only on the entries the entry gate
    opens (see :func:`build_pipeline`). ``reconcile_config``: a reconcile settings file
    (default: the packaged ``resources/reconcile.yaml``); flags' ``versions`` name it.
    ``min_finding_score`` sets the scan's operating point: the score a disclosure needs to
    raise a finding, in place of the settings' own (see :func:`operating_settings`).
    Returns the summary; the side files are written beside ``out`` unless paths are given.
    """
    records_path, out = Path(records_path), Path(out)
    paths = ScanPaths.beside(
        out, rejected=rejected_path, problems=problems_path, summary=summary_path, top=top_path
    )
    settings = operating_settings(load_settings(reconcile_config), min_finding_score)
    notes: list[str] = []
    if pipeline is None:
        pipeline = build_pipeline(
            rules_config=rules_config,
            model_uri=model_uri,
            rules_only=rules_only,
            notes=notes,
            quantize=quantize,
            model_gate=model_gate,
        )
    pipeline = at_operating_point(pipeline, min_finding_score)
    if pipeline.bundle is not None and model_threads:
        import torch

        torch.set_num_threads(model_threads)
    from crimedetect.priority import load_priority_model

    priority_model = priority if priority is not None else load_priority_model()
    versions: dict[str, Any] = {
        **pipeline.versions,
        "priority": priority_model.version,
        "reconcile": reconcile_version(settings),
    }
    summary = ScanSummary(records=ReadStats(str(records_path)), crimes=None, versions=versions, notes=notes)
    for note in notes:
        if on_note:
            on_note(note)

    done = _complete_lines(out) if resume else 0
    summary.resumed_from = done
    ranked: list[_Ranked] = []
    record_ids: set[str] = set()
    position = 0

    def keep_top(flag_dict: dict[str, Any]) -> None:
        if not top:
            return
        item = _Ranked(float(flag_dict["priority"]), -position, _top_row(flag_dict))
        if len(ranked) < top:
            heapq.heappush(ranked, item)
        elif item > ranked[0]:
            heapq.heapreplace(ranked, item)

    paths.problems.parent.mkdir(parents=True, exist_ok=True)
    problems_out = paths.problems.open("w", encoding="utf-8")
    rejected = RejectedLines(paths.rejected)
    pool = None
    try:
        # Crimes first: they are looked up by record.
        index = CrimeIndex()
        if crimes_path is not None:
            summary.crimes = ReadStats(str(crimes_path))
            for crime in read_contract(
                crimes_path, "crimes", rejected=rejected, stats=summary.crimes, max_line_bytes=max_line_bytes
            ):
                assert isinstance(crime, Crime)
                index.add(crime)
            if link_back:
                link_records(index, records_path, max_line_bytes)

        previous: Iterator[bytes] | None = None
        previous_handle = None
        if done:
            previous_handle = out.open("rb")
            previous = iter(previous_handle)

        def accepted() -> Iterator[Record]:
            """Accepted records after those already written (whose flags are re-read)."""
            nonlocal position
            stream = read_contract(
                records_path,
                "records",
                rejected=rejected,
                stats=summary.records,
                max_line_bytes=max_line_bytes,
            )
            total = _count_lines(records_path)
            for record in track(stream, "scanning records", total=total, enabled=progress):
                assert isinstance(record, Record)
                record_ids.add(record.record_id)
                if position < done:
                    assert previous is not None
                    flag_dict = json.loads(next(previous))
                    if position == 0 and flag_dict.get("versions") != versions:
                        raise ScanError(
                            f"{out} was written with {flag_dict.get('versions')}, this scan uses {versions}; "
                            "a resumed scan must use the same rules, model and settings: scan again "
                            "without --resume"
                        )
                    if flag_dict.get("record_id") != record.record_id:
                        raise ScanError(
                            f"{out}: line {position + 1} is for {flag_dict.get('record_id')!r} but "
                            f"input record {position + 1} is {record.record_id!r}; this flags file is "
                            "not from this input: scan again without --resume"
                        )
                    _account(flag_dict)
                    position += 1
                    continue
                yield record

        def _account(flag_dict: dict[str, Any]) -> None:
            summary.add_flag(flag_dict)
            keep_top(flag_dict)
            for problem in flag_dict.get("problems") or []:
                problems_out.write(
                    json.dumps(
                        {"kind": "record", "record_id": flag_dict["record_id"], **problem}, ensure_ascii=False
                    )
                    + "\n"
                )

        if workers > 1:
            from crimedetect.rules.detector import RuleDetector, pack_records

            context = multiprocessing.get_context("spawn")
            in_workers = pipeline if model_in_workers else pipeline.rules
            pool = context.Pool(workers, initializer=_init_worker, initargs=(in_workers, model_threads))
            packed = isinstance(in_workers, RuleDetector)

        writer = ContractWriter(out, "flags", append=bool(done), batch_size=batch_size)
        try:
            pending: deque[tuple[list[Record], list[Record], Any]] = deque()

            def finish_batch(batch: list[Record], prepared: list[Record], rule_result: Any) -> None:
                nonlocal position
                if pool is not None and model_in_workers:
                    disclosures = rule_result.get()  # the workers ran the whole pipeline
                else:
                    rule_disclosures = rule_result.get() if pool is not None else rule_result
                    disclosures = pipeline.finish(prepared, rule_disclosures)
                for record, found in zip(batch, disclosures, strict=True):
                    flag = flag_record(
                        record, found, index.for_record(record), settings, priority_model, versions
                    )
                    flag_dict = flag.to_json_dict()
                    writer.write(flag_dict)
                    _account(flag_dict)
                    position += 1
                writer.flush()

            stream: Iterable[Record] = accepted()
            if stop_after is not None:
                stream = islice(stream, stop_after)
            for batch in batched(stream, batch_size):
                prepared = [for_detection(r, settings.max_entry_chars) for r in batch]
                if pool is not None:
                    job = (
                        pool.apply_async(_worker_detect_packed, (pack_records(prepared),))
                        if packed
                        else pool.apply_async(_worker_detect, (prepared,))
                    )
                    pending.append((batch, prepared, job))
                    while len(pending) > 2 * workers:
                        finish_batch(*pending.popleft())
                else:
                    finish_batch(batch, prepared, pipeline.rules.detect(prepared))
            while pending:
                finish_batch(*pending.popleft())
            if position < done:
                raise ScanError(
                    f"{out} has {done} flags but {records_path} has only {position} accepted records; "
                    "this flags file is not from this input: scan again without --resume"
                )
        finally:
            writer.close()
            if previous_handle is not None:
                previous_handle.close()
        if stop_after is not None and position - done >= stop_after:
            summary.notes.append(
                f"stopped after {position - done} new flags (stop_after); run again with resume"
            )
            return summary

        for problem in index.problems(record_ids):
            summary.problems[f"crime:{problem.problem}"] += 1
            problems_out.write(
                json.dumps(
                    {
                        "kind": "crime",
                        "crime_id": problem.crime_id,
                        "problem": problem.problem,
                        "detail": problem.detail,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        rejected.close()
        problems_out.close()
    summary.write_csv(paths.summary)
    if top:
        write_top(paths.top, ranked)
    return summary


def link_records(index: CrimeIndex, records_path: str | Path, max_line_bytes: int) -> int:
    """Register the links of every accepted record in ``records_path`` with the index (a
    first pass, so that a record sees the crimes of records that link to it before they are
    reached). Rejections are left to the scan's own pass. Returns the links registered."""
    count = 0
    for record in read_contract(records_path, "records", max_line_bytes=max_line_bytes):
        assert isinstance(record, Record)
        if record.linked_record_ids:
            index.add_links(record.record_id, record.linked_record_ids)
            count += len(record.linked_record_ids)
    return count


def track(items: Iterable[Any], description: str, total: int | None, *, enabled: bool) -> Iterator[Any]:
    """The shared progress bar (``cli.common.track``), imported only when drawn."""
    if not enabled:
        yield from items
        return
    from crimedetect.cli.common import track as draw

    yield from draw(items, description, total=total)


def scan_records(
    records: Sequence[Record],
    crimes: Iterable[Crime],
    pipeline: Pipeline | Detector,
    *,
    priority: Any | None = None,
    link_back: bool = True,
    reconcile_config: str | None = None,
    min_finding_score: float | None = None,
) -> list[Flag]:
    """Flags for records held in memory (tests, notebooks, the web app): the same flags as
    :func:`run_scan` without the files. Links are symmetric as there: ``link_back`` gives a
    record the crimes of the records among ``records`` that link to it."""
    from crimedetect.priority import load_priority_model

    settings = operating_settings(load_settings(reconcile_config), min_finding_score)
    if isinstance(pipeline, Pipeline):
        pipeline = at_operating_point(pipeline, min_finding_score)
    priority_model = priority if priority is not None else load_priority_model()
    index = CrimeIndex.build(crimes)
    if link_back:
        for record in records:
            index.add_links(record.record_id, record.linked_record_ids)
    prepared = [for_detection(r, settings.max_entry_chars) for r in records]
    disclosures = pipeline.detect(prepared)
    detector_versions = (
        pipeline.versions if isinstance(pipeline, Pipeline) else {"rules": pipeline.version, "model": None}
    )
    versions = {
        **detector_versions,
        "priority": priority_model.version,
        "reconcile": reconcile_version(settings),
    }
    out = []
    for record, found in zip(records, disclosures, strict=True):
        out.append(flag_record(record, found, index.for_record(record), settings, priority_model, versions))
    return out


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
