"""The rule files as validated data: offence patterns, context rules and victim lexicons.

Every file an analyst edits is YAML with a ``version`` and is validated with pydantic on
load. A bad file raises :class:`RuleFileError` naming the file, the rule (index and id) and
the field, so the analyst knows what to fix.

Patterns come in two forms:

- a *phrase* string in a small language, one slot per word: ``punch|kick|slap * her``.
  A word is matched on its lemma (lower-cased, lookup table), ``a|b`` means any of them,
  ``=word`` matches the exact lower-case text, ``*`` is one optional token, ``*3`` up to three
  optional tokens, ``word?`` an optional word, ``<num>`` a number (``30``, ``four``), ``<digit>`` one
  in digits only, ``<name>`` a title-case
  word (a name), ``<word>`` any token but punctuation, ``'`` a quote mark;
- a raw spaCy ``Matcher`` token pattern (a list of dicts), for anything the phrase form cannot say.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crimedetect.contract import CATEGORIES
from crimedetect.validation import Regex

#: Offence judgements a rule can ask for (see ``rules.judge``).
JUDGEMENTS = (
    "none",
    "assault",
    "threat",
    "theft_snatch",
    "sexual_activity",
    "child_sexual",
    "conduct",
    "indicators",
    "condition",
    "theft_force",
)
#: Evidence cues the judgements read.
CUE_NAMES = (
    "injury",
    "serious_injury",
    "immediate_fear",
    "sent",
    "repeated",
    "threat_to_kill",
    "force_on_person",
    "weapon",
    "no_force",
)
#: Context qualifiers: what each does to a disclosure.
QUALIFIER_EFFECTS = ("exclude", "mark", "judge")
DIRECTIONS = ("forward", "backward", "bidirectional", "pseudo", "terminate")
SCOPES = ("sentence", "entry", "record")
VICTIM_ROLE_KINDS = (
    "victim",
    "reporter",
    "suspect",
    "professional",
    "relative",
    "contacted",
    "organisation",
    "state",
    "plural",
)

Pattern = str | list[dict[str, Any]]

#: The widest gap a phrase may hold (``*15``): a gap is a window of words, and a wider one
#: reaches across sentences and makes spaCy's ``Matcher`` (the reference the tests compare
#: with) enumerate an explosive number of partial matches.
MAX_GAP = 15


#: Phrase slots that stand alone and may not be alternatives (``her|<name>`` is refused).
_SPECIAL_SLOTS = ("<name>", "<num>", "<digit>", "<word>", "*")


class RuleFileError(ValueError):
    """A rule file that fails validation; the message names file, rule and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_patterns(patterns: list[Pattern]) -> list[Pattern]:
    if not patterns:
        raise ValueError("needs at least one pattern")
    for index, pattern in enumerate(patterns):
        if isinstance(pattern, str):
            if not pattern.strip():
                raise ValueError(f"pattern {index} is an empty phrase")
            for word in pattern.split():
                if "|" in word and any(a in _SPECIAL_SLOTS for a in word.rstrip("?").split("|")):
                    raise ValueError(
                        f"pattern {index}: {word!r} mixes a special slot (<name>, <num>, <digit>, <word>, *) "
                        "into alternatives; write it as its own phrase"
                    )
                gap = re.fullmatch(r"\*(\d+)\??", word)
                if gap and int(gap.group(1)) > MAX_GAP:
                    raise ValueError(
                        f"pattern {index}: gap {word!r} is wider than *{MAX_GAP}; a wider window "
                        "crosses sentences: split the phrase or name the words between"
                    )
                if "|=" in word:
                    raise ValueError(
                        f"pattern {index}: {word!r} has '=' inside alternatives; '=' (exact words) "
                        "applies to the whole slot and goes at its start only: '=a|b'"
                    )
        elif not pattern or not all(isinstance(token, dict) for token in pattern):
            raise ValueError(f"pattern {index} must be a phrase or a non-empty list of token dicts")
    return patterns


