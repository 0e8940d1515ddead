"""Ground truth from audits: what an auditor's verdict says the findings of a record are.

This is the ONE place where audit labels become expected findings and recording outcomes;
evaluation, audit estimates, the simulation and the scan stage's own quality checks all use
it. The conventions are those of the dev set's README (``shared/data/dev/README.md``):

- an audit crime whose ``crime_id`` is null was never recorded: ``unrecorded``;
- an audit crime pointing to a ``cancelled`` crime: the cancellation lacked additional
  verifiable information: ``cancellation_unsupported`` (and the crime is not recorded);
- an audit crime pointing to a ``transferred`` crime is another force's crime: not missed,
  left out of this force's recording rate, and not judged for timeliness or category;
- an audit crime pointing to an ``n100`` record: an N100 is not a crime record, so the
  crime is ``unrecorded``;
- ``late``: the crime's ``recorded_at`` is more than the edition's timeliness limit (24h)
  after the entry that contains the audit crime's ``evidence``;
- ``misclassified``: the audit category is neither the force crime's category nor its
  offence code's (``reconcile.crime_categories``); the finding carries the audit's category;
- ``n100_required`` with no N100 record raised from the record: ``n100_missing`` (rape).

What cannot be judged without the crime or record files is listed in ``RecordTruth.unjudged``
instead of being guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from crimedetect.contract import Audit, Crime, Finding, Record
from crimedetect.hocr import counting_edition
from crimedetect.reconcile import crime_categories

#: Finding types and what they need besides the audits to be judged.
NEEDS: dict[str, tuple[str, ...]] = {
    "unrecorded": (),
    "misclassified": ("crimes",),
    "late": ("crimes", "records"),
    "n100_missing": ("crimes",),
    "cancellation_unsupported": ("crimes",),
}


@dataclass(frozen=True)
class TruthFinding:
    """One expected finding: the audit's version of a ``Finding``."""

    record_id: str
    type: str
    category: str
    count: int = 1
    crime_id: str | None = None

    def to_finding(self) -> Finding:
        """As a contract ``Finding`` (score 1: it is the truth)."""
        return Finding(
            type=self.type,
            category=self.category,
            count=self.count,
            score=1.0,
            detail="audit truth",
            crime_id=self.crime_id,
        )


@dataclass
class RecordTruth:
    """Everything the audit of one record says, in counts by category.

    ``should_record`` counts the crimes this force should have recorded (transferred crimes
    excluded); ``recorded`` counts those it did record (late or misclassified still count as
    recorded; cancelled-without-AVI and N100-instead-of-crime do not).
    """

    record_id: str
    should_record: Counter[str] = field(default_factory=Counter)
    recorded: Counter[str] = field(default_factory=Counter)
    transferred: Counter[str] = field(default_factory=Counter)
    findings: list[TruthFinding] = field(default_factory=list)
    n100_required: bool = False
    unjudged: set[str] = field(default_factory=set)
    unknown_crime_ids: list[str] = field(default_factory=list)

    @property
    def unrecorded_total(self) -> int:
        return sum(self.should_record.values()) - sum(self.recorded.values())

    def finding_counts(self) -> Counter[tuple[str, str]]:
        """Expected findings as counts keyed by (type, category)."""
        out: Counter[tuple[str, str]] = Counter()
        for f in self.findings:
            out[(f.type, f.category)] += f.count
        return out


class CrimeLookup:
    """Crimes by id and by source record (an index only; matching lives in reconcile)."""

    def __init__(self, crimes: Iterable[Crime]) -> None:
        self.by_id: dict[str, Crime] = {}
        self.by_record: dict[str, list[Crime]] = {}
        for crime in crimes:
            self.by_id[crime.crime_id] = crime
            for record_id in crime.record_ids:
                self.by_record.setdefault(record_id, []).append(crime)


_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


