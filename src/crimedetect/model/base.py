"""Where a base encoder comes from: a pinned package, a local directory or an MLflow model.

Nothing here reaches a model hub. A name from ``base_models.yaml`` resolves to the files of an
installed package and its weights are checked against the pinned sha256; a directory is used
as it is (checked when a sha256 is given); ``models:/...`` and ``runs:/...`` URIs are fetched
from the MLflow store configured by :mod:`crimedetect.tracking` (a crimedetect bundle
resolves to its fine-tuned encoder, so a champion can be trained further).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

BASE_MODELS_FILE = Path(__file__).with_name("base_models.yaml")


class BaseModelError(Exception):
    """A base model that cannot be found or does not match its pinned hash."""


@dataclass(frozen=True)
class BaseModel:
    """A resolved base encoder: a local directory that ``from_pretrained`` can read."""

    name: str
    path: Path
    sha256: str | None


@cache
def pinned_models(path: Path = BASE_MODELS_FILE) -> dict[str, Any]:
    """The validated contents of ``base_models.yaml``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise BaseModelError(f"{path}: 'models' must be a non-empty mapping")
    for name, entry in models.items():
        for key in ("package", "weights", "sha256"):
            if not isinstance(entry, dict) or not entry.get(key):
                raise BaseModelError(f"{path}: models.{name}.{key} is missing")
        if len(str(entry["sha256"])) != 64:
            raise BaseModelError(f"{path}: models.{name}.sha256 is not a sha256 hex digest")
    if data.get("default") not in models:
        raise BaseModelError(f"{path}: 'default' must name one of {sorted(models)}")
    return data


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str, what: str) -> None:
    """Raise :class:`BaseModelError` unless ``path``'s sha256 is ``expected``."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise BaseModelError(
            f"{what}: {path} has sha256 {actual}, expected {expected}. The file is not the "
            "pinned one: reinstall the package or update the pin after checking the new file."
        )


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            f"package {package!r} is not installed; install the pinned distribution "
            "(see base_models.yaml) or set base_model to a local directory"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _weights_file(directory: Path) -> Path | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (directory / name).exists():
            return directory / name
    return None


def resolve_base(spec: str | None = None, sha256: str | None = None) -> BaseModel:
    """Turn a base-model spec (pinned name, directory or MLflow URI) into a local directory.

    ``spec`` None or ``"default"`` means the default pinned model.
    """
    pins = pinned_models()
    name = pins["default"] if spec in (None, "", "default") else str(spec)
    if name in pins["models"]:
        entry = pins["models"][name]
        directory = _package_dir(entry["package"]) / entry.get("subdir", "")
        weights = directory / entry["weights"]
        if not weights.exists():
            raise BaseModelError(f"base model {name!r}: {weights} is missing")
        verify(weights, entry["sha256"], f"base model {name!r}")
        return BaseModel(name=name, path=directory, sha256=entry["sha256"])
    if name.startswith(("models:/", "runs:/")):
        from crimedetect.model.bundle import fetch_bundle_dir

        bundle_dir = fetch_bundle_dir(name)
        directory = bundle_dir / "model"
        return BaseModel(name=name, path=directory, sha256=None)
    directory = Path(name).expanduser()
    if not directory.is_dir():
        raise BaseModelError(
            f"base model {name!r} is neither a name in {BASE_MODELS_FILE.name}, a directory, "
            "nor a models:/ or runs:/ URI"
        )
    if (directory / "bundle.json").exists():  # a crimedetect bundle: its encoder
        directory = directory / "model"
    if not (directory / "config.json").exists():
        raise BaseModelError(f"base model directory {directory} has no config.json")
    if sha256:
        weights = _weights_file(directory)
        if weights is None:
            raise BaseModelError(f"base model directory {directory} has no weights file")
        verify(weights, sha256, f"base model {name!r}")
    return BaseModel(name=name, path=directory.resolve(), sha256=sha256)
