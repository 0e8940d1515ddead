"""Log an evaluation to MLflow: metrics, charts, error table, data hashes and versions.

Uses ``crimedetect.tracking`` for the tracking URI (SQLite ``mlflow.db`` by default) and the
experiment. Only ids, labels, counts and hashes are logged: never record text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

from crimedetect.evaluate.core import Evaluation

EXPERIMENT = "crimedetect-evaluation"
ERROR_COLUMNS = (
    "record_id",
    "level",
    "type",
    "category",
    "error",
    "count",
    "score",
    "crime_id",
    "source",
    "cause",
)


def write_errors(evaluation: Evaluation, path: Path) -> Path:
    """The error table as CSV: record ids, labels, scores and sources only."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ERROR_COLUMNS)
        writer.writeheader()
        for row in evaluation.errors:
            writer.writerow({k: row.get(k) for k in ERROR_COLUMNS})
    return path


def write_metrics(evaluation: Evaluation, path: Path) -> Path:
    """All metric rows, intervals, calibration and PR summaries as JSON."""
    payload = {
        "records_evaluated": len(evaluation.record_ids),
        "judged_types": evaluation.judged_types,
        "unjudged_types": evaluation.unjudged_types,
        "missing_flags": evaluation.missing_flags,
        "versions": evaluation.versions,
        "bootstrap_resamples": evaluation.n_boot,
        "rows": [row.to_json_dict() for row in evaluation.rows],
        "calibration_ece": {k: v["ece"] for k, v in evaluation.calibration.items()},
        "average_precision": {k: v["average_precision"] for k, v in evaluation.pr_curves.items()},
        "confusion": {"labels": evaluation.confusion_labels, "matrix": evaluation.confusion.tolist()},
    }
    path.write_text(json.dumps(payload, indent=2, allow_nan=False, default=str), encoding="utf-8")
    return path


def log_to_mlflow(
    evaluation: Evaluation,
    files: Mapping[str, str | Path],
    artifacts: list[Path],
    *,
    experiment: str = EXPERIMENT,
    run_name: str | None = None,
    params: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """One MLflow run for the evaluation; returns (tracking URI, run id)."""
    import mlflow

    from crimedetect import tracking

    uri = tracking.configure()
    tracking.ensure_experiment(experiment)
    tags = {
        "crimedetect.stage": "evaluate",
        "git_commit": tracking.git_commit(Path(__file__).resolve().parent),
        **tracking.data_tags(files),
    }
    logged_params = {
        "rules_version": evaluation.versions.get("rules", "unknown"),
        "model_version": evaluation.versions.get("model", "none"),
        "records_evaluated": str(len(evaluation.record_ids)),
        "judged_types": ",".join(evaluation.judged_types),
        "bootstrap_resamples": str(evaluation.n_boot),
        **{k: str(v) for k, v in (params or {}).items()},
    }
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags(tags)
        mlflow.log_params(logged_params)
        mlflow.log_metrics(evaluation.metrics())
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        return uri, run.info.run_id