class OffenceRule(_Strict):
    """One offence pattern rule: an id, one category, an optional HOCR code and a judgement."""

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    category: str
    judge: str = "none"
    hocr_code: str | None = None
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    victim: Literal["person", "organisation", "state"] = "person"
    description: str = ""
    patterns: list[Pattern]

    _patterns = field_validator("patterns")(_check_patterns)

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; one of {', '.join(CATEGORIES)}")
        return value

    @field_validator("judge")
    @classmethod
    def _known_judge(cls, value: str) -> str:
        if value not in JUDGEMENTS:
            raise ValueError(f"unknown judge {value!r}; one of {', '.join(JUDGEMENTS)}")
        return value


class CueRule(_Strict):
    """An evidence cue the offence judgement weighs (injury, fear of immediate violence, ...)."""

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    cue: str
    description: str = ""
    patterns: list[Pattern]

    _patterns = field_validator("patterns")(_check_patterns)

    @field_validator("cue")
    @classmethod
    def _known_cue(cls, value: str) -> str:
        if value not in CUE_NAMES:
            raise ValueError(f"unknown cue {value!r}; one of {', '.join(CUE_NAMES)}")
        return value


class TypoTolerance(_Strict):
    """``typos`` in ``offence_patterns.yaml``: match a misspelt word to a pattern word.

    A lower-case alphabetic token that is neither a pattern word nor a known English word
    matches the one pattern word (or inflection) of at least ``min_length`` letters within
    Damerau-Levenshtein distance 1 ('samshed' -> 'smashed'). Names in capitals never fuzz."""

    enabled: bool = False
    min_length: int = Field(default=6, ge=4, le=20)


class OffencePatterns(_Strict):
    """``offence_patterns.yaml``."""

    version: str
    rules: list[OffenceRule]
    cues: list[CueRule] = Field(default_factory=list)
    typos: TypoTolerance = Field(default_factory=TypoTolerance)

    @model_validator(mode="after")
    def _unique_ids(self) -> OffencePatterns:
        _unique([r.id for r in self.rules] + [c.id for c in self.cues])
        return self


class Qualifier(_Strict):
    effect: Literal["exclude", "mark", "judge"]
    description: str = ""


_RULE_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class ContextRule(_Strict):
    """A ConText rule: trigger patterns, a qualifier, a direction and a scope."""

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    qualifier: str | None = None
    direction: Literal["forward", "backward", "bidirectional", "pseudo", "terminate"]
    scope: Literal["sentence", "entry", "record"] = "sentence"
    max_scope: int | None = Field(default=None, ge=1)
    applies_to: list[str] = Field(default_factory=list)
    except_for: list[str] = Field(default_factory=list)
    description: str = ""
    patterns: list[Pattern]

    _patterns = field_validator("patterns")(_check_patterns)

    @model_validator(mode="after")
    def _qualifier_needed(self) -> ContextRule:
        if self.direction != "terminate" and not self.qualifier:
            raise ValueError(f"direction {self.direction!r} needs a qualifier")
        return self


class ContextRules(_Strict):
    """``context_rules.yaml``."""

    version: str
    qualifiers: dict[str, Qualifier]
    rules: list[ContextRule]

    @model_validator(mode="after")
    def _known_qualifiers(self) -> ContextRules:
        _unique([r.id for r in self.rules])
        targets = set(CATEGORIES) | set(JUDGEMENTS) | set(CUE_NAMES) | set(self.qualifiers)
        for rule in self.rules:
            if rule.qualifier and rule.qualifier not in self.qualifiers:
                raise ValueError(
                    f"rule {rule.id}: qualifier {rule.qualifier!r} is not declared under qualifiers"
                )
            for target in rule.applies_to + rule.except_for:
                # An offence rule id ('harassment.controlling') is checked against
                # offence_patterns.yaml when the rules directory is loaded.
                if target not in targets and not _RULE_ID.match(target):
                    raise ValueError(
                        f"rule {rule.id}: applies_to {target!r} is not a category, "
                        "judgement, cue, qualifier or offence rule id"
                    )
        return self

    def rule_targets(self) -> set[str]:
        """The offence rule ids named in ``applies_to`` or ``except_for``."""
        return {t for rule in self.rules for t in rule.applies_to + rule.except_for if _RULE_ID.match(t)}


