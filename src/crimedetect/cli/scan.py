"""``crimedetect scan``: flag under-recording, misclassification, late recording, missing
N100s and unsupported cancellations in a force's records."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table
from crimedetect.io import DEFAULT_MAX_LINE_BYTES, ContractFileError

if TYPE_CHECKING:
    from crimedetect.scan import ScanSummary


def findings_table(summary: ScanSummary) -> Table:
    """Findings by type and category: how many crimes, in how many records."""
    table = Table(title="Findings")
    for column in ("type", "category", "findings", "records"):
        table.add_column(column, justify="right" if column in ("findings", "records") else "left")
    findings = summary.findings
    records = summary.flagged_by
    for (type_, category), n in sorted(findings.items()):
        table.add_row(type_, category, str(n), str(records[(type_, category)]))
    if not findings:
        table.add_row("-", "-", "0", "0")
    return table


def scan(
    records: Path = typer.Option(..., "--records", "-r", help="Source records (JSONL, CSV or Parquet)."),
    crimes: Path | None = typer.Option(None, "--crimes", "-c", help="The force's crime records."),
    out: Path = typer.Option(..., "--out", "-o", help="flags.jsonl to write (one line per accepted record)."),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Model bundle: a directory or models:/name@alias. Default: the registered champion.",
    ),
    rules_only: bool = typer.Option(False, "--rules-only", help="Use the rules alone, no model."),
    rules_config: str | None = typer.Option(
        None, "--rules-config", help="A rules config file (default: packaged)."
    ),
    reconcile_config: Path | None = typer.Option(
        None,
        "--reconcile-config",
        help="Reconcile settings (default: the packaged resources/reconcile.yaml); an edited copy "
        "changes how disclosures are matched to crimes, and the flags' versions say so.",
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", min=1, help="Processes for the rules (output is identical)."
    ),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Records per batch."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted scan of the same input."),
    top: int | None = typer.Option(
        None, "--top", min=1, help="Write the K highest-priority records as a CSV."
    ),
    top_out: Path | None = typer.Option(None, "--top-out", help="Worklist CSV (default: <out>.top.csv)."),
    rejected: Path | None = typer.Option(
        None, "--rejected", help="Rejected lines (default: <out>.rejected.jsonl)."
    ),
    summary_out: Path | None = typer.Option(
        None, "--summary", help="Summary CSV (default: <out>.summary.csv)."
    ),
    max_line_bytes: int = typer.Option(DEFAULT_MAX_LINE_BYTES, help="Reject input lines longer than this."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw a progress bar."),
    quantize: bool = typer.Option(False, "--quantize", help="Run the model with int8 weights (CPU, faster)."),
    model_threads: int = typer.Option(
        1, "--model-threads", min=0, help="Torch threads for the model (0: torch's default)."
    ),
    model_in_workers: bool = typer.Option(
        False, "--model-in-workers", help="Run the model in the --workers processes too (one copy each)."
    ),
    model_gate: bool = typer.Option(
        True,
        "--model-gate/--no-model-gate",
        help="The model reads only entries where the offence rules or keywords find something "
        "(resources/model_gate.yaml); --no-model-gate: every entry (slower).",
    ),
    min_finding_score: float | None = typer.Option(
        None,
        "--min-finding-score",
        min=0.0,
        max=1.0,
        help="The score a disclosure needs to raise a finding (default: the reconcile settings' "
        "0.5). Lower finds more at lower precision; with a force model the stacker's threshold "
        "follows it down (docs/scan.md, 'Operating point'). Local engine only.",
    ),
    engine: str = typer.Option("local", "--engine", help="local (streaming, one machine) or spark."),
    master: str | None = typer.Option(None, "--master", help="Spark master URL (with --engine spark)."),
) -> None:
    """Reconcile the offences records disclose with the crimes recorded; write flags.

    Writes flags (input order), rejected lines, a problems file (crimes pointing to unknown
    records, entries out of order or too long), a summary CSV and, with --top, a worklist.
    Exits 1 when lines were rejected or problems found, 2 on a usage error.
    """
    from crimedetect.scan import ScanError, ScanPaths, run_scan

    if model and rules_only:
        console.print("[red]error:[/red] --model and --rules-only exclude each other")
        raise typer.Exit(EXIT_USAGE)
    if not records.exists():
        console.print(f"[red]error:[/red] {records}: no such file")
        raise typer.Exit(EXIT_USAGE)
    if crimes is not None and not crimes.exists():
        console.print(f"[red]error:[/red] {crimes}: no such file")
        raise typer.Exit(EXIT_USAGE)
    if reconcile_config is not None and not reconcile_config.exists():
        console.print(f"[red]error:[/red] --reconcile-config {reconcile_config}: no such file")
        raise typer.Exit(EXIT_USAGE)
    if crimes is None:
        console.print("[yellow]no --crimes given: every disclosure is reported as unrecorded[/yellow]")
    if engine not in ("local", "spark"):
        console.print(f"[red]error:[/red] --engine {engine!r}: use local or spark")
        raise typer.Exit(EXIT_USAGE)
    paths = ScanPaths.beside(out, rejected=rejected, summary=summary_out, top=top_out)
    runner = run_scan
    errors: tuple[type[Exception], ...] = (ContractFileError, ScanError)
    extra: dict[str, object] = {
        "quantize": quantize,
        "model_threads": model_threads or None,
        "model_in_workers": model_in_workers,
        "model_gate": model_gate,
        "min_finding_score": min_finding_score,
    }
    if engine == "spark":
        from crimedetect.engines.spark import SparkEngineError, run_spark_scan

        if quantize or not model_gate or min_finding_score is not None:
            console.print(
                "[red]error:[/red] --quantize, --no-model-gate and --min-finding-score are for the "
                "local engine"
            )
            raise typer.Exit(EXIT_USAGE)
        runner, errors, extra = run_spark_scan, (*errors, SparkEngineError), {"master": master}
    try:
        summary = runner(
            records,
            crimes,
            out,
            model_uri=model,
            rules_only=rules_only,
            rules_config=rules_config,
            reconcile_config=str(reconcile_config) if reconcile_config else None,
            workers=workers,
            batch_size=batch_size,
            resume=resume,
            top=top,
            rejected_path=paths.rejected,
            summary_path=paths.summary,
            top_path=paths.top,
            max_line_bytes=max_line_bytes,
            progress=progress,
            on_note=lambda note: console.print(f"[cyan]{note}[/cyan]"),
            **extra,
        )
    except errors as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    except Exception as exc:
        # A bad rules, settings or model file (RuleFileError, ConfigError, BundleError...): the
        # message names the file and field; anything else is a bug and keeps its traceback.
        if not type(exc).__module__.startswith("crimedetect."):
            raise
        console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    inputs = [summary.records] + ([summary.crimes] if summary.crimes is not None else [])
    console.print(stats_table(inputs, title="Input"))
    console.print(
        f"flags written: {summary.written} (resumed after {summary.resumed_from})  "
        f"records flagged: {summary.flagged}  balanced: {summary.balanced}"
    )
    console.print(findings_table(summary))
    for problem, n in sorted(summary.problems.items()):
        console.print(f"[yellow]problem[/yellow] {problem}: {n} (see {paths.problems})")
    versions = ", ".join(f"{k}={v}" for k, v in summary.versions.items())
    console.print(f"versions: {versions}")
    written = [
        f"flags {out}",
        f"summary {paths.summary}",
        f"rejected {paths.rejected}",
        f"problems {paths.problems}",
    ]
    if top:
        written.append(f"top {top} {paths.top}")
    console.print("wrote " + "; ".join(written))
    rejected_total = sum(s.rejected for s in inputs)
    raise typer.Exit(EXIT_DATA_PROBLEMS if rejected_total or summary.problems else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command()(scan)
