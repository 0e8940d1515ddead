"""Force profiles: how a synthetic force records crime, as YAML files validated on load.

A profile says what mix of records the force's logs hold and how the force behaves on the
crimes they disclose: how often each is recorded, how often on time, misclassified,
cancelled without additional verifiable information (AVI), transferred, and whether N100s
are raised. ``targets`` holds the inspection figures the profile is calibrated to; the
tests and ``crimedetect synth --report`` compare measured rates with them.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crimedetect.contract import CATEGORIES

Probability = float

#: Record scenarios the generator knows; a profile weights them.
SCENARIOS = (
    "single",
    "multi_victim",
    "principal",
    "behavioural",
    "later_entry",
    "transferred",
    "n100",
    "safeguarding",
    "modern_slavery",
    "online_child",
    "historic",
    "cancelled_avi",
    "noncrime",
)


class Misclassification(BaseModel):
    """A recorded crime put under a wrong category (``from`` is the true one)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    true_category: str = Field(alias="from")
    recorded_category: str = Field(alias="to")
    offence_code: str
    probability: Probability = Field(ge=0, le=1)

    @field_validator("true_category", "recorded_category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}")
        return value


class Recording(BaseModel):
    """How the force records the crimes its logs disclose."""

    model_config = ConfigDict(extra="forbid")

    rate: dict[str, Probability]
    safeguarding_rate: Probability = Field(ge=0, le=1)
    later_entry_factor: float = Field(ge=0, le=2, default=1.0)
    within_24h: dict[str, Probability]
    misclassification: list[Misclassification] = Field(default_factory=list)
    cancelled_unsupported: Probability = Field(ge=0, le=1)
    transferred: Probability = Field(ge=0, le=1)
    n100_raised: Probability = Field(ge=0, le=1)

    @field_validator("rate", "within_24h")
    @classmethod
    def _categories(cls, value: dict[str, float]) -> dict[str, float]:
        missing = [c for c in CATEGORIES if c not in value]
        if missing:
            raise ValueError(f"missing categories {missing}")
        extra = [c for c in value if c not in CATEGORIES]
        if extra:
            raise ValueError(f"unknown categories {extra}")
        for c, p in value.items():
            if not 0 <= p <= 1:
                raise ValueError(f"{c}: {p} is not a probability")
        return value


class Targets(BaseModel):
    """Inspection figures the profile is calibrated to (recorded share of crimes)."""

    model_config = ConfigDict(extra="forbid")

    overall: Probability
    violence: Probability
    sexual_offences: Probability
    rape: Probability
    safeguarding: Probability
    modern_slavery: Probability
    within_24h: dict[str, Probability] = Field(default_factory=dict)


class Profile(BaseModel):
    """A synthetic force: period, record mix, offence mix and recording behaviour."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    period_start: date
    period_end: date
    force_name: str
    crime_prefix: str = "SYNC"
    scenarios: dict[str, float]
    offences: dict[str, float]
    typo_rate: Probability = Field(ge=0, le=1)
    first_person_rate: Probability = Field(ge=0, le=1, default=0.2)
    hard_cases: dict[str, Probability] = Field(default_factory=dict)
    recording: Recording
    targets: Targets

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(SCENARIOS)
        if unknown:
            raise ValueError(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
        if any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return value

    @field_validator("offences")
    @classmethod
    def _offences(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}")
        if any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return value

    @model_validator(mode="after")
    def _period(self) -> Profile:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


class ProfileError(ValueError):
    """A profile that cannot be found or fails validation (names file and field)."""


def profiles_dir() -> Path:
    return Path(str(resources.files("crimedetect.synth") / "profiles"))


def available_profiles() -> list[str]:
    """Names of the packaged profiles."""
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def load_profile_file(path: str | Path) -> Profile:
    """Load and validate a profile YAML file."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            data: Any = yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ProfileError(f"{path}: profile file not found") from exc
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ProfileError(f"{path}: {problems}") from exc


@lru_cache(maxsize=8)
def load_profile(name_or_path: str = "leicestershire-2017") -> Profile:
    """A packaged profile by name (``leicestershire-2017``, ``good-force``) or a YAML path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return load_profile_file(candidate)
    path = profiles_dir() / f"{name_or_path}.yaml"
    if not path.exists():
        raise ProfileError(
            f"unknown profile {name_or_path!r}; packaged: {', '.join(available_profiles())}, "
            "or give a path to a profile YAML file"
        )
    return load_profile_file(path)
