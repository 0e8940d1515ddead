"""Reconcile: compare what a record discloses with what the force recorded.

``reconcile(record, disclosures, crimes)`` is a pure function returning the record's
:class:`~crimedetect.contract.Flag`. It matches each disclosure (a counted crime: one
category, one victim) to at most one crime record and each crime record to at most one
disclosure (one crime per victim), then reports:

- ``unrecorded``: disclosures left without a crime record, grouped by category with the
  number missing;
- ``misclassified``: a disclosure matched to a crime record of another category (the
  finding carries the disclosed category and the crime's id);
- ``late``: a matched crime recorded more than the edition's timeliness limit (24 hours)
  after the entry that first disclosed it;
- ``n100_missing``: a rape report that needs an N100 and has neither a rape crime nor one;
- ``cancellation_unsupported``: a cancelled crime whose reason gives no additional
  verifiable information (judged by the phrases in ``resources/avi.yaml``).

Matching settings (victim roles, fuzzy thresholds, usual misclassifications, N100 cues) are
in ``resources/reconcile.yaml``. Every finding carries its decision trace as extras.

The module also holds the measurement against audits (:func:`truth_findings`,
:func:`finding_quality`) and :func:`oracle_disclosures`, which turns an audit into the
disclosures a perfect detector would give (a test of reconcile on its own).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crimedetect.contract import (
    CATEGORIES,
    Audit,
    Crime,
    CrimeStatus,
    Disclosure,
    Evidence,
    Finding,
    FindingType,
    Flag,
    Record,
)
from crimedetect.hocr import category_for_code, counting_edition, severity_rank
from crimedetect.validation import Regex

#: In every flag's ``versions``; 2: links between records are symmetric in all engines; 3: AVI
#: phrase list 2 (lawful removal) and the `victim_untraced` N100 cue; 4: `n100_unblocked_cues`;
#: 5: `not_unrecorded_beside`; 6: a rape report needing an N100 is not matched across categories;
#: 7: no misclassification of a crime cancelled with additional verifiable information; 8: the
#: principal crime rule when matching (`part_of`); 9: that rule is the only one applied to a
#: category the model alone found (the ensemble no longer folds it first, ``detect.py``); 10: the
#: ensemble keeps a rule rape disclosure it scores under a crime, cued ``report_only``, for the
#: N100 check (``ModelBundle.combine``).
RECONCILE_VERSION = "reconcile-10"

# --------------------------------------------------------------------------- settings


class ConfigError(ValueError):
    """A settings file that fails validation; the message names the file and field."""


class VictimSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str]
    titles: list[str]
    ignore_words: list[str] = Field(default_factory=list)
    fuzzy_full_name: float = Field(ge=0.5, le=1.0)
    fuzzy_token: float = Field(ge=0.5, le=1.0)


class ReconcileSettings(BaseModel):
    """``resources/reconcile.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: int
    min_finding_score: float = Field(ge=0.0, le=1.0)
    own_record_any_victim: bool = True
    report_over_classification: bool = False
    victim: VictimSettings
    confusions: dict[str, list[str]]
    n100_answers_any_rape_report: bool = True
    n100_cues: list[str]
    n100_blocking_cues: list[str] = Field(default_factory=list)
    #: n100 cues no blocking cue overrides: the victim cannot say whether anything happened
    n100_unblocked_cues: list[str] = Field(default_factory=list)
    max_entry_chars: int = Field(ge=1000)
    #: category -> categories beside which its disclosure raises no ``unrecorded`` finding
    not_unrecorded_beside: dict[str, list[str]] = Field(default_factory=dict)
    #: category -> the more serious categories it is part of for one victim (principal crime)
    part_of: dict[str, list[str]] = Field(default_factory=dict)
    #: an extra victim beside a recorded crime of the category must share an entry with it
    second_victim_same_entry: bool = False

    @field_validator("confusions", "not_unrecorded_beside", "part_of")
    @classmethod
    def _known_categories(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for recorded, disclosed in value.items():
            for category in [recorded, *disclosed]:
                if category not in CATEGORIES:
                    raise ValueError(f"unknown category {category!r}")
        return value


class AviPhrase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    pattern: Regex


class AviSettings(BaseModel):
    """``resources/avi.yaml``: phrases that are, or are not, additional verifiable information."""

    model_config = ConfigDict(extra="forbid")

    version: int
    verifiable: list[AviPhrase]
    valid_ground: list[AviPhrase]
    not_avi: list[AviPhrase]
    labelled_avi: list[AviPhrase] = Field(default_factory=list)
    bare_label: list[AviPhrase] = Field(default_factory=list)


def _load_yaml(path: Path | Any, model: type[BaseModel]) -> Any:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "-"
        raise ConfigError(f"{path}: {where}: {error['msg']}") from exc


def _resource(name: str) -> Any:
    return resources.files("crimedetect") / "resources" / name


@lru_cache(maxsize=4)
def load_settings(path: str | None = None) -> ReconcileSettings:
    """Reconcile settings from ``path`` or the packaged ``resources/reconcile.yaml``."""
    return _load_yaml(Path(path) if path else _resource("reconcile.yaml"), ReconcileSettings)


def reconcile_version(settings: ReconcileSettings) -> str:
    """The reconcile logic and the settings it ran with, for a flag's ``versions``:
    ``reconcile-10+s7`` with the packaged settings, and a digest of the settings after ``@``
    when they differ from the packaged ones (an analyst's edited copy)."""
    version = f"{RECONCILE_VERSION}+s{settings.version}"
    if settings != load_settings():
        digest = hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:8]
        version += f"@{digest}"
    return version


