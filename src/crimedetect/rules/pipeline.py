"""Build the rules pipeline from its config file, once per process."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import spacy
from spacy.language import Language

# Importing registers the factories and the tokenizer with spaCy.
from crimedetect.rules import components as _components  # noqa: F401
from crimedetect.rules import language as _language  # noqa: F401


def default_config_path() -> Path:
    """The packaged ``default.cfg``."""
    return Path(str(resources.files("crimedetect") / "rules" / "default.cfg"))


def build_pipeline(
    config_path: str | Path | None = None, overrides: dict[str, object] | None = None
) -> Language:
    """A fresh pipeline built from a config file (default: the packaged one)."""
    config = spacy.util.load_config(config_path or default_config_path(), overrides=overrides or {})
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


_PIPELINES: dict[str, Language] = {}


def get_pipeline(config_path: str | Path | None = None) -> Language:
    """The pipeline for a config file, built on first use and cached for the process."""
    key = str(config_path or default_config_path())
    if key not in _PIPELINES:
        _PIPELINES[key] = build_pipeline(config_path)
    return _PIPELINES[key]
