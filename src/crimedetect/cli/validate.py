"""``crimedetect validate``: check files against the data contract."""

from __future__ import annotations

from pathlib import Path

import typer

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table
from crimedetect.io import DEFAULT_MAX_LINE_BYTES, ContractFileError, ReadStats, RejectedLines, read_contract


def validate(
    files: list[Path] = typer.Argument(..., help="Contract files: JSON Lines, CSV or Parquet."),
    kind: str | None = typer.Option(
        None, help="records, crimes, audits or flags; by default taken from each file's name."
    ),
    rejected: Path | None = typer.Option(
        None, help="Write every rejected line, with file, line, field and reason, to this JSONL file."
    ),
    max_line_bytes: int = typer.Option(DEFAULT_MAX_LINE_BYTES, help="Reject lines longer than this."),
    show: int = typer.Option(5, help="How many of the first errors to print per file."),
) -> None:
    """Check files against the contract; print per-file counts and the first errors.

    Exits 1 if any line is rejected.
    """
    all_stats: list[ReadStats] = []
    with RejectedLines(rejected) as sink:
        for path in files:
            stats = ReadStats(str(path))
            try:
                for _ in read_contract(
                    path, kind, rejected=sink, stats=stats, max_line_bytes=max_line_bytes, keep_errors=show
                ):
                    pass
            except ContractFileError as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(EXIT_USAGE) from exc
            all_stats.append(stats)
    console.print(stats_table(all_stats, title="Contract check"))
    for stats in all_stats:
        for rejection in stats.first_errors:
            console.print(
                f"  [yellow]{rejection.file}:{rejection.line}[/yellow] {rejection.field}: "
                f"{rejection.reason}: {rejection.message}",
                markup=True,
                highlight=False,
            )
    if rejected:
        console.print(f"rejected lines written to {rejected}")
    total_rejected = sum(s.rejected for s in all_stats)
    raise typer.Exit(EXIT_DATA_PROBLEMS if total_rejected else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(validate)
