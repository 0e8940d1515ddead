"""``crimedetect report``: the inspection-style HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table, track
from crimedetect.io import ContractFileError, ReadStats, RejectedLines, read_contract


def report(
    flags: Path = typer.Option(..., "--flags", help="flags.jsonl written by `crimedetect scan`."),
    estimate: Path | None = typer.Option(
        None,
        "--estimate",
        help="estimate.json from `crimedetect audit estimate --out` (headline rate with interval).",
    ),
    out: Path = typer.Option(Path("report.html"), "--out", help="The HTML report (self-contained)."),
    title: str = typer.Option("Crime recording: inspection-style report", "--title", help="Report title."),
    top: int = typer.Option(25, "--top", min=1, help="How many top flagged records to list."),
    rejected: Path | None = typer.Option(None, "--rejected", help="Write rejected flag lines here (JSONL)."),
) -> None:
    """Headline recording rate with interval, rates by family, timeliness, N100 use, cancellations,
    the top flagged records by id, with charts inline. Exits 1 if flag lines were rejected."""
    from crimedetect.report.build import load_estimate, write_report

    estimate_data = None
    if estimate is not None:
        try:
            estimate_data = load_estimate(estimate)
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            console.print(f"[red]error:[/red] {estimate}: {exc}")
            raise typer.Exit(EXIT_USAGE) from exc
    stats = ReadStats(str(flags))
    try:
        with RejectedLines(rejected) as sink:
            flag_iter = track(read_contract(flags, "flags", rejected=sink, stats=stats), "reading flags")
            write_report(
                flag_iter,
                out,
                estimate=estimate_data,
                title=title,
                flags_name=flags.name,
                estimate_name=estimate.name if estimate else None,
                top_n=top,
            )
    except ContractFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(stats_table([stats], title="Report input"))
    console.print(f"report written to {out}")
    raise typer.Exit(EXIT_DATA_PROBLEMS if stats.rejected else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add ``crimedetect report``."""
    app.command()(report)