def evidence_entry(record: Record, evidence: str | None) -> int | None:
    """Index of the first entry whose text contains the evidence (case and spacing ignored).

    Falls back to the entry sharing the most words with the evidence; None without evidence.
    """
    if not evidence or not evidence.strip():
        return None
    wanted = _norm(evidence)
    for i, entry in enumerate(record.entries):
        if wanted in _norm(entry.text):
            return i
    words = set(wanted.split())
    overlaps = [len(words & set(_norm(e.text).split())) for e in record.entries]
    best = max(range(len(overlaps)), key=lambda i: (overlaps[i], -i))
    return best if overlaps[best] > 0 else None


def audit_truth(
    audit: Audit,
    *,
    crimes: CrimeLookup | None = None,
    record: Record | None = None,
) -> RecordTruth:
    """The expected findings and recording outcome of one audited record.

    ``crimes`` (the force's crime records) is needed for every finding type except
    ``unrecorded``; ``record`` (the source record) for ``late``. Types that cannot be judged
    are put in ``unjudged`` and produce no expected findings.
    """
    truth = RecordTruth(record_id=audit.record_id, n100_required=bool(audit.n100_required))
    if crimes is None:
        truth.unjudged.update(t for t, needs in NEEDS.items() if "crimes" in needs)
    if record is None:
        truth.unjudged.add("late")
    unrecorded: Counter[str] = Counter()
    for audit_crime in audit.crimes:
        category = str(audit_crime.category)
        crime = crimes.by_id.get(audit_crime.crime_id) if crimes and audit_crime.crime_id else None
        if audit_crime.crime_id is None:
            truth.should_record[category] += 1
            unrecorded[category] += 1
            continue
        if crime is None:
            # Either no crime file, or an id the crime file lacks: counted as recorded.
            if crimes is not None:
                truth.unknown_crime_ids.append(audit_crime.crime_id)
            truth.should_record[category] += 1
            truth.recorded[category] += 1
            continue
        status = str(crime.status)
        if status == "transferred":
            # Another force's crime: not missed, and nothing of this force's to judge.
            truth.transferred[category] += 1
            continue
        truth.should_record[category] += 1
        if status == "cancelled":
            truth.findings.append(
                TruthFinding(audit.record_id, "cancellation_unsupported", category, 1, crime.crime_id)
            )
        elif status == "n100":
            unrecorded[category] += 1
        else:
            truth.recorded[category] += 1
        if status != "n100" and category not in crime_categories(crime):
            truth.findings.append(TruthFinding(audit.record_id, "misclassified", category, 1, crime.crime_id))
        if record is not None and crime.recorded_at is not None and status != "n100":
            index = evidence_entry(record, audit_crime.evidence)
            disclosed_at = record.entries[index].at if index is not None else record.opened_at
            if disclosed_at is not None:
                limit_h = counting_edition(disclosed_at).timeliness_hours
                if (crime.recorded_at - disclosed_at).total_seconds() > limit_h * 3600:
                    truth.findings.append(TruthFinding(audit.record_id, "late", category, 1, crime.crime_id))
    for category, count in sorted(unrecorded.items()):
        truth.findings.insert(0, TruthFinding(audit.record_id, "unrecorded", category, count))
    if truth.n100_required and crimes is not None:
        raised = [c for c in crimes.by_record.get(audit.record_id, []) if str(c.status) == "n100"]
        has_rape_crime = any(
            c.resolved_category == "rape" and str(c.status) != "n100"
            for c in crimes.by_record.get(audit.record_id, [])
        )
        if not raised and not has_rape_crime:
            truth.findings.append(TruthFinding(audit.record_id, "n100_missing", "rape", 1))
    return truth


def truths_for(
    audits: Iterable[Audit],
    crimes: Iterable[Crime] | None = None,
    records: Mapping[str, Record] | Sequence[Record] | None = None,
) -> dict[str, RecordTruth]:
    """``audit_truth`` for many audits, keyed by record id (records may be a list or a dict)."""
    lookup = CrimeLookup(crimes) if crimes is not None else None
    if records is not None and not isinstance(records, Mapping):
        records = {r.record_id: r for r in records}
    out: dict[str, RecordTruth] = {}
    for audit in audits:
        record = records.get(audit.record_id) if records is not None else None
        truth = audit_truth(audit, crimes=lookup, record=record)
        if records is not None and record is None:
            truth.unjudged.add("late")
        out[audit.record_id] = truth
    return out
