"""MLflow tracking: one place that says where runs go and what may be logged.

- :func:`tracking_uri` is the only source of the tracking URI: ``MLFLOW_TRACKING_URI`` when
  set, else a SQLite file ``mlflow.db`` in the working folder. Artifacts of a SQLite store go
  to ``mlartifacts/`` next to the database file, never to a server.
- Params are logged from an allow-list only (:func:`allowed_params`): configuration values,
  never record text. Data files are described by hash and size, never by content.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ENV_VAR = "MLFLOW_TRACKING_URI"
DEFAULT_DB = "mlflow.db"
#: The registered name of the offence classifier.
MODEL_NAME = "crimedetect-offence-classifier"
EXPERIMENT = "crimedetect-offence-classifier"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<cwd>/mlflow.db``."""
    uri = os.environ.get(ENV_VAR, "").strip()
    if uri:
        return uri
    return f"sqlite:///{(Path.cwd() / DEFAULT_DB).resolve()}"


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def artifact_root(uri: str | None = None) -> str | None:
    """Where a SQLite store keeps artifacts (``mlartifacts/`` beside the db); None otherwise."""
    db = _sqlite_path(uri or tracking_uri())
    if db is None:
        return None
    return (db.parent / "mlartifacts").resolve().as_uri()


def configure() -> str:
    """Point MLflow at :func:`tracking_uri` (and its registry) and return the URI."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str = EXPERIMENT) -> str:
    """The id of experiment ``name``, created with a local artifact root when missing."""
    import mlflow

    configure()
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        experiment_id = client.create_experiment(name, artifact_location=artifact_root())
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists become comma-joined strings."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            flat[name] = ",".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


def allowed_params(config: Mapping[str, Any], allow: Iterable[str]) -> dict[str, str]:
    """The flattened config restricted to allow-listed keys (exact or ``prefix.*``)."""
    patterns = list(allow)

    def ok(key: str) -> bool:
        return any(key == p or (p.endswith(".*") and key.startswith(p[:-1])) for p in patterns)

    return {k: str(v)[:500] for k, v in flatten(config).items() if ok(k)}


def git_commit(cwd: str | Path | None = None) -> str:
    """The current git commit (with ``-dirty`` if the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def file_digest(path: str | Path) -> dict[str, Any]:
    """sha256 and size of a file, read in blocks: what a run logs about its data."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"sha256": digest.hexdigest(), "bytes": size}


def data_tags(files: Mapping[str, str | Path]) -> dict[str, str]:
    """Tags ``data.<name>.sha256`` / ``data.<name>.bytes`` for each named data file."""
    tags: dict[str, str] = {}
    for name, path in files.items():
        info = file_digest(path)
        tags[f"data.{name}.sha256"] = info["sha256"]
        tags[f"data.{name}.bytes"] = str(info["bytes"])
    return tags
