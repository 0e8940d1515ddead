"""``crimedetect synth``: write a synthetic force (records, crimes, full-truth audits)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.table import Table

from crimedetect.cli.common import EXIT_OK, EXIT_USAGE, console, track
from crimedetect.synth.bank import SPLITS, PhraseBankError
from crimedetect.synth.generator import DEFAULT_PROFILE
from crimedetect.synth.measure import RateMeter, measure_files
from crimedetect.synth.profile import ProfileError, available_profiles, load_profile
from crimedetect.synth.writer import ResumeError, write_synthetic


def rates_table(meter: RateMeter, profile_name: str) -> Table:
    """Measured recording rates against the profile's targets."""
    profile = load_profile(profile_name)
    table = Table(title=f"Measured vs profile {profile.name}")
    for column in ("measure", "measured", "n", "95% CI", "target"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for row in meter.rows(profile):
        measured = row["measured"]
        ok = isinstance(measured, float) and not math.isnan(measured)
        target = row["target"]
        table.add_row(
            str(row["measure"]),
            f"{measured:.1%}" if ok else "-",
            str(row["n"]),
            f"{row['low']:.1%} - {row['high']:.1%}" if ok else "-",
            f"{target:.1%}" if isinstance(target, float) else "-",
        )
    return table


def synth(
    records: int = typer.Option(1500, "--records", "-n", min=0, help="How many source records to write."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives the same files."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for records.jsonl, crimes.jsonl, audits.jsonl."
    ),
    profile: str = typer.Option(
        DEFAULT_PROFILE, help=f"Force profile: {', '.join(available_profiles())}, or a profile YAML path."
    ),
    split: str = typer.Option("train", help="Phrase bank: train or test (disjoint phrasing)."),
    resume: bool = typer.Option(False, help="Continue a run that stopped part-way in the same folder."),
    report: bool = typer.Option(False, help="Afterwards, measure recording rates against the profile."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Write a synthetic force: incident logs, safeguarding notes, crime records and full-truth audits.

    Deterministic for (records, seed, profile, split); streams in bounded memory.
    """
    if split not in SPLITS:
        console.print(f"[red]error:[/red] --split must be one of {', '.join(SPLITS)}, not {split!r}")
        raise typer.Exit(EXIT_USAGE)
    try:
        load_profile(profile)
        summary = write_synthetic(
            out,
            records,
            seed,
            profile,
            split,
            resume=resume,
            wrap=lambda items, total: track(items, "synth", total=total, enabled=progress),
        )
    except (ProfileError, PhraseBankError, ResumeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(
        f"wrote {summary.records} records, {summary.crimes} crimes, {summary.audits} audits to {out}"
        + (f" (resumed at record {summary.resumed_from})" if summary.resumed_from else "")
    )
    if report:
        from crimedetect.io import read_contract

        meter = measure_files(
            read_contract(out / "records.jsonl", "records"),
            read_contract(out / "crimes.jsonl", "crimes"),
            read_contract(out / "audits.jsonl", "audits"),
        )
        console.print(rates_table(meter, profile))
        (out / "rates.json").write_text(
            json.dumps(
                {"profile": profile, "rows": meter.rows(load_profile(profile)), "counts": dict(meter.counts)},
                indent=2,
                default=str,
            )
            + "\n",
            encoding="utf-8",
        )
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command()(synth)
