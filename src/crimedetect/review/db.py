"""The review database: tables, engine and schema (SQLite by default, PostgreSQL by URL).

Imported scan output (flags, records, crimes) lives in plain tables that a new import may
replace. Supervisors' decisions live in ``decision_events``, which is append-only: the code
never updates or deletes a row, and database triggers refuse it on SQLite and PostgreSQL.
A record's current decision for a finding is its latest event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFAULT_DB_URL = "sqlite:///review.db"


def utcnow() -> datetime:
    """Now in UTC, without tzinfo (how the database stores every time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime | None) -> datetime | None:
    """A zoned time as naive UTC for storage; None stays None."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def iso_z(value: datetime | None) -> str | None:
    """A stored naive-UTC time as ISO 8601 with ``Z``."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Key/value settings, e.g. the generated secret that signs login-form CSRF tokens."""

    __tablename__ = "review_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "review_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SessionRow(Base):
    """A login session; ``id`` is the SHA-256 of the cookie token, never the token itself."""

    __tablename__ = "review_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("review_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class LoginEvent(Base):
    """Every login attempt, for the audit trail and for throttling guessing."""

    __tablename__ = "review_login_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(String(16), default="login")


class RecordRow(Base):
    __tablename__ = "review_records"
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class CrimeRow(Base):
    __tablename__ = "review_crimes"
    crime_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    category: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class CrimeLink(Base):
    """Which source records a crime was raised from (``crimes.record_ids``)."""

    __tablename__ = "review_crime_records"
    crime_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class FlagRow(Base):
    """One line of flags.jsonl plus the derived columns the queue sorts and filters on.

    ``status`` is ``unflagged`` (no findings), ``open`` (a finding without a decision) or
    ``decided``; it is a cache of the decision events, recomputed when one is written.
    """

    __tablename__ = "review_flags"
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    priority: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    n_findings: Mapped[int] = mapped_column(Integer)
    n_decided: Mapped[int] = mapped_column(Integer, default=0)
    categories: Mapped[str] = mapped_column(Text)
    finding_types: Mapped[str] = mapped_column(Text)
    last_decision: Mapped[str | None] = mapped_column(String(32))
    last_decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class QueueFacet(Base):
    """The review queue as an index: one row per flagged record and facet it can be
    filtered by (``*`` every flagged record, ``c:<category>``, ``t:<finding type>``,
    ``ct:<category>:<type>``), carrying the sort key and the other filter columns.

    A queue page or count reads only the most selective facet's range of one index, so
    its cost follows the size of the answer, not of the database.
    """

    __tablename__ = "review_queue"
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    facet: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[float] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)


# Pages: a facet's range in queue order, filters read from the index entries.
Index(
    "ix_review_queue_order",
    QueueFacet.facet,
    QueueFacet.priority.desc(),
    QueueFacet.record_id,
    QueueFacet.status,
    QueueFacet.kind,
    QueueFacet.opened_at,
)
# Counts: a facet's range grouped by status, narrower than the page index.
Index("ix_review_queue_counts", QueueFacet.facet, QueueFacet.status, QueueFacet.kind, QueueFacet.opened_at)


class DecisionEvent(Base):
    """One supervisor decision on one finding. Append-only: a change is a new event."""

    __tablename__ = "review_decision_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(200))
    finding_key: Mapped[str] = mapped_column(String(300))
    finding_type: Mapped[str] = mapped_column(String(32))
    finding_category: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(64))
    crime_ref: Mapped[str | None] = mapped_column(String(200))
    rationale: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("review_users.id"))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    supersedes_id: Mapped[int | None] = mapped_column(Integer)
    flag_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_review_events_record", "record_id", "finding_key", "id"),
        Index("ix_review_events_created", "created_at"),
    )


_EVENTS = DecisionEvent.__table__.name

for _op in ("UPDATE", "DELETE"):
    event.listen(
        DecisionEvent.__table__,
        "after_create",
        DDL(
            f"CREATE TRIGGER IF NOT EXISTS {_EVENTS}_no_{_op.lower()} BEFORE {_op} ON {_EVENTS} "
            "BEGIN SELECT RAISE(ABORT, 'decision events are append-only'); END"
        ).execute_if(dialect="sqlite"),
    )

event.listen(
    DecisionEvent.__table__,
    "after_create",
    DDL(
        "CREATE OR REPLACE FUNCTION review_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'decision events are append-only'; END; $$ LANGUAGE plpgsql"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    DecisionEvent.__table__,
    "after_create",
    DDL(
        f"CREATE TRIGGER {_EVENTS}_append_only BEFORE UPDATE OR DELETE ON {_EVENTS} "
        "FOR EACH ROW EXECUTE FUNCTION review_events_append_only()"
    ).execute_if(dialect="postgresql"),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: keeps the queue indexes hot at 100k+ flags
    cursor.close()


_ENGINES: dict[str, Engine] = {}


def make_engine(url: str = DEFAULT_DB_URL, *, create: bool = True) -> Engine:
    """An engine for ``url`` with the schema created (once per URL per process)."""
    if url in _ENGINES:
        return _ENGINES[url]
    # hide_parameters: SQL errors must not carry record text into logs or tracebacks.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        Base.metadata.create_all(engine)
    _ENGINES[url] = engine
    return engine


def dispose_engine(url: str) -> None:
    """Close and forget the cached engine for ``url`` (tests, and after a CLI command)."""
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