class RoleRule(_Strict):
    """A role word that names a person in the text (IP, RP, mother, staff member, ...)."""

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    kind: Literal[
        "victim",
        "reporter",
        "suspect",
        "professional",
        "relative",
        "contacted",
        "organisation",
        "state",
        "plural",
        "companion",
    ]
    #: where the role words stand: just ``before`` the name ('IP Jane DOE') or just ``after``
    #: it, an age or 'was/has been' between ('Dale CRUMP (31) was arrested')
    position: Literal["before", "after"] = "before"
    patterns: list[Pattern]

    _patterns = field_validator("patterns")(_check_patterns)


#: One word set of ``lexicons`` (a YAML list; order and repeats do not matter).
WordSet = frozenset[str]


class WordLexicons(_Strict):
    """``lexicons`` in ``victims.yaml``: the domain words the record reader (``rules.extract``)
    tests tokens against, lower-case single words (officer titles as written, any case)."""

    partner_words: WordSet
    ex_partner_words: WordSet
    kin_words: WordSet
    other_person_words: WordSet
    role_synonyms: dict[str, str]
    family_sharing_surname: tuple[str, ...]
    apposition_words: WordSet
    quoted_doer_words: WordSet
    body_parts: WordSet
    officer_titles: WordSet
    relaying_verbs: WordSet
    pronoun_telling_verbs: WordSet
    telling_verbs: WordSet
    saying_verbs: WordSet
    sending_verbs: WordSet
    message_openers: WordSet
    calling_verbs: WordSet
    caller_saying_words: WordSet
    receiving_verbs: WordSet
    admitting_verbs: WordSet
    handing_over_verbs: WordSet
    crime_nouns: WordSet
    how_often_words: WordSet
    number_words: dict[str, int]
    child_group_words: tuple[str, ...]
    #: words between a possessive and a person word that only describe the person ('his
    #: little brother', 'their eldest son'): the words' object is still that person
    kin_modifiers: WordSet = frozenset()
    #: common first names that say a person's gender where no title or role word does
    #: ('Helen X came out and he kicked her': Helen, not her husband Robert X)
    female_first_names: WordSet = frozenset()
    male_first_names: WordSet = frozenset()
    #: words in an owner's name that make it a business or landlord ('owned by QuickBite
    #: Deliveries Ltd', 'property is Northmere Homes')
    organisation_words: WordSet = frozenset()
    #: v118ar: verbs by which an officer's entry relays someone's account ('He adds that ...',
    #: 'too embarrassed to say on the night: ...'): a first person after them in the sentence
    #: is the teller, not the officer writing (with relaying_verbs and telling_verbs)
    account_verbs: WordSet = frozenset()
    #: v119va: words for a person not named ('says male in grey top punched him', 'a woman'):
    #: an unnamed doer straight after a teller's verb, in counter-allegations
    unnamed_person_words: WordSet = frozenset()
    #: v119po: words just before a name that make that person the owner of a damaged thing
    #: ('(owner Mr Kevin X)', 'Clio owner is Miss Abbie X', 'belonging to Mr Ian X')
    owner_words: WordSet = frozenset()
    #: v119po: things a person owns that are damaged in one incident with another owner's (cars
    #: by kind, make and model, fences, sheds): 'Tom X's van', 'Skoda (Martin X)', 'Kia - Mrs X'
    owned_things: WordSet = frozenset()
    #: v119pb: a business's cash where it is kept ('took cash from the till', 'taken the cash
    #: tin'): a robbery of it is the business's
    till_words: WordSet = frozenset()
    #: v119pb: words after a possessive that make a thing a person's own ('Anil's own phone',
    #: 'her personal iPhone'), not the business's stock or cash
    own_property_words: WordSet = frozenset()
    #: v122b: words for a job a person is named after ('carer Natalie X', 'Guard Dwayne X'):
    #: damage told beside an assault on them naming no one is their employer's
    worker_words: WordSet = frozenset()
    #: v120ay: words straight after a plural that make the several its doers ('Both males
    #: arrested for child abduction', 'both parents suspects'), not its victims
    suspected_words: WordSet = frozenset()
    #: v120ax: vehicles by kind ('works van (Harrowford Plumbing Ltd)'): one named with a
    #: business in brackets after it is the business's, and so is the damage told of it
    vehicle_words: WordSet = frozenset()
    #: v120ax: parts of a vehicle that tell damage to it ('kicked the bonnet')
    vehicle_part_words: WordSet = frozenset()
    #: v120ba: buildings and things a threat to burn down is a threat to, not to a person
    #: ('burn ur barn down'), unless the threat is also to kill
    burnable_property_words: WordSet = frozenset()

    @model_validator(mode="after")
    def _single_words(self) -> WordLexicons:
        for name, value in self:
            words = [*value.keys(), *value.values()] if name == "role_synonyms" else list(value)
            any_case = name == "officer_titles"
            for word in words:
                if word.split() != [word] or (not any_case and word != word.lower()):
                    kind = "single word" if any_case else "lower-case single word"
                    raise ValueError(f"{name}: {word!r} is not a {kind}")
        return self


