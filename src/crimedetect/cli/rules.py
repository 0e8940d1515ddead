"""`crimedetect rules` commands and `crimedetect explain` (registered by the rules stage)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table, track
from crimedetect.io import ContractFileError, ReadStats, RejectedLines, read_contract


def _out() -> Console:
    """stdout; wide when piped, so tables of rule ids are not cut."""
    return Console() if sys.stdout.isatty() else Console(width=160)


rules_app = typer.Typer(
    help="Offence rules: validate the rule files, report rules against audits.", no_args_is_help=True
)


@rules_app.command("validate")
def validate_rules(
    rules_dir: Path | None = typer.Option(
        None, help="A directory of rule files; default: the packaged ones."
    ),
    config: Path | None = typer.Option(
        None, help="A pipeline config to build (checks every pattern compiles)."
    ),
) -> None:
    """Validate offence_patterns.yaml, context_rules.yaml, victims.yaml and counting.yaml.

    Exits 1 naming file, rule and field when a file is invalid.
    """
    from rich.table import Table

    from crimedetect.rules.pipeline import build_pipeline
    from crimedetect.rules.schema import FILES, RuleFileError, default_rules_dir, load_rule_file

    base = rules_dir or default_rules_dir()
    table = Table(title=f"Rule files in {base}")
    for column in ("file", "version", "rules", "status"):
        table.add_column(column)
    failed = False
    for name in FILES:
        try:
            data = load_rule_file(base / name)
        except RuleFileError as exc:
            failed = True
            table.add_row(name, "-", "-", "[red]invalid[/red]")
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            continue
        count = sum(
            len(getattr(data, field, None) or [])
            for field in ("rules", "cues", "roles", "subsumed_by", "counted_alongside")
        )
        table.add_row(name, data.version, str(count), "[green]ok[/green]")
    if not failed:
        overrides: dict[str, object] = {}
        if rules_dir is not None:
            for component in ("crimedetect_offences", "crimedetect_context", "crimedetect_victims"):
                overrides[f"components.{component}.rules_dir"] = str(rules_dir)
        try:
            build_pipeline(config, overrides)
        except (RuleFileError, ValueError) as exc:
            failed = True
            console.print(f"[red]error:[/red] {exc}", highlight=False)
    console.print(table)
    raise typer.Exit(EXIT_DATA_PROBLEMS if failed else EXIT_OK)


def _read(path: Path, kind: str, rejected: RejectedLines) -> tuple[list, ReadStats]:
    stats = ReadStats(str(path))
    try:
        items = list(read_contract(path, kind, rejected=rejected, stats=stats))
    except (ContractFileError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    return items, stats


@rules_app.command("report")
def report(
    records: Path = typer.Option(..., help="records file (JSONL, CSV or Parquet)."),
    audits: Path = typer.Option(..., help="audits file: the ground truth."),
    config: Path | None = typer.Option(None, help="Rules pipeline config; default: the packaged one."),
    out: Path | None = typer.Option(None, help="Also write the summary as JSON Lines (one rule a line)."),
    rejected: Path | None = typer.Option(None, help="Write rejected input lines here."),
) -> None:
    """Per rule: fires, records, excluded by context, judged out, hits, false hits, accuracy."""
    from crimedetect.rules import RuleDetector
    from crimedetect.rules.report import report_table, rule_report

    with RejectedLines(rejected) as sink:
        record_list, record_stats = _read(records, "records", sink)
        audit_list, audit_stats = _read(audits, "audits", sink)
    console.print(stats_table([record_stats, audit_stats]))
    by_id = {a.record_id: a for a in audit_list}
    detector = RuleDetector(str(config) if config else None)
    audited = [
        r
        for r in track(record_list, "checking audited records", total=len(record_list))
        if r.record_id in by_id
    ]
    rows = rule_report(audited, by_id, detector)
    _out().print(report_table(rows))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        console.print(f"summary written to {out}")
    problems = record_stats.rejected + audit_stats.rejected
    raise typer.Exit(EXIT_DATA_PROBLEMS if problems else EXIT_OK)


def explain(
    record_id: str = typer.Argument(..., help="The record to explain."),
    records: Path = typer.Option(..., help="records file containing it."),
    config: Path | None = typer.Option(None, help="Rules pipeline config; default: the packaged one."),
) -> None:
    """Print a record with its evidence highlighted, the rules that fired and the cues weighed."""
    from crimedetect.rules import RuleDetector
    from crimedetect.rules.counting import count
    from crimedetect.rules.report import explain as render

    stats = ReadStats(str(records))
    found = None
    try:
        for record in read_contract(records, "records", stats=stats):
            if record.record_id == record_id:
                found = record
                break
    except (ContractFileError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    if found is None:
        console.print(
            f"[red]error:[/red] record {record_id!r} is not in {records} ({stats.accepted} records read, "
            f"{stats.rejected} rejected)"
        )
        raise typer.Exit(EXIT_USAGE)
    detector = RuleDetector(str(config) if config else None)
    trace = detector.trace([found])[0]
    disclosures = count(found, trace.candidates, detector.counting)
    _out().print(render(found, disclosures, trace))
    console.print(f"rules version {detector.version}", style="dim")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app: ``rules validate``, ``rules report``, ``explain``."""
    app.add_typer(rules_app, name="rules")
    app.command("explain")(explain)