@lru_cache(maxsize=4)
def load_avi(path: str | None = None) -> AviSettings:
    """AVI phrases from ``path`` or the packaged ``resources/avi.yaml``."""
    return _load_yaml(Path(path) if path else _resource("avi.yaml"), AviSettings)


# --------------------------------------------------------------------------- AVI


@dataclass(frozen=True)
class AviJudgement:
    """Whether a cancellation reason supports the cancellation, and why."""

    supported: bool
    ground: str  # verifiable | valid_ground | not_avi | labelled_avi | bare_label | no_reason | unexplained
    phrase: str | None
    confidence: float


@lru_cache(maxsize=4)
def _compiled_avi(path: str | None) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    settings = load_avi(path)
    return {
        group: [(p.id, re.compile(p.pattern, re.IGNORECASE)) for p in getattr(settings, group)]
        for group in ("verifiable", "valid_ground", "not_avi", "labelled_avi", "bare_label")
    }


def judge_cancellation(reason: str | None, avi_path: str | None = None) -> AviJudgement:
    """Judge a cancellation reason against ``avi.yaml`` (see the order of judgement there)."""
    if not reason or not reason.strip():
        return AviJudgement(False, "no_reason", None, 0.9)
    groups = _compiled_avi(avi_path)

    def first(group: str) -> str | None:
        for phrase_id, pattern in groups[group]:
            if pattern.search(reason):
                return phrase_id
        return None

    if hit := first("verifiable"):
        return AviJudgement(True, "verifiable", hit, 0.8)
    if hit := first("valid_ground"):
        return AviJudgement(True, "valid_ground", hit, 0.8)
    if hit := first("not_avi"):
        return AviJudgement(False, "not_avi", hit, 0.9)
    if hit := first("labelled_avi"):
        return AviJudgement(True, "labelled_avi", hit, 0.6)
    if hit := first("bare_label"):
        return AviJudgement(False, "bare_label", hit, 0.6)
    return AviJudgement(False, "unexplained", None, 0.5)


# --------------------------------------------------------------------------- victims


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9/ '-]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class Victim:
    """A victim as written, reduced to name tokens (empty for roles and blanks)."""

    raw: str | None
    tokens: tuple[str, ...]

    @property
    def named(self) -> bool:
        return bool(self.tokens)


def n100_not_blocked(cues: set[str], settings: ReconcileSettings) -> bool:
    """Whether a rape report cued as uncertain (``n100_cues``) still needs an N100: no
    blocking cue (a professional reporting in role is recorded without the victim's
    confirmation), or a cue no blocking overrides (the victim cannot say anything happened)."""
    return not cues & set(settings.n100_blocking_cues) or bool(cues & set(settings.n100_unblocked_cues))


def needs_n100(disclosure: Disclosure, settings: ReconcileSettings) -> bool:
    """A rape report that does not (yet) amount to a crime and is not blocked from an N100: a
    rape crime or an N100 answers it, nothing else (:func:`n100_not_blocked`)."""
    return is_rape_report(disclosure, settings) and n100_not_blocked(set(_cues(disclosure)), settings)


def is_rape_report(disclosure: Disclosure, settings: ReconcileSettings | None = None) -> bool:
    """A rape disclosure cued as a report that does not (yet) amount to a crime
    (``n100_cues``): it needs an N100 when no rape crime is recorded, whatever its score, for
    the score is the chance of a rape *crime* (a stacker fitted on audits scores these low)."""
    settings = settings or load_settings()
    return str(disclosure.category) == "rape" and bool(set(_cues(disclosure)) & set(settings.n100_cues))


def parse_victim(raw: str | None, settings: ReconcileSettings | None = None) -> Victim:
    """Name tokens of a victim, without titles, role words ('Client', 'IP'), filler words and
    numbers; no tokens for a role ('IP', 'the victim'), an organisation or a blank."""
    settings = settings or load_settings()
    if not raw or not raw.strip():
        return Victim(raw, ())
    folded = _fold(raw)
    if folded in settings.victim.roles:
        return Victim(raw, ())
    drop = _drop_words(settings)
    tokens = tuple(
        token
        for token in (t.strip("'-/") for t in folded.split())
        if token and token not in drop and not any(ch.isdigit() for ch in token)
    )
    return Victim(raw, tokens)


@lru_cache(maxsize=8)
def _drop_words_for(
    titles: tuple[str, ...], roles: tuple[str, ...], ignore: tuple[str, ...]
) -> frozenset[str]:
    return frozenset(titles) | frozenset(r for r in roles if " " not in r) | frozenset(ignore)