class VictimLexicon(_Strict):
    """``victims.yaml``: role words, and words in capitals that are not surnames."""

    version: str
    titles: list[str]
    professional_titles: list[str] = Field(default_factory=list)
    roles: list[RoleRule]
    not_surnames: list[str] = Field(default_factory=list)
    not_first_names: list[str] = Field(default_factory=list)
    place_words: list[str] = Field(default_factory=list)
    #: words after which 'to/with Firstname SURNAME' is a person, not an address ('spoke to')
    person_verbs: list[str] = Field(default_factory=list)
    #: titles and role words that say a named person's gender ('Mrs', 'his wife Jo ROOK'),
    #: for telling 'punched her' from 'kicked him'
    gender_words: dict[Literal["female", "male"], list[str]] = Field(default_factory=dict)
    #: HOCR codes counted once per child a record lists with an age ('Jayden (9), Mia (6)'),
    #: when it lists two or more: a crime against each child, not one for the family
    per_child_codes: list[str] = Field(default_factory=list)
    #: the words the record reader tells people and deeds apart by (kin words, verbs of telling)
    lexicons: WordLexicons

    @model_validator(mode="after")
    def _unique_ids(self) -> VictimLexicon:
        _unique([r.id for r in self.roles])
        _known_codes("per_child_codes", self.per_child_codes)
        return self


def _known_codes(field: str, codes: list[str]) -> None:
    """Refuse HOCR codes missing from the code table (``hocr_codes.csv``)."""
    from crimedetect.hocr import category_for_code

    for code in codes:
        if category_for_code(code) is None:
            raise ValueError(f"{field}: unknown HOCR code {code!r}")


def _unique(ids: list[str]) -> None:
    seen: set[str] = set()
    for rule_id in ids:
        if rule_id in seen:
            raise ValueError(f"rule id {rule_id!r} is used twice")
        seen.add(rule_id)


class SentenceFold(_Strict):
    """A crime that, told in the same sentence as another for the same victim, is part of it
    (the other's category, and optionally its HOCR code or one of its cues), unless the
    folded crime's sentence carries ``unless_sentence_cue`` outside its own words (harassment
    told with 'for weeks' is a course of conduct of its own)."""

    category: str
    hocr_code: str | None = None
    cue: str | None = None
    unless_sentence_cue: str | None = None
    #: ... nor when its own words carry this cue ('kept texting her': contact on many occasions)
    unless_own_cue: str | None = None


