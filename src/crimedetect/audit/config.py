"""Audit settings (``audit/design.yaml``): validated on load, one source of defaults."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crimedetect.contract import CATEGORIES


class AuditConfigError(ValueError):
    """A settings file that fails validation; the message names the file and the field."""


def _known(categories: list[str]) -> list[str]:
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown categories {unknown}; use the contract's categories")
    return categories


class NeymanSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prior_recording_rate: float = Field(gt=0.0, lt=1.0)
    crimes_per_record_without_disclosure: float = Field(gt=0.0)
    min_per_stratum: int = Field(ge=2)


class AuditConfig(BaseModel):
    """Stratification, allocation and estimation settings."""

    model_config = ConfigDict(extra="forbid")

    version: int
    priority_cuts: list[float] = Field(min_length=2)
    stratification_families: dict[str, list[str]]
    neyman: NeymanSettings
    domains: dict[str, Literal["all"] | list[str]]
    confidence: float = Field(gt=0.5, lt=1.0)
    interval: Literal["wald", "wilson"] = "wilson"

    @field_validator("priority_cuts")
    @classmethod
    def _cuts(cls, value: list[float]) -> list[float]:
        if value[0] != 0.0 or value[-1] != 1.0:
            raise ValueError("priority_cuts must start at 0 and end at 1")
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("priority_cuts must be strictly ascending")
        return value

    @field_validator("stratification_families")
    @classmethod
    def _families(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if "none" in value:
            raise ValueError("'none' is reserved for records with nothing disclosed")
        for categories in value.values():
            _known(categories)
        return value

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for categories in value.values():
            if isinstance(categories, list):
                _known(categories)
        return value

    @model_validator(mode="after")
    def _overall_first(self) -> AuditConfig:
        if not self.domains:
            raise ValueError("domains: at least one domain is needed")
        return self

    def domain_categories(self, name: str) -> tuple[str, ...]:
        """The categories of a domain (``all`` -> every category)."""
        value = self.domains[name]
        return tuple(CATEGORIES) if value == "all" else tuple(value)


def load_audit_config(path: str | Path | None = None) -> AuditConfig:
    """Settings from ``path``, else the packaged ``audit/design.yaml``."""
    if path is None:
        return _packaged()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _packaged() -> AuditConfig:
    source = resources.files("crimedetect") / "audit" / "design.yaml"
    with source.open(encoding="utf-8") as handle:
        return _parse(handle.read(), "crimedetect/audit/design.yaml")


def _load(path: Path) -> AuditConfig:
    if not path.exists():
        raise AuditConfigError(f"{path}: no such settings file")
    return _parse(path.read_text(encoding="utf-8"), str(path))


def _parse(text: str, name: str) -> AuditConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuditConfigError(f"{name}: not valid YAML: {exc}") from exc
    try:
        return AuditConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "-"
        raise AuditConfigError(f"{name}: {where}: {error['msg']}") from exc