def _drop_words(settings: ReconcileSettings) -> frozenset[str]:
    victim = settings.victim
    return _drop_words_for(tuple(victim.titles), tuple(victim.roles), tuple(victim.ignore_words))


def victim_match(a: Victim, b: Victim, settings: ReconcileSettings | None = None) -> int:
    """How well two victims agree: 3 same person by name, 2 by one name (surname only),
    1 compatible (one or both unnamed), 0 different people.

    Names agree when the shorter one's tokens appear in order in the longer one (so
    "Kamal HASSAN" is in "Occupier 26 Sorrel Way (Mr Kamal HASSAN)"), a token agreeing
    despite a typo or as an initial ("K MORRIS"); "Dean MORRIS" is not "Kelly MORRIS".
    """
    settings = settings or load_settings()
    if not a.named or not b.named:
        return 1
    if a.tokens == b.tokens:
        return 3
    whole = SequenceMatcher(None, " ".join(a.tokens), " ".join(b.tokens)).ratio()
    if whole >= settings.victim.fuzzy_full_name:
        return 3
    threshold = settings.victim.fuzzy_token

    def same(x: str, y: str) -> bool:
        if x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y)):
            return True
        return len(x) >= 4 and len(y) >= 4 and SequenceMatcher(None, x, y).ratio() >= threshold

    short, long = (a.tokens, b.tokens) if len(a.tokens) <= len(b.tokens) else (b.tokens, a.tokens)
    if len(short) == 1:
        # SURNAME only (or a first name only): any token agreeing will do.
        return 2 if any(same(short[0], token) for token in long) else 0
    position = 0
    for token in short:
        while position < len(long) and not same(token, long[position]):
            position += 1
        if position == len(long):
            return 0
        position += 1
    return 3


# --------------------------------------------------------------------------- crime index


@dataclass
class CrimeProblem:
    """Something wrong with the crimes file worth telling the user (nothing is dropped)."""

    crime_id: str
    problem: str  # unknown_record | no_record_ids
    detail: str


@dataclass
class CrimeIndex:
    """Crime records by the source record they were raised from, including linked records.

    ``for_record(record)`` gives the crimes raised from the record itself first, then those
    raised from records it links to (``linked_record_ids``) and from records that link to it
    (when those links were registered with :meth:`add_links`: every scan engine registers
    them, so links are symmetric).
    """

    by_record: dict[str, list[Crime]] = field(default_factory=dict)
    crimes: dict[str, Crime] = field(default_factory=dict)
    reverse_links: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, crimes: Iterable[Crime]) -> CrimeIndex:
        """Index crimes; a repeated ``crime_id`` keeps the first (read_contract rejects repeats)."""
        index = cls()
        for crime in crimes:
            index.add(crime)
        return index

    def add(self, crime: Crime) -> None:
        if crime.crime_id in self.crimes:
            return
        self.crimes[crime.crime_id] = crime
        for record_id in dict.fromkeys(crime.record_ids):
            self.by_record.setdefault(record_id, []).append(crime)

    def add_links(self, record_id: str, linked_record_ids: Iterable[str]) -> None:
        """Register a record's links so that the linked records also see its crimes."""
        for linked in linked_record_ids:
            self.reverse_links.setdefault(linked, set()).add(record_id)

    def for_record(self, record: Record | str, linked_record_ids: Sequence[str] = ()) -> list[Crime]:
        """Crimes raised from the record, then from its linked records; each crime once."""
        if isinstance(record, Record):
            record_id, linked = record.record_id, list(record.linked_record_ids)
        else:
            record_id, linked = record, list(linked_record_ids)
        linked += sorted(self.reverse_links.get(record_id, set()) - set(linked))
        out: dict[str, Crime] = {}
        for rid in [record_id, *linked]:
            for crime in self.by_record.get(rid, []):
                out.setdefault(crime.crime_id, crime)
        return list(out.values())

    def problems(self, known_record_ids: set[str] | None = None) -> list[CrimeProblem]:
        """Crimes with no source record, or pointing to records not in ``known_record_ids``."""
        out: list[CrimeProblem] = []
        for crime in self.crimes.values():
            if not crime.record_ids:
                out.append(CrimeProblem(crime.crime_id, "no_record_ids", "crime names no source record"))
            elif known_record_ids is not None:
                missing = [r for r in crime.record_ids if r not in known_record_ids]
                if len(missing) == len(crime.record_ids):
                    out.append(
                        CrimeProblem(
                            crime.crime_id,
                            "unknown_record",
                            f"points to record(s) not in the records read: {', '.join(missing)}",
                        )
                    )
        return out


# --------------------------------------------------------------------------- reconcile


def crime_categories(crime: Crime) -> set[str]:
    """The categories a crime counts as: its category and the category of its HOCR code."""
    out = set()
    if crime.category is not None:
        out.add(str(crime.category))
    if crime.offence_code and crime.offence_code != "N100":
        mapped = category_for_code(crime.offence_code)
        if mapped:
            out.add(mapped)
    return out


