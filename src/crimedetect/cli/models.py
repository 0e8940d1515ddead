"""``crimedetect models list|promote``: the registered offence classifiers and their aliases."""

from __future__ import annotations

import typer
from rich.table import Table

from crimedetect.cli.common import EXIT_OK, EXIT_USAGE, console

models_app = typer.Typer(
    help="List registered offence classifiers and promote one to an alias.", no_args_is_help=True
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


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.add_typer(models_app, name="models")
