"""`crimedetect serve`, `crimedetect users ...` and `crimedetect review ...` (the review stage).

The web stack (FastAPI, SQLAlchemy, uvicorn) is imported inside the commands, so the rest
of the CLI starts quickly.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import typer

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table, track

DB_HELP = "Review database URL: sqlite:///review.db (default) or postgresql+psycopg://user@host/db."
LOOPBACK = ("127.0.0.1", "localhost", "::1")

users_app = typer.Typer(help="Manage review app users (supervisor, auditor, admin).", no_args_is_help=True)
review_app = typer.Typer(
    help="Load scan output into the review database; export decisions.", no_args_is_help=True
)


def _lazy_rejected(path: Path) -> Any:
    """A rejected-lines sink that creates its file only when a line is rejected."""
    from crimedetect.io import RejectedLines, Rejection

    class LazyRejectedLines(RejectedLines):
        def __init__(self, target: Path) -> None:
            super().__init__(None)
            self.target = target

        def write(self, rejection: Rejection) -> None:
            if self._handle is None:
                self.target.parent.mkdir(parents=True, exist_ok=True)
                self.path = self.target
                self._handle = self.target.open("w", encoding="utf-8")
            super().write(rejection)

    return LazyRejectedLines(path)


def _db_url(db: str) -> str:
    """Accept a bare path as SQLite for convenience."""
    return db if "://" in db else f"sqlite:///{db}"


def _load(
    db: str,
    flags: Path | None,
    records: Path | None,
    crimes: Path | None,
    rejected: Path,
    progress: bool,
) -> int:
    """Import contract files into the review database; returns how many lines were rejected."""
    from crimedetect.io import ContractFileError
    from crimedetect.review.db import make_engine
    from crimedetect.review.store import ReviewStore

    store = ReviewStore(make_engine(_db_url(db)))

    def wrap(items: Any, description: str) -> Any:
        return track(items, description, enabled=progress)

    try:
        with _lazy_rejected(rejected) as sink:
            all_stats, counts = store.import_files(
                flags=flags, records=records, crimes=crimes, rejected=sink, wrap=wrap
            )
    except ContractFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(stats_table(all_stats, title="Loaded into the review database"))
    for count in counts:
        console.print(
            f"{count.kind}: {count.inserted} new, {count.replaced} replaced, {count.unchanged} unchanged"
        )
    rejected_lines = sum(s.rejected for s in all_stats)
    if rejected_lines:
        console.print(f"[yellow]{rejected_lines} rejected lines written to {rejected}[/yellow]")
    return rejected_lines


def _read_password(password_file: Path | None) -> str:
    """From --password-file, else $CRIMEDETECT_PASSWORD, else a hidden prompt (never echoed)."""
    from crimedetect.review.auth import PASSWORD_ENV

    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError) as exc:
            console.print(f"[red]error:[/red] cannot read a password from {password_file}")
            raise typer.Exit(EXIT_USAGE) from exc
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name (letters, digits, . _ @ -)."),
    role: str = typer.Option(..., "--role", help="supervisor, auditor or admin."),
    db: str = typer.Option("sqlite:///review.db", "--db", help=DB_HELP),
    password_file: Path | None = typer.Option(
        None, "--password-file", help="Read the password from this file's first line."
    ),
    update: bool = typer.Option(False, "--update", help="Reset an existing user's role and password."),
) -> None:
    """Add a user. The password comes from --password-file, $CRIMEDETECT_PASSWORD or a prompt."""
    from crimedetect.review.auth import AuthError, add_user
    from crimedetect.review.db import make_engine
    from crimedetect.review.store import ReviewStore

    password = _read_password(password_file)
    store = ReviewStore(make_engine(_db_url(db)))
    try:
        with store.sessions.begin() as session:
            add_user(session, name, role, password, update=update)
    except AuthError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(f"user {name!r} ({role}) {'updated' if update else 'added'}")


@users_app.command("list")
def users_list(db: str = typer.Option("sqlite:///review.db", "--db", help=DB_HELP)) -> None:
    """List users and their roles."""
    from sqlalchemy import select

    from crimedetect.review.db import User, make_engine
    from crimedetect.review.store import ReviewStore

    store = ReviewStore(make_engine(_db_url(db)))
    with store.sessions() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            typer.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'disabled'}")


@review_app.command("import")
def review_import(
    flags: Path | None = typer.Option(None, "--flags", help="flags.jsonl from `crimedetect scan`."),
    records: Path | None = typer.Option(None, "--records", help="records.jsonl the flags were made from."),
    crimes: Path | None = typer.Option(None, "--crimes", help="crimes.jsonl (the linked crime records)."),
    db: str = typer.Option("sqlite:///review.db", "--db", help=DB_HELP),
    rejected: Path = typer.Option(Path("review-rejected.jsonl"), "--rejected", help="Where bad lines go."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Load (or refresh) scan output in the review database; safe to run again."""
    if flags is None and records is None and crimes is None:
        console.print("[red]error:[/red] give at least one of --flags, --records, --crimes")
        raise typer.Exit(EXIT_USAGE)
    bad = _load(db, flags, records, crimes, rejected, progress)
    raise typer.Exit(EXIT_DATA_PROBLEMS if bad else EXIT_OK)


