"""Loading scan output into the review database, and the queries the pages and API use.

Import is batched (one ``executemany`` per batch, never a write per record) and idempotent:
each row carries a hash of its content, unchanged rows are skipped and changed rows are
replaced. Decision events are never touched by an import; they are matched to findings by
a key (type, category, crime id), so a re-scan that reorders findings keeps its decisions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from crimedetect.contract import CATEGORIES, Crime, FindingType, Flag, Record, RecordKind
from crimedetect.io import ReadStats, RejectedLines, batched, read_contract
from crimedetect.review.auth import CurrentUser
from crimedetect.review.db import (
    CrimeLink,
    CrimeRow,
    DecisionEvent,
    FlagRow,
    QueueFacet,
    RecordRow,
    to_utc_naive,
    utcnow,
)
from crimedetect.review.decisions import DECISION_LABELS, DecisionError, DecisionInput
from crimedetect.review.highlight import EntryView, Span, entry_views

BATCH_SIZE = 1000
STATUSES = ("all", "open", "decided")
FINDING_TYPES: tuple[str, ...] = tuple(t.value for t in FindingType)
RECORD_KINDS: tuple[str, ...] = tuple(k.value for k in RecordKind)
MAX_PER_PAGE = 200


def content_hash(body: str) -> str:
    """SHA-256 of a row's JSON body (pydantic writes fields in a fixed order)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def finding_keys(findings: Sequence[dict[str, Any]]) -> list[str]:
    """A stable key per finding: ``type|category|crime_id``, numbered if repeated."""
    keys: list[str] = []
    seen: dict[str, int] = {}
    for finding in findings:
        base = f"{finding.get('type')}|{finding.get('category')}|{finding.get('crime_id') or ''}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return keys


def _value(value: Any) -> str:
    """An enum field's value. Pydantic's ``use_enum_values`` does not apply to defaults, so
    a defaulted ``kind`` or ``status`` is still an Enum whose ``str()`` is ``Kind.member``."""
    return str(value.value if isinstance(value, Enum) else value)


def facets_for(findings: Sequence[dict[str, Any]]) -> list[str]:
    """The queue facets of a flag's findings (none when it has no finding)."""
    if not findings:
        return []
    facets = ["*"]
    for f in findings:
        facets += [f"c:{f['category']}", f"t:{f['type']}", f"ct:{f['category']}:{f['type']}"]
    return list(dict.fromkeys(facets))


@dataclass
class ImportCounts:
    """What one file's import did: ``accepted == inserted + replaced + unchanged``."""

    kind: str
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.replaced + self.unchanged


@dataclass
class QueueFilter:
    """The queue's filters and page, parsed from query parameters."""

    category: str | None = None
    finding_type: str | None = None
    kind: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str = "all"
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_params(cls, params: dict[str, str]) -> tuple[QueueFilter, list[str]]:
        """Parse query parameters; unknown values are dropped and reported, never an error page."""
        errors: list[str] = []
        out = cls()

        def choice(name: str, allowed: Sequence[str]) -> str | None:
            value = (params.get(name) or "").strip()
            if not value:
                return None
            if value not in allowed:
                errors.append(f"unknown {name.replace('_', ' ')} {value!r} ignored")
                return None
            return value

        out.category = choice("category", CATEGORIES)
        out.finding_type = choice("finding_type", FINDING_TYPES)
        out.kind = choice("kind", RECORD_KINDS)
        out.status = choice("status", STATUSES) or "all"
        for name in ("date_from", "date_to"):
            value = (params.get(name) or "").strip()
            if value:
                try:
                    setattr(out, name, date.fromisoformat(value))
                except ValueError:
                    errors.append(f"{name.replace('_', ' ')} {value!r} is not a date (YYYY-MM-DD); ignored")
        for name, low, high in (("page", 1, 10**9), ("per_page", 1, MAX_PER_PAGE)):
            value = (params.get(name) or "").strip()
            if value:
                try:
                    setattr(out, name, min(max(int(value), low), high))
                except ValueError:
                    errors.append(f"{name} {value!r} is not a number; ignored")
        return out, errors

    def params(self, **overrides: Any) -> dict[str, str]:
        """Query parameters for a link to this view (with overrides, e.g. another page)."""
        values = {
            "category": self.category,
            "finding_type": self.finding_type,
            "kind": self.kind,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "status": self.status if self.status != "all" else None,
            "per_page": str(self.per_page) if self.per_page != 50 else None,
            "page": str(self.page) if self.page != 1 else None,
        }
        values.update({k: (str(v) if v is not None else None) for k, v in overrides.items()})
        return {k: v for k, v in values.items() if v}