def is_n100(crime: Crime) -> bool:
    """An N100 record (status ``n100`` or classification code N100): not a crime record."""
    return crime.status == CrimeStatus.n100.value or crime.offence_code == "N100"


def disclosure_entry(disclosure: Disclosure) -> int | None:
    """The entry that first disclosed it: the ``first_entry`` extra, else the earliest evidence."""
    extra = (disclosure.model_extra or {}).get("first_entry")
    if isinstance(extra, int) and extra >= 0:
        return extra
    if disclosure.evidence:
        return min(e.entry for e in disclosure.evidence)
    return None


def disclosed_at(record: Record, disclosure: Disclosure) -> tuple[int, datetime]:
    """Index and time of the entry that first disclosed it (the 24-hour clock starts there)."""
    index = disclosure_entry(disclosure)
    if index is None or index >= len(record.entries):
        index = 0
    return index, record.entries[index].at


def _cues(disclosure: Disclosure) -> list[str]:
    cues = (disclosure.model_extra or {}).get("cues") or []
    return [str(c) for c in cues] if isinstance(cues, list) else [str(cues)]


def _hours(delta_seconds: float) -> float:
    return round(delta_seconds / 3600.0, 1)


@dataclass
class _Match:
    disclosure: int
    crime: Crime
    victim_score: int
    #: lesser disclosures of the same victim that are part of this one (principal crime rule)
    folded: tuple[int, ...] = ()

    @property
    def told(self) -> list[int]:
        """The disclosure and those folded into it: every finding about the crime traces them."""
        return [self.disclosure, *self.folded]


def _match(
    disclosures: Sequence[Disclosure],
    crimes: Sequence[Crime],
    direct_ids: set[str],
    settings: ReconcileSettings,
) -> tuple[list[_Match], list[int], list[Crime]]:
    """One crime per victim: pair disclosures with crimes, same category first, then across
    categories (a misclassification). Returns the pairs, unmatched disclosure indices and
    unmatched crimes."""
    victims = [parse_victim(d.victim, settings) for d in disclosures]
    crime_victims = {c.crime_id: parse_victim(c.victim, settings) for c in crimes}
    order = {c.crime_id: i for i, c in enumerate(crimes)}
    free_d = set(range(len(disclosures)))
    free_c = {c.crime_id: c for c in crimes}
    matches: list[_Match] = []

    def take(candidates: list[tuple[tuple[Any, ...], int, Crime, int]]) -> None:
        for _, d, crime, score in sorted(candidates, key=lambda item: item[0]):
            if d in free_d and crime.crime_id in free_c:
                free_d.discard(d)
                del free_c[crime.crime_id]
                matches.append(_Match(d, crime, score))

    # Pass 1: same category (HOCR-code equivalent), best victim agreement first.
    same: list[tuple[tuple[Any, ...], int, Crime, int]] = []
    for d in sorted(free_d):
        category = str(disclosures[d].category)
        for crime in free_c.values():
            if category not in crime_categories(crime):
                continue
            score = victim_match(victims[d], crime_victims[crime.crime_id], settings)
            if score == 0 and not (settings.own_record_any_victim and crime.crime_id in direct_ids):
                continue
            key = (-score, crime.crime_id not in direct_ids, -disclosures[d].score, d, order[crime.crime_id])
            same.append((key, d, crime, score))
    take(same)

    # Pass 2: across categories, for the usual misclassifications only (reconcile.yaml). A
    # rape report that does not amount to a crime and needs an N100 is answered only by a rape
    # crime or an N100, never by another category's crime (it is no misclassification).
    cross: list[tuple[tuple[Any, ...], int, Crime, int]] = []
    for d in sorted(free_d):
        category = str(disclosures[d].category)
        if needs_n100(disclosures[d], settings):
            continue
        for crime in free_c.values():
            if not any(category in settings.confusions.get(c, []) for c in crime_categories(crime)):
                continue
            score = victim_match(victims[d], crime_victims[crime.crime_id], settings)
            if score == 0 and not (settings.own_record_any_victim and crime.crime_id in direct_ids):
                continue
            key = (
                -score,
                crime.crime_id not in direct_ids,
                severity_rank(category),
                -disclosures[d].score,
                d,
                order[crime.crime_id],
            )
            cross.append((key, d, crime, score))
    take(cross)

    # Pass 3, the principal crime rule: a credible disclosure left without a crime takes the
    # crime that a lesser disclosure of the same victim matched, when the lesser crime is part
    # of it (``part_of``: the theft of a burglary, the touching of a rape) and recording the
    # lesser category is a usual misclassification of it (``confusions``). The lesser
    # disclosure is then part of it and raises no finding of its own. Only when one of the two
    # is the model's alone: the rules count their own disclosures by incident (a rape told in
    # the DASH is not part of tonight's push), the model knows no incidents.
    by_severity = sorted(free_d, key=lambda d: (severity_rank(str(disclosures[d].category)), d))
    for d in by_severity:
        disclosure = disclosures[d]
        category = str(disclosure.category)
        if disclosure.score < settings.min_finding_score or needs_n100(disclosure, settings):
            continue
        for k, match in enumerate(matches):
            lesser = str(disclosures[match.disclosure].category)
            if (
                category in settings.part_of.get(lesser, ())
                and ["model"] in (list(disclosure.by), list(disclosures[match.disclosure].by))
                and lesser in crime_categories(match.crime)
                and any(category in settings.confusions.get(c, []) for c in crime_categories(match.crime))
                and victim_match(victims[d], victims[match.disclosure], settings) > 0
            ):
                score = victim_match(victims[d], crime_victims[match.crime.crime_id], settings)
                matches[k] = _Match(d, match.crime, score, tuple(match.told))
                free_d.discard(d)
                break
    unmatched_d = sorted(free_d)
    unmatched_c = [c for c in crimes if c.crime_id in free_c]
    return matches, unmatched_d, unmatched_c


