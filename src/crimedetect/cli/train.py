"""``crimedetect train``: fine-tune, track and register the offence classifier."""

from __future__ import annotations

from pathlib import Path

import typer

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console


def train_command(
    config: Path = typer.Option(
        ..., "--config", "-c", help="Training config, e.g. training/configs/demo.yaml."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a config value: --set epochs=2 --set output_dir=models/x (repeatable)."
    ),
    rejected: Path | None = typer.Option(None, help="Write rejected input lines to this JSONL file."),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Train and save the bundle without MLflow."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show per-epoch progress bars."),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue an interrupted run from its last completed epoch (the checkpoint beside "
        "output_dir); the bundle is the same as an uninterrupted run's.",
    ),
) -> None:
    """Train the multi-label offence classifier from a config; log and register it in MLflow.

    Data paths in the config are relative to the working folder. Tracking goes to
    $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here. Every completed epoch is checkpointed
    in <output_dir>.checkpoint/ (removed when the run ends); --resume continues from it. Exits 1
    if input lines were rejected, 2 for a usage error (a checkpoint of another config or data).
    """
    import yaml

    from crimedetect.model.base import BaseModelError
    from crimedetect.model.config import ConfigError, load_config

    overrides = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep:
            console.print(f"[red]error:[/red] --set {item!r}: write KEY=VALUE")
            raise typer.Exit(EXIT_USAGE)
        overrides[key.strip()] = yaml.safe_load(value)
    try:
        cfg = load_config(config, overrides)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    for split in ("train", "validation", "test"):
        for i, source in enumerate(getattr(cfg.data, split)):
            for field in ("records", "audits"):
                if not Path(getattr(source, field)).exists():
                    console.print(
                        f"[red]error:[/red] {config}: data.{split}[{i}].{field}: "
                        f"{getattr(source, field)} does not exist (paths are relative to {Path.cwd()})"
                    )
                    raise typer.Exit(EXIT_USAGE)
    from crimedetect.model.train import train

    try:
        result = train(cfg, progress=progress, rejected=rejected, log_to_mlflow=not no_mlflow, resume=resume)
    except (BaseModelError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    c = result.counts
    if result.resumed_after_epoch is not None:
        console.print(
            f"resumed after epoch {result.resumed_after_epoch} of {cfg.epochs} "
            "(earlier epochs from the checkpoint)"
        )
    elif resume:
        console.print("nothing to resume: trained from the start")
    console.print(
        f"records: train {c.get('train_records')} / validation {c.get('val_records')} / "
        f"test {c.get('test_records')}; windows {c.get('train_windows')}; "
        f"rejected {c.get('records_rejected', 0) + c.get('audits_rejected', 0)}"
    )
    nan = float("nan")
    for row in result.history:
        console.print(
            f"epoch {int(row['epoch'])}: train_loss {row['train_loss']:.4f} "
            f"val_loss {row.get('val_loss', nan):.4f} val_micro_ap {row.get('val_micro_ap', nan):.3f} "
            f"({row['train_examples_per_s']:.1f} windows/s)"
        )
    for system in ("val_model", "val_rules", "val_ensemble", "test_model", "test_rules", "test_ensemble"):
        if f"{system}_f1" in result.metrics:
            m = result.metrics
            p, r, f1 = (m[f"{system}_{k}"] for k in ("precision", "recall", "f1"))
            console.print(f"{system}: P {p:.3f} R {r:.3f} F1 {f1:.3f}")
    console.print(f"bundle saved to {result.output_dir}")
    if result.run_id:
        console.print(f"MLflow run {result.run_id}; registered version {result.model_version}")
        console.print(f"promote it with: crimedetect models promote {result.model_version} --alias champion")
    rejected_lines = c.get("records_rejected", 0) + c.get("audits_rejected", 0)
    raise typer.Exit(EXIT_DATA_PROBLEMS if rejected_lines else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command("train")(train_command)