class RecordFold(_Strict):
    """A crime that, anywhere in the record, is part of another for the same victim of
    ``category`` with HOCR code ``hocr_code``, when its own HOCR code is one of ``own_hocr_codes``
    (harassing messages to a child beside grooming of that child are the grooming)."""

    category: str
    hocr_code: str
    own_hocr_codes: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_of_the_table(self) -> RecordFold:
        from crimedetect.hocr import category_for_code

        _known_codes("record_subsumed_by", [self.hocr_code, *self.own_hocr_codes])
        if category_for_code(self.hocr_code) != self.category:
            code = self.hocr_code
            raise ValueError(f"record_subsumed_by: HOCR code {code!r} is not a {self.category} code")
        return self


class CountingSettings(_Strict):
    """``counting.yaml``: offence-specific folding on top of the principal crime rule."""

    version: str
    subsumed_by: dict[str, list[str]] = Field(default_factory=dict)
    counted_alongside: dict[str, list[str]] = Field(default_factory=dict)
    sentence_subsumed_by: dict[str, list[SentenceFold]] = Field(default_factory=dict)
    record_subsumed_by: dict[str, list[RecordFold]] = Field(default_factory=dict)
    clock_waits_for: list[str] = Field(default_factory=list)
    clock_starts_with_folded: dict[str, list[str]] = Field(default_factory=dict)
    #: regular expressions (case-insensitive) of an earlier day in a mention's sentence ('last
    #: Friday', 'two weeks ago'): such a crime, told after the ones that opened the record, is
    #: a separate incident (General Rule F folds within one incident only)
    separate_occasion: list[Regex] = Field(default_factory=list)
    #: v118ar: HOCR code of a possession crime against the State -> categories that, told in
    #: the same entry, take it in: the knife shown to make him hand over his trainers is the
    #: robbery's, not also a possession crime
    weapon_used_in: dict[str, list[str]] = Field(default_factory=dict)
    #: v120ba: property crimes a victim may suffer again on a later occasion, each a crime of
    #: its own: first told on an earlier day (``separate_occasion``), then in a later entry
    #: told as done again (``told_again``, regular expressions, case-insensitive)
    repeat_occasion_categories: list[str] = Field(default_factory=list)
    told_again: list[Regex] = Field(default_factory=list)
    #: v121a: a victim named by a bare SURNAME is the one victim of the same category named in
    #: full with that surname ('PEARCE' beside Graham PEARCE, both the burglary's), when the
    #: record names several people of that surname and the extractor could not choose
    surname_joins_category_victim: bool = False
    #: v122a: offence rules that match the officer's label for an offence ('ABH', 'harassment
    #: crime raised'), not a telling of it: a label names no victim of its own (see
    #: ``rules.counting.labels_join_told_victim``)
    label_rules: list[str] = Field(default_factory=list)
    #: v122a: regular expressions (case-insensitive) of a habit ('most weeks', 'every week'): a
    #: property crime (``repeat_occasion_categories``) told only so is a course of its own beside
    #: crimes told as one occasion
    habitual: list[Regex] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_categories(self) -> CountingSettings:
        tables = [self.subsumed_by, self.counted_alongside, self.clock_starts_with_folded]
        tables.append({category: [] for category in self.repeat_occasion_categories})
        tables.append({"other_notifiable": [c for v in self.weapon_used_in.values() for c in v]})
        tables.append({k: [f.category for f in v] for k, v in self.sentence_subsumed_by.items()})
        tables.append({k: [f.category for f in v] for k, v in self.record_subsumed_by.items()})
        for table in tables:
            for key, values in table.items():
                for name in (key, *values):
                    if name not in CATEGORIES:
                        raise ValueError(f"unknown category {name!r}")
        return self


