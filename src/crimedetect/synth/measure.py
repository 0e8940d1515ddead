"""Measure a force's recording against its profile's targets, as an inspection would.

Works on any contract files (records, crimes, audits), not only synthetic ones:

- audits are read by ``evaluate.truth.audit_truth`` (the project's one reading of the
  labels): recorded share = recorded / should have been recorded, where late and
  misclassified crimes count as recorded, crimes cancelled without AVI do not, and
  transferred crimes are left out;
- overall, families (``contract.FAMILIES``) and timeliness are measured on the main sample,
  incident and other records, as inspections do; ``safeguarding`` = crimes disclosed in
  safeguarding records (the targeted public-protection sample); ``modern_slavery`` = slavery
  crimes in any record; ``all records`` = every audit crime, whatever the record kind;
- within 24h = of crimes with a crime record (recorded or cancelled), the share not ``late``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from crimedetect.contract import FAMILIES, Audit, Crime, Record
from crimedetect.evaluate.truth import CrimeLookup, audit_truth
from crimedetect.synth.profile import Profile

#: Record kinds of an inspection's main sample (control-room incident records and other
#: reports); referrals to public protection teams are a separate, targeted sample.
MAIN_SAMPLE_KINDS = ("incident", "other")


@dataclass
class Share:
    """A proportion with its count, and a 95% Wilson interval."""

    hits: int = 0
    total: int = 0

    def add_many(self, hits: int, total: int) -> None:
        self.hits += hits
        self.total += total

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else float("nan")

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        n = self.total
        if not n:
            return (float("nan"), float("nan"))
        p = self.hits / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (centre - half, centre + half)


@dataclass
class RateMeter:
    """Accumulates recording rates record by record (streaming)."""

    recorded: dict[str, Share] = field(default_factory=dict)
    within_24h: dict[str, Share] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def _share(self, table: dict[str, Share], key: str) -> Share:
        if key not in table:
            table[key] = Share()
        return table[key]

    def add(self, record: Record, crimes: Iterable[Crime], audit: Audit) -> None:
        """Count one record's audit against the crimes the force recorded from it.

        The audit is read by ``evaluate.truth.audit_truth``, the project's one reading of
        audit labels: late or misclassified crimes count as recorded; cancelled without AVI
        and N100-instead-of-crime do not; transferred crimes are left out.
        """
        truth = audit_truth(audit, crimes=CrimeLookup(crimes), record=record)
        self.counts["records"] += 1
        if not audit.crimes:
            self.counts["records_without_crime"] += 1
        if truth.n100_required:
            self.counts["n100_required"] += 1
        late: Counter[str] = Counter()
        cancelled: Counter[str] = Counter()
        for finding in truth.findings:
            self.counts[finding.type] += finding.count
            if finding.type == "late":
                late[finding.category] += finding.count
            elif finding.type == "cancellation_unsupported":
                cancelled[finding.category] += finding.count
        self.counts["transferred"] += sum(truth.transferred.values())
        for category, should in truth.should_record.items():
            self.counts["crimes"] += should
            recorded = truth.recorded[category]
            timed = recorded + cancelled[category]
            for group in self._groups(record, category):
                self._share(self.recorded, group).add_many(recorded, should)
                self._share(self.within_24h, group).add_many(timed - late[category], timed)

    @staticmethod
    def _groups(record: Record, category: str) -> list[str]:
        groups = ["all records", "all: " + category]
        if record.kind in MAIN_SAMPLE_KINDS:
            groups += ["overall", category] + [f for f, cats in FAMILIES.items() if category in cats]
        elif record.kind == "safeguarding":
            groups.append("safeguarding")
        if category == "modern_slavery":
            groups.append("modern_slavery")
        return list(dict.fromkeys(groups))

    def rows(self, profile: Profile | None = None) -> list[dict[str, object]]:
        """Table rows: measure, measured share (n), 95% interval, target."""
        targets = profile.targets if profile else None
        spec = [
            ("recorded: overall", self.recorded, "overall", targets.overall if targets else None),
            ("recorded: violence", self.recorded, "violence", targets.violence if targets else None),
            (
                "recorded: sexual offences",
                self.recorded,
                "sexual_offences",
                targets.sexual_offences if targets else None,
            ),
            ("recorded: rape", self.recorded, "rape", targets.rape if targets else None),
            (
                "recorded: safeguarding referrals",
                self.recorded,
                "safeguarding",
                targets.safeguarding if targets else None,
            ),
            (
                "recorded: modern slavery",
                self.recorded,
                "modern_slavery",
                targets.modern_slavery if targets else None,
            ),
        ]
        spec.append(("recorded: all records (all kinds)", self.recorded, "all records", None))
        for key in ("violence", "other_sexual_offence", "rape"):
            target = targets.within_24h.get(key) if targets else None
            spec.append((f"within 24h: {key.replace('_', ' ')}", self.within_24h, key, target))
        rows: list[dict[str, object]] = []
        for label, table, key, target in spec:
            share = table.get(key, Share())
            low, high = share.interval()
            rows.append(
                {
                    "measure": label,
                    "key": key,
                    "hits": share.hits,
                    "n": share.total,
                    "measured": share.value,
                    "low": low,
                    "high": high,
                    "target": target,
                }
            )
        return rows


def measure(triples: Iterable[tuple[Record, list[Crime], Audit]]) -> RateMeter:
    """Measure generator output ``(record, crimes, audit)`` without writing files."""
    meter = RateMeter()
    for record, crimes, audit in triples:
        meter.add(record, crimes, audit)
    return meter


def measure_files(records: Iterable[Record], crimes: Iterable[Crime], audits: Iterable[Audit]) -> RateMeter:
    """Measure contract files: crimes and audits are indexed in memory, records streamed.

    Records without an audit are skipped.
    """
    lookup = CrimeLookup(crimes)
    audit_by_id = {a.record_id: a for a in audits}
    meter = RateMeter()
    for record in records:
        audit = audit_by_id.get(record.record_id)
        if audit is None:
            continue
        own = {c.crime_id: c for c in lookup.by_record.get(record.record_id, [])}
        for audit_crime in audit.crimes:
            if audit_crime.crime_id and audit_crime.crime_id in lookup.by_id:
                own[audit_crime.crime_id] = lookup.by_id[audit_crime.crime_id]
        meter.add(record, own.values(), audit)
    return meter
