"""Write a synthetic force to ``records.jsonl``, ``crimes.jsonl`` and ``audits.jsonl``, resumably.

A ``synth.json`` manifest beside the files records the run's parameters. With ``resume``,
the three files are cut back to the last record that all of them hold complete, and
generation continues from there: the result is byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from crimedetect.contract import Audit, Crime, Record
from crimedetect.io import ContractWriter
from crimedetect.synth.generator import DEFAULT_PROFILE, generate
from crimedetect.synth.profile import load_profile

FILES = ("records.jsonl", "crimes.jsonl", "audits.jsonl")
MANIFEST = "synth.json"


class ResumeError(ValueError):
    """The folder holds a different run, or files that cannot be resumed."""


@dataclass
class SynthSummary:
    """What one run wrote (this call) and where the run now stands."""

    out_dir: Path
    records: int
    crimes: int
    audits: int
    resumed_from: int

    def to_json_dict(self) -> dict[str, object]:
        return {
            "out_dir": str(self.out_dir),
            "records": self.records,
            "crimes": self.crimes,
            "audits": self.audits,
            "resumed_from": self.resumed_from,
        }


def _complete_lines(path: Path) -> tuple[int, int]:
    """(number of complete lines, byte offset just after the last complete line)."""
    count = offset = 0
    if not path.exists():
        return 0, 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            count += 1
            offset += len(line)
    return count, offset


def _cut_to_lines(path: Path, keep: int) -> None:
    offset = seen = 0
    with path.open("rb") as handle:
        for line in handle:
            if seen == keep or not line.endswith(b"\n"):
                break
            seen += 1
            offset += len(line)
    with path.open("r+b") as handle:
        handle.truncate(offset)


def _crimes_progress(path: Path) -> int:
    """Records whose crimes are surely all written: those before the last complete crime's record.

    (The last record seen may have more crimes still unwritten; later records may have none.)
    """
    last = 0
    if path.exists():
        with path.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                last = _record_index(json.loads(line)["crime_id"])
    return last


def _record_index(crime_id: str) -> int:
    """The record number inside a generated crime id (``SYNC-TR-16-0000123-1`` -> 123)."""
    return int(crime_id.rsplit("-", 2)[1])


def _cut_crimes(path: Path, keep_records: int) -> int:
    """Cut crimes.jsonl after the last crime of record ``keep_records - 1``; return crimes kept."""
    offset = kept = 0
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n") or _record_index(json.loads(line)["crime_id"]) >= keep_records:
                break
            kept += 1
            offset += len(line)
    with path.open("r+b") as handle:
        handle.truncate(offset)
    return kept


def write_synthetic(
    out_dir: str | Path,
    n_records: int,
    seed: int = 7,
    profile: str = DEFAULT_PROFILE,
    split: str = "train",
    *,
    resume: bool = False,
    wrap: Callable[
        [Iterable[tuple[Record, list[Crime], Audit]], int], Iterator[tuple[Record, list[Crime], Audit]]
    ]
    | None = None,
) -> SynthSummary:
    """Generate ``n_records`` records and write the three contract files into ``out_dir``.

    ``wrap(items, total)`` may wrap the stream (a progress bar); ``resume`` continues a run
    that stopped part-way (same parameters required).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prof = load_profile(profile)
    params = {"n_records": n_records, "seed": seed, "profile": prof.name, "split": split, "version": 1}
    manifest = out / MANIFEST
    start = 0
    if resume and manifest.exists():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        complete = previous.pop("complete", False)
        if previous != params:
            raise ResumeError(f"{manifest}: holds a run with {previous}, not {params}; use a new folder")
        if complete:
            return SynthSummary(out, 0, 0, 0, n_records)
        n_rec, _ = _complete_lines(out / "records.jsonl")
        n_aud, _ = _complete_lines(out / "audits.jsonl")
        start = min(n_rec, n_aud, _crimes_progress(out / "crimes.jsonl"))
        _cut_to_lines(out / "records.jsonl", start)
        _cut_to_lines(out / "audits.jsonl", start)
        _cut_crimes(out / "crimes.jsonl", start)
    else:
        manifest.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    append = start > 0
    stream: Iterable[tuple[Record, list[Crime], Audit]] = generate(n_records, seed, prof, split, start=start)
    if wrap is not None:
        stream = wrap(stream, n_records - start)
    writers = [
        ContractWriter(out / name, kind, append=append)
        for name, kind in zip(FILES, ("records", "crimes", "audits"), strict=True)
    ]
    records_w, crimes_w, audits_w = writers
    try:
        for record, crimes, audit in stream:
            records_w.write(record)
            for crime in crimes:
                crimes_w.write(crime)
            audits_w.write(audit)
    finally:
        for writer in writers:
            writer.close()
    manifest.write_text(json.dumps({**params, "complete": True}, indent=2) + "\n", encoding="utf-8")
    return SynthSummary(out, records_w.count, crimes_w.count, audits_w.count, start)
