"""``crimedetect models list|promote|refit-stacker``: the registered offence classifiers, their
aliases, and fitting a bundle's rule/model stacker on other audited records."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console

models_app = typer.Typer(
    help="List registered offence classifiers, promote one to an alias, refit a bundle's stacker.",
    no_args_is_help=True,
)


def _client():  # noqa: ANN202  (MlflowClient, imported lazily)
    import mlflow

    from crimedetect.tracking import configure

    configure()
    return mlflow.MlflowClient()


@models_app.command("list")
def list_models() -> None:
    """Versions of crimedetect-offence-classifier with aliases, run and key metrics."""
    from crimedetect.tracking import MODEL_NAME, tracking_uri

    client = _client()
    try:
        versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    except Exception as exc:  # store without the model
        console.print(f"no registered {MODEL_NAME} in {tracking_uri()}: {exc}")
        raise typer.Exit(EXIT_OK) from exc
    aliases: dict[str, list[str]] = {}
    if versions:
        for alias, version in (client.get_registered_model(MODEL_NAME).aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
    table = Table(title=f"{MODEL_NAME} ({tracking_uri()})")
    table.add_column("version", no_wrap=True)
    table.add_column("aliases", no_wrap=True, min_width=9)
    for column in ("created", "run", "val F1 model", "val F1 ens.", "test F1 ens."):
        table.add_column(column)
    for mv in sorted(versions, key=lambda v: int(v.version)):
        metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}

        def fmt(key: str, metrics: dict = metrics) -> str:
            return f"{metrics[key]:.3f}" if key in metrics else "-"

        from datetime import UTC, datetime

        created = datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC).strftime("%m-%d %H:%M")
        table.add_row(
            str(mv.version),
            ", ".join(sorted(aliases.get(str(mv.version), []))) or "-",
            created,
            (mv.run_id or "-")[:8],
            fmt("val_model_f1"),
            fmt("val_ensemble_f1"),
            fmt("test_ensemble_f1"),
        )
    if not versions:
        console.print(f"no versions of {MODEL_NAME} registered in {tracking_uri()}")
    console.print(table)


@models_app.command("promote")
def promote(
    version: str = typer.Argument(..., help="Registered version number, e.g. 3, or 'latest'."),
    alias: str = typer.Option("champion", help="Alias to point at the version (scans use @champion)."),
) -> None:
    """Point an alias (default ``champion``) at a registered version."""
    from crimedetect.tracking import MODEL_NAME

    client = _client()
    if version == "latest":
        try:
            versions = client.search_model_versions(f"name='{MODEL_NAME}'")
        except Exception:  # no such registered model
            versions = []
        if not versions:
            console.print(
                f"[red]error:[/red] no version of {MODEL_NAME} is registered; run crimedetect train"
            )
            raise typer.Exit(EXIT_USAGE)
        version = str(max(int(v.version) for v in versions))
    try:
        client.get_model_version(MODEL_NAME, version)
    except Exception as exc:
        console.print(f"[red]error:[/red] {MODEL_NAME} version {version} is not registered: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    client.set_registered_model_alias(MODEL_NAME, alias, version)
    console.print(f"{MODEL_NAME}@{alias} -> version {version} (models:/{MODEL_NAME}@{alias})")


@models_app.command("refit-stacker")
def refit_stacker_command(
    bundle: Path = typer.Option(
        ..., "--bundle", help="Model bundle directory (holds bundle.json and model/)."
    ),
    records: Path = typer.Option(
        ..., "--records", help="Audited records (JSONL) the rules were not written on."
    ),
    audits: Path = typer.Option(..., "--audits", help="Their audits (JSONL)."),
    rules_config: Path | None = typer.Option(None, "--rules-config", help="Rules config (default: shipped)."),
    out: Path | None = typer.Option(None, "--out", help="Write a refitted copy here (default: in place)."),
    rejected: Path | None = typer.Option(None, help="Write rejected input lines to this JSONL file."),
) -> None:
    """Fit a bundle's rule/model stacker on audited records, e.g. ones nobody wrote rules against.

    Validation records the rules were written on make the rules look perfect, and a stacker
    fitted there learns to ignore the model. Keeps the encoder, thresholds and the stacker's
    settings; records the files' sha256 in bundle.json. Prints in-sample scores. Exits 2 on
    usage errors (missing files, no model, too few positives), 1 if input lines were rejected.
    """
    from crimedetect.model.bundle import BundleError
    from crimedetect.model.train import fit_stacker_on_audits

    for label, path in (("--records", records), ("--audits", audits), ("--rules-config", rules_config)):
        if path is not None and not path.is_file():
            console.print(f"[red]error:[/red] {label} {path} does not exist")
            raise typer.Exit(EXIT_USAGE)
    try:
        fit = fit_stacker_on_audits(
            bundle,
            records,
            audits,
            rules_config=str(rules_config) if rules_config else None,
            out_dir=out,
            rejected=rejected,
        )
    except (BundleError, OSError, ValueError) as exc:  # StackerFitError is a ValueError
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    c = fit.counts
    rejected_lines = c.get("records_rejected", 0) + c.get("audits_rejected", 0)
    console.print(
        f"records: {c.get('records_labelled', 0)} audited of {c.get('records_read', 0)} read; "
        f"rejected lines {rejected_lines}; without an audit {c.get('records_unaudited', 0)}"
    )
    table = Table(title=f"(record, category) on the {c.get('records_labelled', 0)} fit records")
    for column in ("system", "precision", "recall", "F1", "tp", "fp", "fn"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for system, m in fit.metrics.items():
        table.add_row(
            system,
            *(f"{m[k]:.3f}" for k in ("precision", "recall", "f1")),
            *(str(m[k]) for k in ("tp", "fp", "fn")),
        )
    console.print(table)
    console.print(
        "[yellow]warning:[/yellow] in-sample numbers: the stacker was fitted on these very records, "
        "so the ensemble row is optimistic; measure it on other audited records"
    )
    console.print(f"stacker of {fit.bundle_dir} refitted ({len(fit.stacker.features)} features)")
    raise typer.Exit(EXIT_DATA_PROBLEMS if rejected_lines else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.add_typer(models_app, name="models")
