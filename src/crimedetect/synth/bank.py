"""Phrase banks: the language of the synthetic force, as YAML data files an analyst can edit.

``phrases/common.yaml`` holds what both splits share (names, places, authors, the framing
of entries). ``phrases/train.yaml`` and ``phrases/test.yaml`` hold the offence phrasings,
the harmless look-alikes and the distractors; the two are disjoint, so a model trained on
``train`` output can be tested on phrasing it never saw. Everything is validated on load:
every template parses, every slot is known and every fragment exists.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from crimedetect.contract import CATEGORIES
from crimedetect.synth.grammar import Template, TemplateError, compile_template, frags_of, render, slots_of

SPLITS = ("train", "test")

#: Slots a template may use; the generator fills every one of them for each render.
KNOWN_SLOTS = frozenset(
    {
        # victim: full name, first name, pronouns (subject, object, possessive, reflexive), age
        "V",
        "v",
        "vs",
        "vo",
        "vp",
        "vr",
        "age",
        # suspect
        "S",
        "s",
        "SN",
        "ss",
        "so",
        "sp",
        "sr",
        "sage",
        "rel",
        # reporting person / professional
        "R",
        "org",
        "role",
        # place and time
        "addr",
        "street",
        "town",
        "time",
        "day",
        "date",
        "year",
        "other_force",
        "place",
        # things
        "item",
        "shop",
        "vehicle",
        "vrm",
        "weapon",
        "n",
        "money",
        "ref",
        "officer",
    }
)

#: Offence variants every split must provide, with their HOCR codes (first is the usual one).
VARIANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "violence_with_injury": {"injury": ("8N",), "serious": ("5D", "8N")},
    "violence_without_injury": {"push": ("105A",), "fear": ("105A",), "threat_to_kill": ("3B",)},
    "stalking_harassment": {
        "harassment": ("8L",),
        "stalking": ("8Q",),
        "malicious": ("8R",),
        "coercive": ("8U",),
    },
    "rape": {"adult": ("19C",), "child": ("19D", "19E"), "slavery": ("19C",)},
    "other_sexual_offence": {
        "touching": ("20A",),
        "exposure": ("88E",),
        "online_child": ("88A", "22B"),
        "child": ("20B", "22B"),
    },
    "modern_slavery": {"labour": ("106",), "sexual": ("106",)},
    "robbery": {"personal": ("34B",), "business": ("34A",)},
    "burglary": {"residential": ("28E",), "business": ("30C",)},
    "theft": {"person": ("39",), "shoplifting": ("46",), "vehicle": ("45", "48"), "other": ("49",)},
    "criminal_damage_arson": {"damage": ("58A", "58C", "58D"), "arson": ("56B",)},
    "public_order": {"public": ("9A",), "racial": ("9B",)},
    "other_notifiable": {"drugs": ("92D", "92E"), "weapon": ("10D", "10C")},
}

#: Harmless record types every split must provide (alarming words, no crime).
NONCRIME_TYPES = (
    "fall",
    "self_harm",
    "words_only",
    "civil",
    "welfare",
    "negated_assault",
    "hypothetical",
    "lost_property",
    "police_only_abuse",
    "future_threat",
    "medical",
    "noise",
    "rtc",
    "sport_injury",
)

#: Sections of the split files that hold lists of templates keyed by a name, with the keys
#: each must have.
_SPLIT_LISTS: dict[str, tuple[str, ...]] = {
    "distractors": (
        "declines_action",
        "intoxicated",
        "negated_detail",
        "hypothetical_detail",
        "negated_injury",
        "young_suspect",
        "suspect_denies",
        "injury_seen",
    ),
    "summaries": (*CATEGORIES, "multi"),
    "n100": ("report", "outcome"),
    "transfer": ("where", "handover"),
    "avi_cancel": ("phone", "vehicle", "damage", "reason_phone", "reason_vehicle", "reason_damage"),
}


class PhraseBankError(ValueError):
    """A phrase-bank file that fails validation; the message names file and field."""


@dataclass
class PhraseBank:
    """Compiled templates of one split plus the shared common bank."""

    split: str
    fragments: dict[str, list[Template]]
    offences: dict[str, dict[str, list[Template]]]
    noncrime: dict[str, list[list[Template]]]
    lists: dict[str, dict[str, list[Template]]]
    frames: dict[str, list[Template]]
    names: dict[str, list[str]]
    words: dict[str, list[str]]
    raw_offences: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def say(self, rng: random.Random, templates: list[Template], slots: Mapping[str, str]) -> str:
        """Render one template picked at random from a list."""
        return render(templates[int(rng.random() * len(templates))], rng, slots, self.fragments)

    def frame(self, name: str, rng: random.Random, slots: Mapping[str, str]) -> str:
        return self.say(rng, self.frames[name], slots)

    def offence(self, category: str, variant: str, rng: random.Random, slots: Mapping[str, str]) -> str:
        return self.say(rng, self.offences[category][variant], slots)

    def pick(self, rng: random.Random, words: str) -> str:
        options = self.words[words]
        return options[int(rng.random() * len(options))]


def _phrases_dir() -> Path:
    return Path(str(resources.files("crimedetect.synth") / "phrases"))


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise PhraseBankError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PhraseBankError(f"{path}: expected a mapping at the top level")
    return data


def _compile_list(path: Path, where: str, items: Any) -> list[Template]:
    if not isinstance(items, list) or not items:
        raise PhraseBankError(f"{path}: {where}: expected a non-empty list of templates")
    out: list[Template] = []
    for k, item in enumerate(items):
        if not isinstance(item, str):
            raise PhraseBankError(f"{path}: {where}[{k}]: expected a string (quote it), got {item!r}")
        try:
            template = compile_template(item)
        except TemplateError as exc:
            raise PhraseBankError(f"{path}: {where}[{k}]: {exc}") from exc
        unknown = slots_of(template) - KNOWN_SLOTS
        if unknown:
            raise PhraseBankError(f"{path}: {where}[{k}]: unknown slot(s) {sorted(unknown)} in {item!r}")
        out.append(template)
    return out


def _str_list(path: Path, where: str, items: Any) -> list[str]:
    if not isinstance(items, list) or not items or not all(isinstance(x, str) and x for x in items):
        raise PhraseBankError(f"{path}: {where}: expected a non-empty list of strings")
    return list(items)


def load_bank(split: str, directory: str | Path | None = None) -> PhraseBank:
    """Load, compile and validate ``common.yaml`` plus ``<split>.yaml`` from ``directory``."""
    if split not in SPLITS:
        raise PhraseBankError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    base = Path(directory) if directory else _phrases_dir()
    common_path, split_path = base / "common.yaml", base / f"{split}.yaml"
    for path in (common_path, split_path):
        if not path.exists():
            raise PhraseBankError(f"{path}: phrase bank file not found")
    common, data = _load_yaml(common_path), _load_yaml(split_path)
    if data.get("split") != split:
        raise PhraseBankError(f"{split_path}: field 'split' must be {split!r}")

    fragments: dict[str, list[Template]] = {}
    for path, section in ((common_path, common), (split_path, data)):
        for name, items in (section.get("fragments") or {}).items():
            if name in fragments:
                raise PhraseBankError(f"{path}: fragments.{name}: defined twice (common and split)")
            fragments[name] = _compile_list(path, f"fragments.{name}", items)

    frames = {
        name: _compile_list(common_path, f"frames.{name}", items)
        for name, items in (common.get("frames") or {}).items()
    }
    # a split may add its own alternatives to common frames (held-out lead-ins)
    for name, items in (data.get("frames") or {}).items():
        if name not in frames:
            raise PhraseBankError(f"{split_path}: frames.{name}: not a frame of common.yaml")
        frames[name] = frames[name] + _compile_list(split_path, f"frames.{name}", items)
    names = {k: _str_list(common_path, f"names.{k}", v) for k, v in (common.get("names") or {}).items()}
    words = {k: _str_list(common_path, f"words.{k}", v) for k, v in (common.get("words") or {}).items()}
    for required in ("female", "male", "surname"):
        if required not in names:
            raise PhraseBankError(f"{common_path}: names.{required}: missing")

    offences: dict[str, dict[str, list[Template]]] = {}
    raw_offences: dict[str, dict[str, list[str]]] = {}
    section = data.get("offences") or {}
    for category, variants in VARIANTS.items():
        given = section.get(category)
        if not isinstance(given, dict):
            raise PhraseBankError(f"{split_path}: offences.{category}: missing")
        offences[category] = {}
        raw_offences[category] = {}
        for variant in variants:
            where = f"offences.{category}.{variant}"
            offences[category][variant] = _compile_list(split_path, where, given.get(variant))
            raw_offences[category][variant] = list(given[variant])
        extra = set(given) - set(variants)
        if extra:
            raise PhraseBankError(f"{split_path}: offences.{category}: unknown variant(s) {sorted(extra)}")
    extra_categories = set(section) - set(CATEGORIES)
    if extra_categories:
        raise PhraseBankError(f"{split_path}: offences: unknown categories {sorted(extra_categories)}")

    noncrime: dict[str, list[list[Template]]] = {}
    for kind in NONCRIME_TYPES:
        entries = (data.get("noncrime") or {}).get(kind)
        if not isinstance(entries, list) or not entries:
            raise PhraseBankError(f"{split_path}: noncrime.{kind}: expected a list of entries")
        noncrime[kind] = [
            _compile_list(split_path, f"noncrime.{kind}[{k}]", entry) for k, entry in enumerate(entries)
        ]

    lists: dict[str, dict[str, list[Template]]] = {}
    for name, keys in _SPLIT_LISTS.items():
        given = data.get(name)
        if not isinstance(given, dict) or not given:
            raise PhraseBankError(f"{split_path}: {name}: expected a mapping of template lists")
        missing = [k for k in keys if k not in given]
        if missing:
            raise PhraseBankError(f"{split_path}: {name}: missing {', '.join(missing)}")
        lists[name] = {key: _compile_list(split_path, f"{name}.{key}", items) for key, items in given.items()}

    bank = PhraseBank(split, fragments, offences, noncrime, lists, frames, names, words, raw_offences)
    _check_fragments(bank, split_path)
    return bank


def _check_fragments(bank: PhraseBank, path: Path) -> None:
    every: list[tuple[str, Template]] = []
    for name, templates in bank.fragments.items():
        every += [(f"fragments.{name}", t) for t in templates]
    for name, templates in bank.frames.items():
        every += [(f"frames.{name}", t) for t in templates]
    for category, variants in bank.offences.items():
        for variant, templates in variants.items():
            every += [(f"offences.{category}.{variant}", t) for t in templates]
    for kind, entries in bank.noncrime.items():
        for entry in entries:
            every += [(f"noncrime.{kind}", t) for t in entry]
    for section, groups in bank.lists.items():
        for key, templates in groups.items():
            every += [(f"{section}.{key}", t) for t in templates]
    for where, template in every:
        missing = frags_of(template) - set(bank.fragments)
        if missing:
            raise PhraseBankError(f"{path}: {where}: unknown fragment(s) {sorted(missing)}")


@lru_cache(maxsize=4)
def bank_for(split: str) -> PhraseBank:
    """The packaged bank of a split, loaded once per process."""
    return load_bank(split)