def _recorded_entries(disclosures: Sequence[Disclosure], matches: Sequence[_Match]) -> dict[str, set[int]]:
    """Category -> entries holding evidence of the disclosures matched to a crime recorded in
    that category (for ``second_victim_same_entry``)."""
    entries: dict[str, set[int]] = defaultdict(set)
    for match in matches:
        category = str(disclosures[match.disclosure].category)
        if category in crime_categories(match.crime):
            entries[category] |= {e.entry for e in disclosures[match.disclosure].evidence}
    return dict(entries)


def reconcile(
    record: Record,
    disclosures: Sequence[Disclosure],
    crimes: Sequence[Crime],
    *,
    settings: ReconcileSettings | None = None,
    avi_path: str | None = None,
    priority: Any | None = None,
    extras: Mapping[str, Any] | None = None,
) -> Flag:
    """The flag of one record: its disclosures matched against its crime records.

    ``crimes`` are the record's candidate crime records (``CrimeIndex.for_record``); those
    raised from the record itself are preferred over those of linked records. ``priority``
    is a fitted :class:`crimedetect.priority.PriorityModel` (default: the packaged one).
    ``extras`` are added to the flag as extra fields (e.g. ``versions``, ``problems``).
    """
    settings = settings or load_settings()
    direct_ids = {c.crime_id for c in crimes if record.record_id in c.record_ids}
    n100s = [c for c in crimes if is_n100(c) and ("rape" in crime_categories(c) or c.category is None)]
    countable = [c for c in crimes if not is_n100(c)]
    matches, unmatched, leftover = _match(disclosures, countable, direct_ids, settings)
    threshold = settings.min_finding_score
    findings: list[Finding] = []

    # Unrecorded (and N100) findings, grouped by category.
    groups: dict[str, list[int]] = defaultdict(list)
    n100_needed: list[int] = []
    credible = {str(d.category) for d in disclosures if d.score >= threshold}
    recorded_entries = _recorded_entries(disclosures, matches) if settings.second_victim_same_entry else {}
    for d in unmatched:
        disclosure = disclosures[d]
        if is_rape_report(disclosure, settings) and n100s:
            continue  # the N100 raised answers this report
        if needs_n100(disclosure, settings):
            n100_needed.append(d)  # a report that does not (yet) amount to a crime, any score
            continue
        if disclosure.score < threshold:
            continue
        if credible & set(settings.not_unrecorded_beside.get(str(disclosure.category), ())):
            continue  # e.g. drugs found with a victim of modern slavery (reconcile.yaml)
        if str(disclosure.category) == "rape" and n100s and settings.n100_answers_any_rape_report:
            continue  # the N100 raised answers this report
        told_in = recorded_entries.get(str(disclosure.category))
        told_apart = told_in is not None and not told_in & {e.entry for e in disclosure.evidence}
        if told_apart and "audit" not in disclosure.by:
            # second_victim_same_entry: a detected extra victim told apart from the recorded
            # one; an audit's own disclosures (the oracle) are facts, not detections
            continue
        groups[str(disclosure.category)].append(d)
    for category, members in groups.items():
        first_index, first_time = min(disclosed_at(record, disclosures[d]) for d in members)
        victims = [disclosures[d].victim for d in members]
        named = [v for v in victims if v]
        score = max(disclosures[d].score for d in members)
        detail = (
            f"{len(members)} {category} crime(s) disclosed"
            f"{' against ' + ', '.join(named) if named else ''} from entry {first_index} "
            f"({first_time.isoformat()}); no matching crime record"
        )
        if category == "rape" and n100s:
            # N100 is for reports that do not amount to a crime, not a holding record.
            detail += f"; only an N100 ({', '.join(c.crime_id for c in n100s)}) was raised"
        findings.append(
            Finding(
                type=FindingType.unrecorded,
                category=category,
                count=len(members),
                score=score,
                detail=detail,
                victims=victims,
                first_entry=first_index,
                disclosures=members,
            )
        )
    if n100_needed:
        score = max(disclosures[d].score for d in n100_needed)
        index, when = min(disclosed_at(record, disclosures[d]) for d in n100_needed)
        findings.append(
            Finding(
                type=FindingType.n100_missing,
                category="rape",
                score=score,
                detail=(
                    f"rape report at entry {index} ({when.isoformat()}) has neither a rape crime nor an N100"
                ),
                first_entry=index,
                disclosures=n100_needed,
            )
        )

    # Findings about existing crime records.
    for match in sorted(matches, key=lambda m: m.disclosure):
        disclosure = disclosures[match.disclosure]
        crime = match.crime
        category = str(disclosure.category)
        if crime.status == CrimeStatus.transferred.value or disclosure.score < threshold:
            continue
        recorded = crime_categories(crime)
        force_category = crime.resolved_category
        less = severity_rank(category) < severity_rank(force_category)
        reported = category not in recorded and (less or settings.report_over_classification)
        # v118ar: a crime cancelled on additional verifiable information (footage shows no
        # blow) records nothing, so there is no classification to fault
        if reported and crime.status == CrimeStatus.cancelled.value:
            reported = not judge_cancellation(crime.cancellation_reason, avi_path).supported
        # The category that should have been recorded: the disclosed one, unless the force's
        # (more serious) category was accepted above.
        should_be = category if category in recorded or reported else force_category
        if reported:
            parts = ", ".join(sorted({str(disclosures[i].category) for i in match.folded}))
            part_of = f" (the {parts} disclosed with it is part of it: principal crime rule)" if parts else ""
            findings.append(
                Finding(
                    type=FindingType.misclassified,
                    category=category,
                    score=disclosure.score,
                    crime_id=crime.crime_id,
                    detail=(
                        f"{crime.crime_id} recorded as {force_category}"
                        f"{' (less serious)' if less else ''}; the record discloses {category}{part_of}"
                    ),
                    recorded_category=force_category,
                    disclosures=match.told,
                )
            )
        if crime.recorded_at is not None:
            # the clock starts at the first entry telling any part of the crime
            index, when = min(disclosed_at(record, disclosures[i]) for i in match.told)
            limit = counting_edition(when).timeliness_hours
            delay = (crime.recorded_at - when).total_seconds()
            if delay > limit * 3600:
                findings.append(
                    Finding(
                        type=FindingType.late,
                        category=should_be,
                        score=disclosure.score,
                        crime_id=crime.crime_id,
                        detail=(
                            f"{crime.crime_id} recorded {_hours(delay)} h after entry {index} "
                            f"({when.isoformat()}) first disclosed it; the limit is {limit} h"
                        ),
                        hours=_hours(delay),
                        limit_hours=limit,
                        first_entry=index,
                        disclosures=match.told,
                    )
                )
        if crime.status == CrimeStatus.cancelled.value:
            judgement = judge_cancellation(crime.cancellation_reason, avi_path)
            if not judgement.supported:
                findings.append(
                    _cancellation_finding(crime, should_be, judgement, disclosure.score, match.told)
                )

    # Cancelled crimes no disclosure matched: the crime record itself shows a report was made.
    for crime in leftover:
        if crime.status != CrimeStatus.cancelled.value:
            continue
        judgement = judge_cancellation(crime.cancellation_reason, avi_path)
        if not judgement.supported:
            findings.append(_cancellation_finding(crime, crime.resolved_category, judgement, None, []))

    findings.sort(
        key=lambda f: (list(FindingType).index(FindingType(f.type)), severity_rank(str(f.category)))
    )
    flag_extras: dict[str, Any] = dict(extras or {})
    flag = Flag(
        record_id=record.record_id,
        disclosed=list(disclosures),
        crime_ids=[c.crime_id for c in crimes],
        findings=findings,
        priority=0.0,
        **flag_extras,
    )
    from crimedetect.priority import load_priority_model

    model = priority if priority is not None else load_priority_model()
    flag.priority = model.predict_flag(record, flag)
    return flag