@review_app.command("export")
def review_export(
    db: str = typer.Option("sqlite:///review.db", "--db", help=DB_HELP),
    out: Path = typer.Option(Path("audits.jsonl"), "--out", help="Audits file (.jsonl, .csv or .parquet)."),
) -> None:
    """Write supervisors' final decisions as contract audits, ready for `crimedetect train`."""
    from crimedetect.review.db import make_engine
    from crimedetect.review.export import export_audits
    from crimedetect.review.store import ReviewStore

    stats = export_audits(ReviewStore(make_engine(_db_url(db))), out)
    console.print(
        f"{stats.exported} audits written to {out} ({stats.records_decided} records with decisions)"
    )
    for reason, count in sorted(stats.skipped.items()):
        console.print(f"  not exported: {count} {reason.replace('_', ' ')}")
    if stats.unknown_crimes:
        console.print(
            f"[yellow]{stats.unknown_crimes} crime ids in flags are not in the database; "
            "load crimes.jsonl with --crimes so audits list them[/yellow]"
        )


def serve(
    flags: Path | None = typer.Option(None, "--flags", help="flags.jsonl from `crimedetect scan`."),
    records: Path | None = typer.Option(None, "--records", help="records.jsonl the flags were made from."),
    crimes: Path | None = typer.Option(None, "--crimes", help="crimes.jsonl (the linked crime records)."),
    db: str = typer.Option("sqlite:///review.db", "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback by default."),
    port: int = typer.Option(8000, "--port"),
    rejected: Path = typer.Option(Path("review-rejected.jsonl"), "--rejected", help="Where bad lines go."),
    session_minutes: int = typer.Option(30, "--session-minutes", help="Idle time before a session expires."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Served over HTTPS (behind a TLS proxy): Secure cookies and HSTS."
    ),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host", help="Extra Host header values to accept (the proxy's public name)."
    ),
) -> None:
    """Serve the supervisor review app, loading --flags/--records/--crimes first (idempotent)."""
    from datetime import timedelta

    import uvicorn
    from sqlalchemy import func, select

    from crimedetect.review.app import ReviewConfig, create_app
    from crimedetect.review.auth import SessionPolicy
    from crimedetect.review.db import User, make_engine
    from crimedetect.review.store import ReviewStore

    url = _db_url(db)
    if flags or records or crimes:
        _load(db, flags, records, crimes, rejected, progress=True)
    if not ReviewStore(make_engine(url)).has_data():
        console.print("[red]error:[/red] the review database has no flags; pass --flags and --records")
        raise typer.Exit(EXIT_USAGE)
    with ReviewStore(make_engine(url)).sessions() as session:
        if not session.scalar(select(func.count()).select_from(User)):
            console.print(
                f"[yellow]no users yet:[/yellow] crimedetect users add NAME --role supervisor --db {db}"
            )
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1", *allowed_host]
    if host not in LOOPBACK:
        hosts.append(host)
        try:
            public = not ipaddress.ip_address(host).is_loopback
        except ValueError:
            public = True
        if public:
            console.print(
                f"[yellow]warning:[/yellow] binding {host}: the app is reachable from other machines. "
                "Put it behind a TLS proxy and pass --secure-cookies."
            )
    config = ReviewConfig(
        db_url=url,
        session=SessionPolicy(idle=timedelta(minutes=session_minutes)),
        secure_cookies=secure_cookies,
        allowed_hosts=tuple(hosts),
    )
    console.print(f"review app on http://{host}:{port}/ (database {url.split('@')[-1]})")
    uvicorn.run(create_app(config), host=host, port=port, server_header=False, log_level="info")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(review_app, name="review")
