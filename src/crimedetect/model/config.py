"""Training configuration: one pydantic model, the single source of defaults.

``TrainConfig()`` in code and a YAML file read by :func:`load_config` give the same object for
the same values. Data paths are relative to the working folder (the project root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(Exception):
    """A training config that cannot be read or does not validate (names file and field)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSource(_Strict):
    """A records file with the audits that label it."""

    records: str
    audits: str
    max_records: int | None = Field(default=None, ge=1)


class WeakLabels(_Strict):
    """Rule disclosures as extra, down-weighted positives on cells the audit leaves masked."""

    enabled: bool = False
    weight: float = Field(default=0.5, gt=0.0, le=1.0)
    rules_config: str | None = None


class StackerConfig(_Strict):
    enabled: bool = True
    C: float = Field(default=1.0, gt=0.0)
    #: stacker feature names (:mod:`crimedetect.model.ensemble`); None: its default set
    features: list[str] | None = None
    class_weight: Literal["balanced"] | None = None

    @model_validator(mode="after")
    def _known_features(self) -> StackerConfig:
        if self.features is not None:
            from crimedetect.model.ensemble import expand_features

            expand_features(self.features)  # ValueError names the unknown feature
        return self


class DataConfig(_Strict):
    train: list[DataSource] = Field(min_length=1)
    validation: list[DataSource] = Field(default_factory=list)
    test: list[DataSource] = Field(default_factory=list)
    val_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    weak_labels: WeakLabels = Field(default_factory=WeakLabels)


class TrainConfig(_Strict):
    """Everything a training run depends on; logged to MLflow (values only, never data)."""

    run_name: str = "offence-classifier"
    seed: int = 13
    data: DataConfig
    base_model: str = "default"
    base_sha256: str | None = None
    max_length: int = Field(default=256, ge=16, le=512)
    stride: int = Field(default=32, ge=0)
    epochs: int = Field(default=4, ge=1)
    batch_size: int = Field(default=16, ge=1)
    eval_batch_size: int = Field(default=32, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0.0)
    head_learning_rate: float | None = Field(default=1e-3, gt=0.0)
    weight_decay: float = Field(default=0.01, ge=0.0)
    warmup_ratio: float = Field(default=0.1, ge=0.0, lt=1.0)
    freeze_layers: int = Field(default=0, ge=0)
    pos_weight_max: float = Field(default=10.0, ge=1.0)
    target_recall: float = Field(default=0.9, gt=0.0, le=1.0)
    min_val_positives: int = Field(default=3, ge=1)
    max_train_minutes: float | None = Field(default=None, gt=0.0)
    torch_threads: int | None = Field(default=None, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    stacker: StackerConfig = Field(default_factory=StackerConfig)
    output_dir: str = "models/offence-classifier"
    experiment: str = "crimedetect-offence-classifier"
    register_model: bool = True

    @model_validator(mode="after")
    def _stride_fits(self) -> TrainConfig:
        if self.stride >= self.max_length // 2:
            raise ValueError("stride must be less than half of max_length")
        return self


#: Config keys logged as MLflow params (flattened); data paths are logged as hashes instead.
PARAM_ALLOW_LIST: tuple[str, ...] = (
    "run_name",
    "seed",
    "base_model",
    "max_length",
    "stride",
    "epochs",
    "batch_size",
    "eval_batch_size",
    "learning_rate",
    "head_learning_rate",
    "weight_decay",
    "warmup_ratio",
    "pos_weight_max",
    "freeze_layers",
    "target_recall",
    "min_val_positives",
    "max_train_minutes",
    "torch_threads",
    "device",
    "stacker.*",
    "data.val_fraction",
    "data.weak_labels.enabled",
    "data.weak_labels.weight",
)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate a YAML training config; errors name the file and the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    for key, value in (overrides or {}).items():
        target = raw
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '-'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