def _cancellation_finding(
    crime: Crime, category: str, judgement: Any, disclosure_score: float | None, disclosures: list[int]
) -> Finding:
    reason = crime.cancellation_reason or "no reason given"
    why = {
        "not_avi": f"'{judgement.phrase}' is not additional verifiable information",
        "bare_label": "a bare label without the verifiable information itself",
        "no_reason": "no cancellation reason recorded",
        "unexplained": "the reason names no verifiable information that the crime did not occur",
    }[judgement.ground]
    score = (
        judgement.confidence
        if disclosure_score is None
        else min(judgement.confidence, max(disclosure_score, 0.5))
    )
    return Finding(
        type=FindingType.cancellation_unsupported,
        category=category,
        score=round(score, 4),
        crime_id=crime.crime_id,
        detail=f"{crime.crime_id} cancelled ({why}): {reason[:200]}",
        avi_ground=judgement.ground,
        avi_phrase=judgement.phrase,
        disclosures=disclosures,
    )


# --------------------------------------------------------------------------- audits


def _find_evidence(record: Record, text: str | None) -> Evidence | None:
    if not text:
        return None
    for i, entry in enumerate(record.entries):
        start = entry.text.find(text)
        if start < 0:
            start = entry.text.lower().find(text.lower())
        if start >= 0:
            return Evidence(
                entry=i, start=start, end=start + len(text), text=entry.text[start : start + len(text)]
            )
    return None


