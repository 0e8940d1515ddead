"""Training data: records joined with their audits, turned into labelled entry examples.

An audit says which categories a record discloses and, in ``evidence``, the words that show
it. The classifier reads entries (the encoder's window), so each audited category is placed
on the entry that holds its evidence. Where the evidence cannot be found the label stays at
record level: the category is masked out (no loss) on every entry and a record-level window
carries it instead. Entries of a positive record that do not hold the evidence are also masked
for that category: they may repeat the disclosure, and calling them negative would teach the
model to miss it. Weak labels from the rules are optional and weighted below audited ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crimedetect.contract import CATEGORIES, Audit, Disclosure, Record

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


@dataclass
class LabelledRecord:
    """A record, the categories its audit gives, and the entries holding the evidence."""

    record: Record
    categories: set[str]
    located: dict[str, set[int]] = field(default_factory=dict)

    @property
    def unlocated(self) -> set[str]:
        """Audited categories whose evidence was found in no entry."""
        return {c for c in self.categories if not self.located.get(c)}


@dataclass
class Example:
    """One classifier input: an entry's (or a whole record's) text with labels and a loss mask."""

    text: str
    labels: list[float]
    mask: list[float]
    record_index: int
    entry_index: int  # -1 for a record-level window


def locate_evidence(record: Record, evidence: str | None) -> set[int]:
    """Indices of the entries whose text contains ``evidence`` (case and spacing ignored)."""
    if not evidence or not evidence.strip():
        return set()
    wanted = _norm(evidence)
    hits = {i for i, e in enumerate(record.entries) if wanted in _norm(e.text)}
    if hits:
        return hits
    # Auditors sometimes elide ("he hit her ... took phone"): try each quoted piece.
    pieces = [p for p in re.split(r"\.\.\.|…", wanted) if len(p.strip()) >= 12]
    return {i for i, e in enumerate(record.entries) for p in pieces if p.strip() in _norm(e.text)}


def label_records(records: Sequence[Record], audits: Sequence[Audit]) -> tuple[list[LabelledRecord], int]:
    """Join records with audits by record id; returns (labelled, records without an audit)."""
    by_id = {a.record_id: a for a in audits}
    labelled: list[LabelledRecord] = []
    unaudited = 0
    for record in records:
        audit = by_id.get(record.record_id)
        if audit is None:
            unaudited += 1
            continue
        item = LabelledRecord(record=record, categories=set())
        for crime in audit.crimes:
            category = str(crime.category)
            item.categories.add(category)
            item.located.setdefault(category, set()).update(locate_evidence(record, crime.evidence))
        labelled.append(item)
    return labelled, unaudited


def record_text(record: Record, max_chars: int = 4000) -> str:
    """The entries of a record joined, for record-level windows and the TF-IDF baseline."""
    return "\n".join(e.text for e in record.entries)[:max_chars]


def entry_examples(
    labelled: Sequence[LabelledRecord],
    weak: Sequence[list[Disclosure]] | None = None,
    weak_weight: float = 0.5,
) -> list[Example]:
    """Entry-level examples (plus record-level ones for unlocated labels).

    ``weak``: rule disclosures per labelled record; their evidence entries become positives
    with mask weight ``weak_weight`` for categories the audit does not decide (an audited
    record's categories are ground truth, so weak labels only fill the masked cells).
    """
    examples: list[Example] = []
    for r, item in enumerate(labelled):
        weak_entries: dict[str, set[int]] = {}
        if weak is not None:
            for disclosure in weak[r]:
                for ev in disclosure.evidence:
                    weak_entries.setdefault(str(disclosure.category), set()).add(ev.entry)
        for e, entry in enumerate(item.record.entries):
            labels = [0.0] * len(CATEGORIES)
            mask = [1.0] * len(CATEGORIES)
            for k, category in enumerate(CATEGORIES):
                if e in item.located.get(category, set()):
                    labels[k] = 1.0
                elif category in item.categories:
                    mask[k] = 0.0
                    if e in weak_entries.get(category, set()):
                        labels[k], mask[k] = 1.0, weak_weight
            examples.append(Example(entry.text, labels, mask, r, e))
        if item.unlocated:
            labels = [1.0 if c in item.categories else 0.0 for c in CATEGORIES]
            examples.append(Example(record_text(item.record), labels, [1.0] * len(CATEGORIES), r, -1))
    return examples


def record_labels(labelled: Sequence[LabelledRecord]) -> list[list[int]]:
    """A 0/1 row per record over :data:`CATEGORIES` (the truth for record-level metrics)."""
    return [[1 if c in item.categories else 0 for c in CATEGORIES] for item in labelled]


def load_labelled(
    records_path: str | Path, audits_path: str | Path, rejected: str | Path | None = None
) -> tuple[list[LabelledRecord], dict[str, Any]]:
    """Read records and audits through the contract reader; returns labelled records and counts."""
    from crimedetect.io import ReadStats, RejectedLines, read_contract

    stats = {"records": ReadStats(str(records_path)), "audits": ReadStats(str(audits_path))}
    with RejectedLines(rejected, append=True) as sink:
        records = list(read_contract(records_path, "records", rejected=sink, stats=stats["records"]))
        audits = list(read_contract(audits_path, "audits", rejected=sink, stats=stats["audits"]))
    labelled, unaudited = label_records(records, audits)
    counts = {
        "records_read": stats["records"].read,
        "records_rejected": stats["records"].rejected,
        "audits_read": stats["audits"].read,
        "audits_rejected": stats["audits"].rejected,
        "records_labelled": len(labelled),
        "records_unaudited": unaudited,
    }
    return labelled, counts