@dataclass
class QueueItem:
    record_id: str
    priority: float
    status: str
    kind: str | None
    opened_at: datetime | None
    categories: list[str]
    finding_types: list[str]
    n_findings: int
    n_decided: int
    last_decision: str | None
    last_decided_at: datetime | None

    @property
    def last_decision_label(self) -> str | None:
        return DECISION_LABELS.get(self.last_decision or "")

    def to_json_dict(self) -> dict[str, Any]:
        from crimedetect.review.db import iso_z

        return {
            "record_id": self.record_id,
            "priority": self.priority,
            "status": self.status,
            "kind": self.kind,
            "opened_at": iso_z(self.opened_at),
            "categories": self.categories,
            "finding_types": self.finding_types,
            "findings": self.n_findings,
            "decided": self.n_decided,
            "last_decision": self.last_decision,
            "last_decided_at": iso_z(self.last_decided_at),
        }


@dataclass
class QueuePage:
    items: list[QueueItem]
    open: int
    decided: int
    matching: int
    page: int
    pages: int


@dataclass
class FindingView:
    """A finding with its key, the disclosure behind it and its current decision."""

    index: int
    key: str
    finding: dict[str, Any]
    disclosure: dict[str, Any] | None
    current: DecisionEvent | None


@dataclass
class RecordView:
    record_id: str
    record: dict[str, Any] | None
    flag: dict[str, Any] | None
    status: str | None
    entries: list[EntryView]
    unplaced: list[Span]
    findings: list[FindingView]
    crimes: list[dict[str, Any]]
    history: list[DecisionEvent]
    flag_hash: str | None = None
    linked: list[str] = field(default_factory=list)