FILES: dict[str, type[BaseModel]] = {
    "offence_patterns.yaml": OffencePatterns,
    "context_rules.yaml": ContextRules,
    "victims.yaml": VictimLexicon,
    "counting.yaml": CountingSettings,
}


def default_rules_dir() -> Path:
    """The rule files shipped in the package (``resources/rules``)."""
    return Path(str(resources.files("crimedetect") / "resources" / "rules"))


def _where(data: Any, loc: tuple[Any, ...]) -> str:
    """Turn a pydantic location into 'rules[12] (id violence.punch) field patterns'."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            if isinstance(node, list) and 0 <= step < len(node):
                node = node[step]
                if isinstance(node, dict) and "id" in node:
                    label += f" (id {node['id']})"
            parts.append(label)
        else:
            parts.append(f".{step}" if parts else str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts) or "(file)"


def load_rule_file(path: str | Path, model: type[BaseModel] | None = None) -> Any:
    """Load and validate one rule file; raise :class:`RuleFileError` naming file, rule and field."""
    path = Path(path)
    model = model or FILES.get(path.name)
    if model is None:
        raise RuleFileError(f"{path}: unknown rule file; expected one of {', '.join(FILES)}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RuleFileError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise RuleFileError(f"{path}{line}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(data, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise RuleFileError(f"{path}: " + "; ".join(problems)) from exc


RULE_FILES = ("offence_patterns.yaml", "context_rules.yaml", "victims.yaml", "counting.yaml")


def _dir(directory: str | None) -> Path:
    return Path(directory) if directory else default_rules_dir()


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes ('missing' when it does not exist)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return "missing"


def rules_dir_digest(directory: str | None = None) -> str:
    """sha256 over the bytes of a rules directory's four files: changes with any edit."""
    digest = hashlib.sha256()
    for name in RULE_FILES:
        digest.update(f"{name}\0{file_digest(_dir(directory) / name)}\0".encode())
    return digest.hexdigest()


def load_rules_dir(directory: str | None = None) -> tuple[OffencePatterns, ContextRules, VictimLexicon]:
    """The three rule files of a directory (default: the packaged ones), validated.

    Cached per process by the files' content, so an edited file is read again.
    """
    return _load_rules_dir(directory, rules_dir_digest(directory))


@lru_cache(maxsize=16)
def _load_rules_dir(
    directory: str | None, _digest: str
) -> tuple[OffencePatterns, ContextRules, VictimLexicon]:
    base = _dir(directory)
    offences = load_rule_file(base / "offence_patterns.yaml")
    context = load_rule_file(base / "context_rules.yaml")
    unknown = sorted(context.rule_targets() - {rule.id for rule in offences.rules})
    if unknown:
        raise RuleFileError(
            f"{base / 'context_rules.yaml'}: applies_to/except_for name offence rules not in "
            f"offence_patterns.yaml: {', '.join(unknown)}"
        )
    return offences, context, load_rule_file(base / "victims.yaml")


def load_counting(directory: str | None = None) -> CountingSettings:
    """``counting.yaml`` of a rules directory, validated (cached by content)."""
    return _load_counting(directory, file_digest(_dir(directory) / "counting.yaml"))


@lru_cache(maxsize=16)
def _load_counting(directory: str | None, _digest: str) -> CountingSettings:
    return load_rule_file(_dir(directory) / "counting.yaml")


def rules_version(directory: str | None = None, content: str | None = None) -> str:
    """One version string for the rule set: the four declared file versions joined, then
    ``+`` and the first 12 hex digits of a sha256 of the content in use (by default the
    directory's four files; the detector also hashes its config and the shared counting
    rules). Any edit changes it, even one that forgets to bump a declared version."""
    offences, context, victims = load_rules_dir(directory)
    counting = load_counting(directory)
    digest = content or rules_dir_digest(directory)
    return f"o{offences.version}-c{context.version}-v{victims.version}-n{counting.version}+{digest[:12]}"
