"""Build the rules pipeline from its config file, once per process."""

from __future__ import annotations

import hashlib
import shutil
from importlib import resources
from pathlib import Path

import spacy
from spacy.language import Language

# Importing registers the factories and the tokenizer with spaCy.
from crimedetect.rules import components as _components  # noqa: F401
from crimedetect.rules import language as _language  # noqa: F401
from crimedetect.rules.schema import file_digest, rules_dir_digest


def default_config_path() -> Path:
    """The packaged ``default.cfg``."""
    return Path(str(resources.files("crimedetect") / "rules" / "default.cfg"))


def copy_rules(folder: str | Path) -> Path:
    """Copy the packaged rule files to ``folder/rules`` and write ``folder/rules.cfg`` reading
    them; returns the config path. An analyst's editable copy, or rules frozen for runs that
    must compare byte for byte while the packaged rules change."""
    from crimedetect.rules.schema import default_rules_dir

    folder = Path(folder)
    rules = folder / "rules"
    shutil.copytree(default_rules_dir(), rules)
    config = default_config_path().read_text(encoding="utf-8")
    path = folder / "rules.cfg"
    path.write_text(config.replace("rules_dir = null", f'rules_dir = "{rules}"'), encoding="utf-8")
    return path


def build_pipeline(
    config_path: str | Path | None = None, overrides: dict[str, object] | None = None
) -> Language:
    """A fresh pipeline built from a config file (default: the packaged one)."""
    config = spacy.util.load_config(config_path or default_config_path(), overrides=overrides or {})
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def config_rules_dirs(config_path: str | Path | None = None) -> list[str | None]:
    """The distinct ``rules_dir`` values of a config's components (None = packaged rules)."""
    config = spacy.util.load_config(config_path or default_config_path(), interpolate=False)
    dirs: list[str | None] = []
    for component in config.get("components", {}).values():
        if "rules_dir" in component:
            value = component["rules_dir"]
            value = str(value) if value else None
            if value not in dirs:
                dirs.append(value)
    return dirs or [None]


def content_digest(config_path: str | Path | None = None) -> str:
    """sha256 over everything the rules read: the config file, the rule files of every rules
    directory it names and the shared counting rules (``resources/counting_rules.yaml``)."""
    path = Path(config_path or default_config_path())
    shared = Path(str(resources.files("crimedetect") / "resources" / "counting_rules.yaml"))
    digest = hashlib.sha256()
    digest.update(f"config\0{file_digest(path)}\0counting_rules\0{file_digest(shared)}\0".encode())
    for directory in config_rules_dirs(path):
        digest.update(f"{directory}\0{rules_dir_digest(directory)}\0".encode())
    return digest.hexdigest()


_PIPELINES: dict[tuple[str, str], Language] = {}


def get_pipeline(config_path: str | Path | None = None) -> Language:
    """The pipeline for a config file, built on first use and cached for the process (by the
    content of the files it reads, so an edited rule file gives a fresh pipeline)."""
    key = (str(config_path or default_config_path()), content_digest(config_path))
    if key not in _PIPELINES:
        _PIPELINES[key] = build_pipeline(config_path)
    return _PIPELINES[key]
