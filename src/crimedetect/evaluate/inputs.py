"""Reading the files an evaluation needs, keeping only what the audited records use.

A force's year is ~300,000 records; an audit is a few thousand. Flags, records and crimes
are streamed and only the audited records' lines are kept, with full read accounting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crimedetect.contract import Audit, Crime, Flag, Record
from crimedetect.io import ReadStats, RejectedLines, read_contract


def read_kept(
    path: str | Path,
    kind: str,
    keep: Callable[[Any], bool],
    sink: RejectedLines | None,
    stats: list[ReadStats],
) -> list[Any]:
    """The valid lines of a contract file for which ``keep`` is true; stats appended."""
    file_stats = ReadStats(str(path))
    kept = [item for item in read_contract(path, kind, rejected=sink, stats=file_stats) if keep(item)]
    stats.append(file_stats)
    return kept


@dataclass
class EvaluationFiles:
    """Audits, plus the flags, records and crimes of the audited records."""

    audits: list[Audit]
    flags: dict[str, Flag]
    records: dict[str, Record] | None
    crimes: list[Crime] | None
    stats: list[ReadStats] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.stats)


def load_evaluation_files(
    flags: Path,
    audits: Path,
    records: Path | None = None,
    crimes: Path | None = None,
    rejected: Path | None = None,
) -> EvaluationFiles:
    """Read audits fully; stream the rest keeping the audited records' lines."""
    stats: list[ReadStats] = []
    with RejectedLines(rejected) as sink:
        audit_list: list[Audit] = read_kept(audits, "audits", lambda _: True, sink, stats)
        audited = {a.record_id for a in audit_list}
        referenced = {c.crime_id for a in audit_list for c in a.crimes if c.crime_id}
        flag_list: list[Flag] = read_kept(flags, "flags", lambda f: f.record_id in audited, sink, stats)
        record_map = None
        if records is not None:
            kept: list[Record] = read_kept(records, "records", lambda r: r.record_id in audited, sink, stats)
            record_map = {r.record_id: r for r in kept}
        crime_list = None
        if crimes is not None:
            crime_list = read_kept(
                crimes,
                "crimes",
                lambda c: c.crime_id in referenced or any(rid in audited for rid in c.record_ids),
                sink,
                stats,
            )
    return EvaluationFiles(audit_list, {f.record_id: f for f in flag_list}, record_map, crime_list, stats)
