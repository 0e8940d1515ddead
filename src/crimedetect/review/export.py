"""Supervisors' decisions as contract audits (``audits.jsonl``) for ``crimedetect train``.

An audit states every crime that should have been recorded from a record, so a record is
exported only when every finding of its current flag has a final decision (a referral to
the Force Crime Registrar is not final). The audit starts from the force's own crime records
for the record (recorded or transferred; cancelled ones only come back if the supervisor
says so) and applies each finding's latest decision:

- crime recorded now: the finding's crime, with the category and reference given; it
  replaces the existing crime the finding is about (e.g. a misclassified one);
- no crime: no crime for the finding; an existing crime it is about is removed if it has
  the finding's category (a cancellation that the AVI supports stays cancelled);
- already recorded: the referenced crime (from the crime records if loaded, else with the
  finding's category);
- N100 raised: ``n100_required: true``;
- refer to FCR: the record is not exported yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crimedetect.contract import Audit, AuditCrime, Crime
from crimedetect.io import ContractWriter
from crimedetect.review.db import CrimeLink, CrimeRow, DecisionEvent, FlagRow, iso_z
from crimedetect.review.decisions import DECISION_LABELS, Decision
from crimedetect.review.store import ReviewStore, finding_keys

EXPORT_SOURCE = "crimedetect review"


@dataclass
class ExportStats:
    """Counts of one export: ``records_decided == exported + sum(skipped.values())``."""

    records_decided: int = 0
    exported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    unknown_crimes: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _evidence_for(flag: dict[str, Any], category: str) -> tuple[str | None, str | None]:
    """The victim and first evidence text of the flag's disclosure of ``category``."""
    for disclosure in flag.get("disclosed", []):
        if disclosure.get("category") == category:
            evidence = disclosure.get("evidence") or [{}]
            return disclosure.get("victim"), evidence[0].get("text")
    return None, None


def build_audit(
    flag: dict[str, Any],
    events: list[DecisionEvent],
    crimes: dict[str, Crime],
) -> tuple[Audit | None, str | None]:
    """The audit for one record from its flag, its decision events (oldest first) and the
    crime records known for it; or (None, reason) when it cannot be exported yet."""
    findings = flag.get("findings", [])
    keys = finding_keys(findings)
    latest: dict[str, DecisionEvent] = {}
    for event in events:
        if event.finding_key in keys:
            latest[event.finding_key] = event
    if not latest:
        return None, "decisions_for_old_scan"
    if len(latest) < len(keys):
        return None, "findings_undecided"
    if any(e.decision == Decision.refer_fcr.value for e in latest.values()):
        return None, "referred_to_fcr"

    audit_crimes: dict[str, AuditCrime] = {}
    for crime_id, crime in sorted(crimes.items()):
        if crime.status in ("recorded", "transferred"):
            # the flag's evidence for the same category tells training which entry holds it
            victim, evidence = _evidence_for(flag, crime.resolved_category)
            audit_crimes[crime_id] = AuditCrime(
                category=crime.resolved_category,
                victim=crime.victim or victim,
                evidence=evidence,
                crime_id=crime_id,
            )
    n100_required = False
    notes: list[str] = []
    for finding, key in zip(findings, keys, strict=True):
        event = latest[key]
        category = str(finding["category"])
        existing = finding.get("crime_id")
        victim, evidence = _evidence_for(flag, category)
        note = f"{finding['type']} {category}: {DECISION_LABELS[event.decision]}"
        if event.crime_ref:
            note += f" ({event.crime_ref})"
        if event.rationale:
            note += f": {event.rationale}"
        notes.append(note)
        if event.decision == Decision.crime_recorded.value:
            slot = existing if existing else f"new:{key}"
            audit_crimes[slot] = AuditCrime(
                category=event.category or category,
                victim=victim or (crimes[existing].victim if existing in crimes else None),
                evidence=evidence,
                crime_id=event.crime_ref,
            )
        elif event.decision == Decision.no_crime.value:
            if existing and existing in audit_crimes and audit_crimes[existing].category == category:
                del audit_crimes[existing]
        elif event.decision == Decision.already_recorded.value:
            ref = event.crime_ref or existing
            known = crimes.get(ref or "")
            if known is not None and known.status == "n100":
                n100_required = True
            elif ref not in audit_crimes:
                audit_crimes[ref or f"new:{key}"] = AuditCrime(
                    category=event.category or (known.resolved_category if known else category),
                    victim=victim or (known.victim if known else None),
                    evidence=evidence,
                    crime_id=ref,
                )
        elif event.decision == Decision.n100_raised.value:
            n100_required = True
    last = max(latest.values(), key=lambda e: e.id)
    audit = Audit(
        record_id=flag["record_id"],
        auditor=last.username,
        audited_at=iso_z(last.created_at),
        crimes=list(audit_crimes.values()),
        n100_required=n100_required,
        notes="Supervisor review. " + "; ".join(notes),
        source=EXPORT_SOURCE,
        review_events=sorted(e.id for e in latest.values()),
    )
    return audit, None


def iter_audits(store: ReviewStore, stats: ExportStats) -> Iterator[Audit]:
    """Audits for every record with decisions, in record id order, streaming."""
    with store.sessions() as db:
        record_ids = list(
            db.scalars(select(DecisionEvent.record_id).distinct().order_by(DecisionEvent.record_id))
        )
    for start in range(0, len(record_ids), 500):
        chunk = record_ids[start : start + 500]
        with store.sessions() as db:
            flags = {
                r.record_id: json.loads(r.body)
                for r in db.scalars(select(FlagRow).where(FlagRow.record_id.in_(chunk)))
            }
            events: dict[str, list[DecisionEvent]] = {}
            for event in db.scalars(
                select(DecisionEvent).where(DecisionEvent.record_id.in_(chunk)).order_by(DecisionEvent.id)
            ):
                events.setdefault(event.record_id, []).append(event)
            wanted: dict[str, set[str]] = {rid: set(f.get("crime_ids", [])) for rid, f in flags.items()}
            for crime_id, record_id in db.execute(
                select(CrimeLink.crime_id, CrimeLink.record_id).where(CrimeLink.record_id.in_(chunk))
            ):
                wanted.setdefault(record_id, set()).add(crime_id)
            all_ids = set().union(*wanted.values()) if wanted else set()
            rows = {r.crime_id: r for r in db.scalars(select(CrimeRow).where(CrimeRow.crime_id.in_(all_ids)))}
        for record_id in chunk:
            stats.records_decided += 1
            flag = flags.get(record_id)
            if flag is None:
                stats.skip("flag_missing")
                continue
            crimes: dict[str, Crime] = {}
            for crime_id in wanted.get(record_id, set()):
                row = rows.get(crime_id)
                if row is None:
                    stats.unknown_crimes += 1
                    continue
                crimes[crime_id] = Crime.model_validate(json.loads(row.body))
            audit, reason = build_audit(flag, events.get(record_id, []), crimes)
            if audit is None:
                stats.skip(reason or "unknown")
                continue
            stats.exported += 1
            yield audit


def export_audits(store: ReviewStore, out: str | Path) -> ExportStats:
    """Write the audits of all finally decided records to ``out`` (JSON Lines, CSV or Parquet)."""
    stats = ExportStats()
    with ContractWriter(out, "audits") as writer:
        writer.write_all(iter_audits(store, stats))
    return stats