def oracle_disclosures(record: Record, audit: Audit) -> list[Disclosure]:
    """The disclosures a perfect detector would give for an audited record.

    One per audit crime (evidence located in the entries; ``first_entry`` its entry), plus a
    rape report cued ``unconfirmed`` where the audit requires an N100 and lists no rape crime.
    """
    out: list[Disclosure] = []
    for crime in audit.crimes:
        evidence = _find_evidence(record, crime.evidence)
        out.append(
            Disclosure(
                category=crime.category,
                victim=crime.victim,
                score=1.0,
                by=["audit"],
                evidence=[evidence] if evidence else [],
                first_entry=evidence.entry if evidence else 0,
                cues=[],
            )
        )
    if audit.n100_required and not any(str(c.category) == "rape" for c in audit.crimes):
        out.append(Disclosure(category="rape", score=1.0, by=["audit"], first_entry=0, cues=["unconfirmed"]))
    return out


#: The finding types as compared with audits: (type, category) per record.
TruthKey = tuple[str, str, str]


def truth_findings(record: Record, audit: Audit, crimes: Mapping[str, Crime]) -> Counter[TruthKey]:
    """The recording failures an audit establishes for one record, as
    ``(record_id, type, category) -> count``; the conventions are those of
    :mod:`crimedetect.evaluate.truth` (the one place audits become expected findings)."""
    from crimedetect.evaluate.truth import CrimeLookup, audit_truth

    lookup = CrimeLookup(crimes.values())
    truth = audit_truth(audit, crimes=lookup, record=record)
    out: Counter[TruthKey] = Counter()
    for finding in truth.findings:
        out[(record.record_id, finding.type, finding.category)] += finding.count
    return out


def flag_findings(flag: Flag, min_score: float = 0.0) -> Counter[TruthKey]:
    """A flag's findings as ``(record_id, type, category) -> count``."""
    out: Counter[TruthKey] = Counter()
    for finding in flag.findings:
        if finding.score >= min_score:
            out[(flag.record_id, str(finding.type), str(finding.category))] += finding.count
    return out


@dataclass
class Quality:
    """Precision and recall of one finding type against audits."""

    type: str
    true_positive: int
    predicted: int
    actual: int

    @property
    def precision(self) -> float | None:
        return self.true_positive / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positive / self.actual if self.actual else None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "tp": self.true_positive,
            "predicted": self.predicted,
            "actual": self.actual,
            "precision": None if self.precision is None else round(self.precision, 3),
            "recall": None if self.recall is None else round(self.recall, 3),
        }


def finding_quality(
    flags: Iterable[Flag],
    audits: Iterable[Audit],
    records: Iterable[Record],
    crimes: Iterable[Crime],
    *,
    level: str = "record_category",
    min_score: float = 0.0,
    by_category: bool = False,
) -> dict[str, Quality]:
    """Precision/recall per finding type over the audited records, and ``any_finding``: the
    records flagged at all against the records the audits find any failure in.

    ``level="record_category"`` counts each (record, type, category) once (the issue's level
    for ``unrecorded``); ``level="count"`` also weighs the number of crimes missing.
    ``by_category`` adds ``type:category`` rows.
    Records without an audit are ignored.
    """
    crime_map = {c.crime_id: c for c in crimes}
    record_map = {r.record_id: r for r in records}
    truth: Counter[TruthKey] = Counter()
    audited: set[str] = set()
    for audit in audits:
        record = record_map.get(audit.record_id)
        if record is None:
            continue
        audited.add(audit.record_id)
        truth.update(truth_findings(record, audit, crime_map))
    predicted: Counter[TruthKey] = Counter()
    for flag in flags:
        if flag.record_id in audited:
            predicted.update(flag_findings(flag, min_score))
    if level == "record_category":
        truth = Counter(dict.fromkeys(truth, 1))
        predicted = Counter(dict.fromkeys(predicted, 1))
    out: dict[str, Quality] = {}
    for finding_type in FindingType:
        name = finding_type.value
        t = {k: v for k, v in truth.items() if k[1] == name}
        p = {k: v for k, v in predicted.items() if k[1] == name}
        tp = sum(min(v, t.get(k, 0)) for k, v in p.items())
        out[name] = Quality(name, tp, sum(p.values()), sum(t.values()))
        if by_category:
            for category in CATEGORIES:
                tc = {k: v for k, v in t.items() if k[2] == category}
                pc = {k: v for k, v in p.items() if k[2] == category}
                if tc or pc:
                    key = f"{name}:{category}"
                    hits = sum(min(v, tc.get(k, 0)) for k, v in pc.items())
                    out[key] = Quality(key, hits, sum(pc.values()), sum(tc.values()))
    # Record level: does the record hold any recording failure at all?
    truth_records = {k[0] for k in truth}
    flagged_records = {k[0] for k in predicted}
    out["any_finding"] = Quality(
        "any_finding", len(truth_records & flagged_records), len(flagged_records), len(truth_records)
    )
    return out