class ReviewStore:
    """The review database behind the web app, the API and the CLI."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    # ------------------------------------------------------------------ import

    def import_files(
        self,
        *,
        flags: str | Path | None = None,
        records: str | Path | None = None,
        crimes: str | Path | None = None,
        rejected: RejectedLines | None = None,
        wrap: Callable[[Iterable[Any], str], Iterable[Any]] | None = None,
    ) -> tuple[list[ReadStats], list[ImportCounts]]:
        """Load contract files (records first, so flags can take their kind and date).

        ``wrap(iterable, description)`` may add a progress bar. Returns each file's read
        statistics and import counts.
        """
        wrap = wrap or (lambda items, _desc: items)
        all_stats: list[ReadStats] = []
        counts: list[ImportCounts] = []
        for kind, path, loader in (
            ("records", records, self._import_records),
            ("crimes", crimes, self._import_crimes),
            ("flags", flags, self._import_flags),
        ):
            if path is None:
                continue
            stats = ReadStats(str(path))
            items = read_contract(path, kind, rejected=rejected, stats=stats)
            counts.append(loader(wrap(items, f"loading {kind}")))
            all_stats.append(stats)
        return all_stats, counts

    def _upsert(
        self,
        db: Session,
        model: type[Any],
        id_column: Any,
        rows: list[dict[str, Any]],
        counts: ImportCounts,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Insert new rows and replace changed ones; returns (rows written, replaced ids)."""
        ids = [row[id_column.key] for row in rows]
        existing = dict(db.execute(select(id_column, model.content_hash).where(id_column.in_(ids))).all())
        fresh, replaced = [], []
        for row in rows:
            old = existing.get(row[id_column.key])
            if old == row["content_hash"]:
                counts.unchanged += 1
                continue
            if old is None:
                counts.inserted += 1
            else:
                counts.replaced += 1
                replaced.append(row[id_column.key])
            fresh.append(row)
        if replaced:
            db.execute(delete(model).where(id_column.in_(replaced)))
        if fresh:
            db.execute(insert(model.__table__), fresh)  # Core executemany: no ORM overhead
        return fresh, replaced

    def _import_records(self, items: Iterable[Record]) -> ImportCounts:
        counts = ImportCounts("records")
        for batch in batched(items, BATCH_SIZE):
            rows = []
            for record in batch:
                body = record.model_dump_json()
                rows.append(
                    {
                        "record_id": record.record_id,
                        "kind": _value(record.kind),
                        "opened_at": to_utc_naive(record.opened_at),
                        "body": body,
                        "content_hash": content_hash(body),
                    }
                )
            with self.sessions.begin() as db:
                fresh, _replaced = self._upsert(db, RecordRow, RecordRow.record_id, rows, counts)
                if fresh:  # flags loaded before their records, or a record's kind/date changed
                    written = [r["record_id"] for r in fresh]
                    flagged = set(db.scalars(select(FlagRow.record_id).where(FlagRow.record_id.in_(written))))
                    changes = [
                        {"record_id": r["record_id"], "kind": r["kind"], "opened_at": r["opened_at"]}
                        for r in fresh
                        if r["record_id"] in flagged
                    ]
                    if changes:
                        db.execute(update(FlagRow), changes)
                        queue = QueueFacet.__table__
                        db.execute(
                            update(queue)
                            .where(queue.c.record_id == bindparam("rid"))
                            .values(kind=bindparam("new_kind"), opened_at=bindparam("new_opened")),
                            [
                                {"rid": c["record_id"], "new_kind": c["kind"], "new_opened": c["opened_at"]}
                                for c in changes
                            ],
                        )
        return counts

    def _import_crimes(self, items: Iterable[Crime]) -> ImportCounts:
        counts = ImportCounts("crimes")
        for batch in batched(items, BATCH_SIZE):
            rows, links = [], []
            for crime in batch:
                body = crime.model_dump_json()
                rows.append(
                    {
                        "crime_id": crime.crime_id,
                        "category": crime.resolved_category,
                        "status": _value(crime.status),
                        "body": body,
                        "content_hash": content_hash(body),
                    }
                )
                links.extend(
                    {"crime_id": crime.crime_id, "record_id": r} for r in dict.fromkeys(crime.record_ids)
                )
            with self.sessions.begin() as db:
                fresh, _replaced = self._upsert(db, CrimeRow, CrimeRow.crime_id, rows, counts)
                written = {r["crime_id"] for r in fresh}
                if written:
                    db.execute(delete(CrimeLink).where(CrimeLink.crime_id.in_(written)))
                    new_links = [link for link in links if link["crime_id"] in written]
                    if new_links:
                        db.execute(insert(CrimeLink), new_links)
        return counts

    def _import_flags(self, items: Iterable[Flag]) -> ImportCounts:
        counts = ImportCounts("flags")
        for batch in batched(items, BATCH_SIZE):
            rows = []
            facets_of: dict[str, list[str]] = {}
            for flag in batch:
                body = flag.model_dump_json()
                findings = [{"category": _value(f.category), "type": _value(f.type)} for f in flag.findings]
                facets_of[flag.record_id] = facets_for(findings)
                rows.append(
                    {
                        "record_id": flag.record_id,
                        "priority": float(flag.priority),
                        "status": "open" if findings else "unflagged",
                        "kind": None,
                        "opened_at": None,
                        "n_findings": len(findings),
                        "n_decided": 0,
                        "categories": ",".join(dict.fromkeys(f["category"] for f in findings)),
                        "finding_types": ",".join(dict.fromkeys(f["type"] for f in findings)),
                        "last_decision": None,
                        "last_decided_at": None,
                        "body": body,
                        "content_hash": content_hash(body),
                    }
                )
            ids = [r["record_id"] for r in rows]
            with self.sessions.begin() as db:
                meta = {
                    rid: (kind, opened)
                    for rid, kind, opened in db.execute(
                        select(RecordRow.record_id, RecordRow.kind, RecordRow.opened_at).where(
                            RecordRow.record_id.in_(ids)
                        )
                    )
                }
                for row in rows:
                    row["kind"], row["opened_at"] = meta.get(row["record_id"], (None, None))
                fresh, replaced = self._upsert(db, FlagRow, FlagRow.record_id, rows, counts)
                written = {r["record_id"] for r in fresh}
                if replaced:
                    db.execute(delete(QueueFacet).where(QueueFacet.record_id.in_(replaced)))
                facet_rows = [
                    {
                        "record_id": r["record_id"],
                        "facet": facet,
                        "status": r["status"],
                        "priority": r["priority"],
                        "kind": r["kind"],
                        "opened_at": r["opened_at"],
                    }
                    for r in fresh
                    for facet in facets_of[r["record_id"]]
                ]
                if facet_rows:
                    db.execute(insert(QueueFacet.__table__), facet_rows)
                decided = set(
                    db.scalars(
                        select(DecisionEvent.record_id).where(DecisionEvent.record_id.in_(written)).distinct()
                    )
                )
                for record_id in decided:
                    self._refresh_status(db, record_id)
        return counts

    # ------------------------------------------------------------------ queue

    def queue(self, filters: QueueFilter) -> QueuePage:
        """One page of flagged records, highest priority first, and the open/decided counts.

        Two steps: the page's record ids from the most selective facet's range of the queue
        index (cheap even at a deep offset), then those flags by primary key.
        """
        if filters.category and filters.finding_type:
            facet = f"ct:{filters.category}:{filters.finding_type}"
        elif filters.category:
            facet = f"c:{filters.category}"
        elif filters.finding_type:
            facet = f"t:{filters.finding_type}"
        else:
            facet = "*"
        q = QueueFacet
        conditions: list[Any] = [q.facet == facet]
        if filters.kind:
            conditions.append(q.kind == filters.kind)
        if filters.date_from:
            conditions.append(q.opened_at >= datetime.combine(filters.date_from, datetime.min.time()))
        if filters.date_to:
            end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
            conditions.append(q.opened_at < end)
        page_conditions = list(conditions)
        if filters.status != "all":
            page_conditions.append(q.status == filters.status)
        with self.sessions() as db:
            by_status = dict(
                db.execute(select(q.status, func.count()).where(*conditions).group_by(q.status)).all()
            )
            matching = (
                sum(by_status.values()) if filters.status == "all" else by_status.get(filters.status, 0)
            )
            pages = max(1, -(-matching // filters.per_page))
            page = min(filters.page, pages)
            ids = list(
                db.scalars(
                    select(q.record_id)
                    .where(*page_conditions)
                    .order_by(q.priority.desc(), q.record_id)
                    .limit(filters.per_page)
                    .offset((page - 1) * filters.per_page)
                )
            )
            rows = {
                r.record_id: r
                for r in db.execute(
                    select(
                        FlagRow.record_id,
                        FlagRow.priority,
                        FlagRow.status,
                        FlagRow.kind,
                        FlagRow.opened_at,
                        FlagRow.categories,
                        FlagRow.finding_types,
                        FlagRow.n_findings,
                        FlagRow.n_decided,
                        FlagRow.last_decision,
                        FlagRow.last_decided_at,
                    ).where(FlagRow.record_id.in_(ids))
                )
            }
        items = [
            QueueItem(
                record_id=r.record_id,
                priority=r.priority,
                status=r.status,
                kind=r.kind,
                opened_at=r.opened_at,
                categories=[c for c in r.categories.split(",") if c],
                finding_types=[t for t in r.finding_types.split(",") if t],
                n_findings=r.n_findings,
                n_decided=r.n_decided,
                last_decision=r.last_decision,
                last_decided_at=r.last_decided_at,
            )
            for r in (rows[i] for i in ids)
        ]
        return QueuePage(items, by_status.get("open", 0), by_status.get("decided", 0), matching, page, pages)

    # ------------------------------------------------------------------ record page

    def record_view(self, record_id: str) -> RecordView | None:
        """Everything the record page shows; None if neither a flag nor a record has this id."""
        with self.sessions() as db:
            flag_row = db.get(FlagRow, record_id)
            record_row = db.get(RecordRow, record_id)
            if flag_row is None and record_row is None:
                return None
            flag = json.loads(flag_row.body) if flag_row else None
            record = json.loads(record_row.body) if record_row else None
            history = list(
                db.scalars(
                    select(DecisionEvent)
                    .where(DecisionEvent.record_id == record_id)
                    .order_by(DecisionEvent.id.desc())
                )
            )
            crime_ids = list(flag.get("crime_ids", []) if flag else [])
            crime_ids += db.scalars(select(CrimeLink.crime_id).where(CrimeLink.record_id == record_id)).all()
            crime_ids = list(dict.fromkeys(crime_ids))
            found = {
                row.crime_id: json.loads(row.body)
                for row in db.scalars(select(CrimeRow).where(CrimeRow.crime_id.in_(crime_ids)))
            }
        crimes = [found.get(cid, {"crime_id": cid, "missing": True}) for cid in crime_ids]
        for crime in crimes:
            if crime.get("category") is None and crime.get("offence_code"):
                try:
                    crime["category"] = Crime.model_validate(crime).resolved_category
                except ValueError:
                    pass
        disclosed = flag.get("disclosed", []) if flag else []
        entries, unplaced = entry_views(record, disclosed) if record else ([], [])
        current: dict[str, DecisionEvent] = {}
        for event in reversed(history):  # oldest first, so the latest wins
            current[event.finding_key] = event
        findings_raw = flag.get("findings", []) if flag else []
        findings = []
        for index, (finding, key) in enumerate(zip(findings_raw, finding_keys(findings_raw), strict=True)):
            disclosure = next((d for d in disclosed if d.get("category") == finding.get("category")), None)
            findings.append(FindingView(index, key, finding, disclosure, current.get(key)))
        return RecordView(
            record_id=record_id,
            record=record,
            flag=flag,
            status=flag_row.status if flag_row else None,
            entries=entries,
            unplaced=unplaced,
            findings=findings,
            crimes=crimes,
            history=history,
            flag_hash=flag_row.content_hash if flag_row else None,
            linked=list(record.get("linked_record_ids", [])) if record else [],
        )

    # ------------------------------------------------------------------ decisions

    def add_decision(
        self,
        user: CurrentUser,
        record_id: str,
        finding_key: str,
        decision: DecisionInput,
        *,
        expected_current: int | None,
    ) -> DecisionEvent:
        """Append a decision event for one finding of a flagged record.

        ``expected_current`` is the id of the event the supervisor saw as current (0 for
        none); if another decision was recorded since, :class:`ConflictError` is raised
        instead of silently superseding it. None skips the check (API clients that append
        knowingly; nothing is lost either way, as events are never overwritten).
        """
        with self.sessions.begin() as db:
            flag_row = db.get(FlagRow, record_id)
            if flag_row is None:
                raise DecisionError(f"no flag for record {record_id!r}")
            flag = json.loads(flag_row.body)
            findings = flag.get("findings", [])
            keys = finding_keys(findings)
            if finding_key not in keys:
                raise DecisionError("that finding is not in this record's current flag (re-scanned?)")
            finding = findings[keys.index(finding_key)]
            latest = db.scalar(
                select(DecisionEvent.id)
                .where(DecisionEvent.record_id == record_id, DecisionEvent.finding_key == finding_key)
                .order_by(DecisionEvent.id.desc())
                .limit(1)
            )
            if expected_current is not None and (latest or 0) != expected_current:
                raise ConflictError(
                    "another decision on this finding was recorded after you opened the page; "
                    "it is shown below: review it and decide again if needed"
                )
            event = DecisionEvent(
                record_id=record_id,
                finding_key=finding_key,
                finding_type=str(finding.get("type")),
                finding_category=str(finding.get("category")),
                decision=decision.decision,
                category=decision.category,
                crime_ref=decision.crime_ref,
                rationale=decision.rationale,
                user_id=user.id,
                username=user.username,
                role=user.role,
                created_at=utcnow(),
                supersedes_id=latest,
                flag_hash=flag_row.content_hash,
            )
            db.add(event)
            db.flush()
            self._refresh_status(db, record_id)
        return event

    def _refresh_status(self, db: Session, record_id: str) -> None:
        """Recompute a flag's cached decided count, status and latest decision."""
        flag_row = db.get(FlagRow, record_id)
        if flag_row is None:
            return
        keys = set(finding_keys(json.loads(flag_row.body).get("findings", [])))
        latest: dict[str, DecisionEvent] = {}
        for event in db.scalars(
            select(DecisionEvent).where(DecisionEvent.record_id == record_id).order_by(DecisionEvent.id)
        ):
            if event.finding_key in keys:
                latest[event.finding_key] = event
        flag_row.n_decided = len(latest)
        if not keys:
            flag_row.status = "unflagged"
        else:
            flag_row.status = "decided" if len(latest) >= len(keys) else "open"
        db.execute(update(QueueFacet).where(QueueFacet.record_id == record_id).values(status=flag_row.status))
        last = max(latest.values(), key=lambda e: e.id, default=None)
        flag_row.last_decision = last.decision if last else None
        flag_row.last_decided_at = last.created_at if last else None

    def recent_events(self, page: int = 1, per_page: int = 100) -> tuple[list[DecisionEvent], int]:
        """The audit trail: every decision event, newest first, and how many there are."""
        with self.sessions() as db:
            total = db.scalar(select(func.count()).select_from(DecisionEvent)) or 0
            events = list(
                db.scalars(
                    select(DecisionEvent)
                    .order_by(DecisionEvent.id.desc())
                    .limit(per_page)
                    .offset((max(page, 1) - 1) * per_page)
                )
            )
        return events, total

    def has_data(self) -> bool:
        with self.sessions() as db:
            return db.scalar(select(FlagRow.record_id).limit(1)) is not None


class ConflictError(DecisionError):
    """The finding was decided by someone else since the page was opened."""


def event_json(event: DecisionEvent) -> dict[str, Any]:
    """A decision event for the JSON API."""
    from crimedetect.review.db import iso_z

    return {
        "id": event.id,
        "record_id": event.record_id,
        "finding_key": event.finding_key,
        "finding_type": event.finding_type,
        "finding_category": event.finding_category,
        "decision": event.decision,
        "category": event.category,
        "crime_ref": event.crime_ref,
        "rationale": event.rationale,
        "user": event.username,
        "role": event.role,
        "created_at": iso_z(event.created_at),
        "supersedes": event.supersedes_id,
    }
