"""``crimedetect evaluate``: flags against audits, logged to MLflow, printed as a table."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table
from crimedetect.io import ContractFileError


def _fmt(value: float, interval: tuple[float, float] | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if interval is None:
        return f"{value:.2f}"
    return f"{value:.2f} [{interval[0]:.2f}-{interval[1]:.2f}]"


def evaluate(
    flags: Path = typer.Option(..., "--flags", help="flags.jsonl written by `crimedetect scan`."),
    audits: Path = typer.Option(..., "--audits", help="audits.jsonl: the auditors' verdicts (the truth)."),
    records: Path | None = typer.Option(None, "--records", help="records.jsonl; needed to judge `late`."),
    crimes: Path | None = typer.Option(
        None, "--crimes", help="crimes.jsonl; needed for every finding type but `unrecorded`."
    ),
    experiment: str = typer.Option("crimedetect-evaluation", "--experiment", help="MLflow experiment name."),
    out: Path = typer.Option(
        Path("evaluation"), "--out", help="Folder for charts, metrics.json, errors.csv."
    ),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    mlflow_log: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log the run to MLflow."),
    rejected: Path | None = typer.Option(None, "--rejected", help="Write rejected input lines here (JSONL)."),
) -> None:
    """Record-, crime- and disclosure-level P/R/F1/F2 per finding type and category, with intervals.

    Writes charts (reliability, PR curves, confusion, F1), metrics.json and errors.csv
    (record ids and sources, never text) to --out and logs them to MLflow. Exits 1 if input
    lines were rejected or audited records have no flag line.
    """
    from crimedetect.evaluate.charts import draw_all
    from crimedetect.evaluate.core import ERROR_CAUSES, cause_counts, evaluate_flags
    from crimedetect.evaluate.inputs import load_evaluation_files
    from crimedetect.evaluate.mlflow_log import log_to_mlflow, write_errors, write_metrics

    try:
        files = load_evaluation_files(flags, audits, records, crimes, rejected)
    except ContractFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(stats_table(files.stats, title="Evaluation inputs"))
    if not files.audits:
        console.print("[red]error:[/red] no valid audits to evaluate against")
        raise typer.Exit(EXIT_DATA_PROBLEMS)
    result = evaluate_flags(
        files.flags, files.audits, files.crimes, files.records, n_boot=bootstrap, seed=seed
    )
    if result.unjudged_types:
        console.print(
            f"[yellow]not judged[/yellow] (pass --crimes/--records): {', '.join(result.unjudged_types)}"
        )
    if result.missing_flags:
        console.print(
            f"[yellow]{len(result.missing_flags)} audited records have no flag line[/yellow] "
            f"(evaluated as nothing found), e.g. {', '.join(result.missing_flags[:5])}"
        )

    out.mkdir(parents=True, exist_ok=True)
    artifacts = draw_all(result, out)
    artifacts.append(write_metrics(result, out / "metrics.json"))
    artifacts.append(write_errors(result, out / "errors.csv"))

    table = Table(
        title=f"Flags vs audits: {len(result.record_ids)} audited records "
        f"(95% bootstrap intervals, {bootstrap} resamples)"
    )
    for column in ("level", "group", "support", "tp", "fp", "fn", "precision", "recall", "F1", "F2"):
        table.add_column(column, justify="left" if column in ("level", "group") else "right")
    for row in result.rows:
        if row.support == 0 and row.fp == 0:
            continue
        if row.level == "record" and row.group.startswith("category:"):
            continue
        values = [_fmt(row.values[m], row.intervals.get(m)) for m in ("precision", "recall", "f1", "f2")]
        table.add_row(row.level, row.group, str(row.support), str(row.tp), str(row.fp), str(row.fn), *values)
    Console(width=max(console.width, 150)).print(table)
    causes = cause_counts(result.errors)
    if causes:
        columns = [c for c in ERROR_CAUSES if any(cause == c for _, cause in causes)]
        by_cause = Table(title="Where the errors come from (findings at record level; errors.csv 'cause')")
        by_cause.add_column("type")
        for column in columns:
            by_cause.add_column(column.replace("_", " "), justify="right")
        for kind in dict.fromkeys(kind for kind, _ in causes):
            by_cause.add_row(kind, *(str(causes.get((kind, c), "")) for c in columns))
        Console(width=max(console.width, 150)).print(by_cause)
    console.print(f"charts, metrics.json and errors.csv ({len(result.errors)} error rows) in {out}/")

    if mlflow_log:
        named = {"flags": flags, "audits": audits}
        if records:
            named["records"] = records
        if crimes:
            named["crimes"] = crimes
        uri, run_id = log_to_mlflow(
            result, named, artifacts, experiment=experiment, params={"bootstrap_seed": str(seed)}
        )
        console.print(f"MLflow run {run_id} in experiment {experiment!r} at {uri}")
    problems = files.rejected or result.missing_flags
    raise typer.Exit(EXIT_DATA_PROBLEMS if problems else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add ``crimedetect evaluate``."""
    app.command()(evaluate)
