"""The entry gate: which entries the encoder reads.

Most entries of a police log are routine (DASH done, tried to call, vehicle circulated); the
encoder is the slow part of a scan and reads them for nothing. The gate opens an entry when
the offence rules match an offence or cue mention in it (negated or not: the rules' context
has not judged it yet), or when a keyword regular expression matches; what opens it is data
(``resources/model_gate.yaml``). A closed entry gets probability 0 for every category.

The rule pass runs the rules pipeline only up to its offence matcher (tokenizer, lemmas,
sentences, offence and cue patterns: about 0.1 ms an entry), in the process that runs the
model; the pipeline is the process's cached one, shared with a rule detector there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crimedetect.contract import Record
from crimedetect.validation import Regex

#: The rules component whose spans the gate reads, and the span groups it may read.
OFFENCE_MATCHER = "crimedetect_offences"
MentionGroup = Literal["offences", "cues"]


class GateFileError(ValueError):
    """A gate file that cannot be read or does not validate."""


class GateSettings(BaseModel):
    """``model_gate.yaml``: what opens an entry to the encoder."""

    model_config = ConfigDict(extra="forbid")

    version: str
    rule_mentions: list[MentionGroup] = Field(default_factory=list)
    keyword_baseline: bool = False
    patterns: list[Regex] = Field(default_factory=list)


def default_gate_path() -> Path:
    """The packaged ``resources/model_gate.yaml``."""
    return Path(str(resources.files("crimedetect") / "resources" / "model_gate.yaml"))


def load_gate_settings(path: str | Path | None = None) -> tuple[GateSettings, str]:
    """The gate file (default: the packaged one), validated; returns (settings, sha256)."""
    path = Path(path or default_gate_path())
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
        return GateSettings.model_validate(data), hashlib.sha256(raw).hexdigest()
    except (OSError, yaml.YAMLError) as exc:
        raise GateFileError(f"{path}: cannot read the gate file: {exc}") from exc
    except ValidationError as exc:
        raise GateFileError(f"{path}: {exc}") from exc


class EntryGate:
    """Chooses the entries the encoder reads (see the module docstring).

    ``rules_config`` is the rules config whose offence patterns open entries (None: the
    packaged rules); the scan passes its own, so gate and rules read the same patterns.
    Pickles without its spaCy pipeline (rebuilt on first use in the receiving process).
    """

    def __init__(self, path: str | Path | None = None, rules_config: str | None = None) -> None:
        self.path = str(path) if path else None
        self.rules_config = rules_config
        self.settings, digest = load_gate_settings(path)
        self.version = f"gate-{self.settings.version}-{digest[:8]}"
        regexes = list(self.settings.patterns)
        if self.settings.keyword_baseline:
            from crimedetect.rules.baseline import KEYWORDS

            regexes.extend(KEYWORDS.values())
        self._regex = re.compile("|".join(f"(?:{r})" for r in regexes), re.IGNORECASE) if regexes else None
        self._nlp: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "rules_config": self.rules_config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _pipeline(self) -> tuple[Any, list[str]]:
        """The rules pipeline and the components after the offence matcher (not needed)."""
        if self._nlp is None:
            from crimedetect.rules.pipeline import get_pipeline

            self._nlp = get_pipeline(self.rules_config)
        names = list(self._nlp.pipe_names)
        if OFFENCE_MATCHER not in names:
            raise GateFileError(f"the rules pipeline has no {OFFENCE_MATCHER} component to open entries")
        return self._nlp, names[names.index(OFFENCE_MATCHER) + 1 :]

    def select_texts(self, texts: Sequence[str]) -> list[bool]:
        """For each text, whether the encoder reads it."""
        keep = [bool(self._regex and self._regex.search(text)) for text in texts]
        groups = self.settings.rule_mentions
        rest = [i for i, kept in enumerate(keep) if not kept]
        if groups and rest:
            nlp, after = self._pipeline()
            docs = nlp.pipe((texts[i] for i in rest), disable=after, batch_size=256)
            for i, doc in zip(rest, docs, strict=True):
                keep[i] = any(len(doc.spans.get(group, ())) for group in groups)
        return keep

    def select(self, records: Sequence[Record]) -> list[bool]:
        """For each entry of each record (record, then entry order), whether the encoder reads it."""
        return self.select_texts([entry.text for record in records for entry in record.entries])


def load_gate(path: str | Path | None = None, rules_config: str | None = None) -> EntryGate:
    """The entry gate of a gate file (default: the packaged one)."""
    return EntryGate(path, rules_config)