def quality_rows(quality: Mapping[str, Quality]) -> list[dict[str, Any]]:
    """Rows for a table or CSV: one per finding type."""
    return [q.to_json_dict() for q in quality.values()]


def main(argv: Sequence[str] | None = None) -> None:
    """Measure a scan's findings against audits: precision and recall per finding type.

    ``--oracle`` reconciles the audits' own disclosures instead of reading flags (a check of
    the reconcile logic alone: it should give precision = recall = 1). ``--second-audits``
    reconciles a second auditor's disclosures instead and measures them against the first
    auditor's findings: how consistently two people label the same records.
    """
    import argparse
    import json

    from crimedetect.io import load_all

    parser = argparse.ArgumentParser(prog="python -m crimedetect.reconcile", description=main.__doc__)
    parser.add_argument("--flags", help="flags.jsonl from crimedetect scan")
    parser.add_argument("--records", required=True)
    parser.add_argument("--crimes", required=True)
    parser.add_argument("--audits", required=True)
    parser.add_argument("--oracle", action="store_true", help="reconcile the audits' own disclosures")
    parser.add_argument(
        "--second-audits",
        help="a second auditor's audits of (some of) the same records: their findings are measured "
        "against --audits on the records both audited (how far two auditors agree)",
    )
    parser.add_argument("--baseline", action="store_true", help="scan with the keyword baseline detector")
    parser.add_argument("--level", choices=["record_category", "count"], default="record_category")
    parser.add_argument("--min-score", type=float, default=0.0)
    parser.add_argument("--by-category", action="store_true", help="add type:category rows")
    parser.add_argument(
        "--report-over-classification",
        action="store_true",
        help="with --oracle: also call a crime recorded as MORE serious than disclosed misclassified",
    )
    parser.add_argument(
        "--reconcile-config",
        help="reconcile settings file (default: packaged); with --flags the flags' disclosures are "
        "matched again under it, so a setting can be tried without scanning again",
    )
    parser.add_argument(
        "--part",
        choices=["all", "development", "held_out"],
        default="all",
        help="score only this part of the dev set (crimedetect.rules.quality.part: rules are "
        "written against the development part; the held-out part stays unread)",
    )
    parser.add_argument(
        "--id-prefix",
        nargs="*",
        default=[],
        help="score only records whose id starts with one of these (e.g. BL-B- BL-C-)",
    )
    args = parser.parse_args(argv)
    records = load_all(args.records, "records")
    crimes = load_all(args.crimes, "crimes")
    audits = load_all(args.audits, "audits")
    if args.part != "all" or args.id_prefix:
        from crimedetect.rules.quality import part

        def kept(record_id: str) -> bool:
            prefixed = record_id.startswith(tuple(args.id_prefix or [""]))
            return prefixed and args.part in ("all", part(record_id))

        records = [r for r in records if kept(r.record_id)]
        audits = [a for a in audits if kept(a.record_id)]
    if args.second_audits:
        second = {a.record_id: a for a in load_all(args.second_audits, "audits")}
        records = [r for r in records if r.record_id in second]
        audits = [a for a in audits if a.record_id in second]
    if args.oracle or args.second_audits:
        index = CrimeIndex.build(crimes)
        by_id = second if args.second_audits else {a.record_id: a for a in audits}
        settings = load_settings(args.reconcile_config).model_copy(
            update={"report_over_classification": True} if args.report_over_classification else {}
        )
        flags = [
            reconcile(r, oracle_disclosures(r, by_id[r.record_id]), index.for_record(r), settings=settings)
            for r in records
            if r.record_id in by_id
        ]
    elif args.baseline:
        from crimedetect.scan import KeywordBaselineDetector, scan_records

        flags = scan_records(records, crimes, KeywordBaselineDetector())
    elif args.flags:
        kept = {r.record_id for r in records}
        flags = [f for f in load_all(args.flags, "flags") if f.record_id in kept]
        if args.reconcile_config:
            settings = load_settings(args.reconcile_config)
            index = CrimeIndex.build(crimes)
            for record in records:
                index.add_links(record.record_id, record.linked_record_ids)  # as scans link back
            record_of = {r.record_id: r for r in records}
            flags = [
                reconcile(
                    record_of[f.record_id],
                    f.disclosed,
                    index.for_record(record_of[f.record_id]),
                    settings=settings,
                )
                for f in flags
            ]
    else:
        parser.error("give --flags, --oracle or --baseline")
    quality = finding_quality(
        flags,
        audits,
        records,
        crimes,
        level=args.level,
        min_score=args.min_score,
        by_category=args.by_category,
    )
    print(f"{'type':<48}{'tp':>5}{'pred':>6}{'actual':>7}{'precision':>10}{'recall':>8}")
    for row in quality_rows(quality):
        p = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        r = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        print(f"{row['type']:<48}{row['tp']:>5}{row['predicted']:>6}{row['actual']:>7}{p:>10}{r:>8}")
    print(json.dumps(quality_rows(quality)))


if __name__ == "__main__":
    main()
