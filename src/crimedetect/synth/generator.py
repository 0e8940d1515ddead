"""The synthetic force: records, the force's crime records and full-truth audits.

``generate(n_records, seed, profile, split)`` yields ``(Record, list[Crime], Audit)`` one
record at a time. Record ``i`` depends only on ``(seed, split, i, n_records)``, so output is
deterministic, streams in bounded memory, and a run can resume at any record.

Each record is drafted first (what happened and what the text says, with the truth: every
crime the HOCR say should be recorded, and the exact evidence span in the entry that first
discloses it). Then the force acts on the draft according to the profile: records the
crime or not, late or on time, under the right category or not, cancels it with or without
additional verifiable information, transfers it, raises an N100. The audit is the truth in
the contract's label conventions (``shared/data/dev/README.md``):

- ``crime_id`` null: never recorded; a cancelled crime referenced by an audit was cancelled
  without AVI; a transferred crime is referenced and is not a missed crime;
- late: ``recorded_at`` more than 24h after the entry holding the ``evidence``;
- misclassified: the audit category differs from the crime's category;
- ``n100_required``: a rape report that does not (yet) amount to a recordable crime.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

from crimedetect.contract import Audit, AuditCrime, ContractModel, Crime, Entry, Record
from crimedetect.synth.bank import VARIANTS, PhraseBank, bank_for
from crimedetect.synth.grammar import add_typos, capitalise
from crimedetect.synth.profile import Profile, load_profile

DEFAULT_PROFILE = "leicestershire-2017"
_M = TypeVar("_M", bound=ContractModel)
_LONDON = ZoneInfo("Europe/London")
_UTC = UTC
_BST = timezone(timedelta(hours=1))

#: How often each variant of an offence is drawn (data-independent defaults).
VARIANT_WEIGHTS: dict[str, dict[str, float]] = {
    "violence_with_injury": {"injury": 0.85, "serious": 0.15},
    "violence_without_injury": {"push": 0.6, "fear": 0.25, "threat_to_kill": 0.15},
    "stalking_harassment": {"harassment": 0.35, "stalking": 0.2, "malicious": 0.25, "coercive": 0.2},
    "rape": {"adult": 0.8, "child": 0.2, "slavery": 0.0},
    "other_sexual_offence": {"touching": 0.55, "exposure": 0.2, "online_child": 0.1, "child": 0.15},
    "modern_slavery": {"labour": 0.65, "sexual": 0.35},
    "robbery": {"personal": 0.8, "business": 0.2},
    "burglary": {"residential": 0.75, "business": 0.25},
    "theft": {"person": 0.2, "shoplifting": 0.35, "vehicle": 0.25, "other": 0.2},
    "criminal_damage_arson": {"damage": 0.85, "arson": 0.15},
    "public_order": {"public": 0.8, "racial": 0.2},
    "other_notifiable": {"drugs": 0.6, "weapon": 0.4},
}

#: Categories whose victim is usually a partner or family member (domestic abuse).
_DOMESTIC = {"violence_with_injury", "violence_without_injury", "stalking_harassment", "rape"}
#: Variants whose victim is a business.
_BUSINESS_VARIANTS = {("robbery", "business"), ("burglary", "business"), ("theft", "shoplifting")}
#: Categories without a personal victim in the audit.
_VICTIMLESS = {"other_notifiable"}

#: Hard-case tags that follow from the offence variant drawn.
_VARIANT_TAGS = {
    ("violence_without_injury", "fear"): "fear_of_violence",
    ("violence_without_injury", "threat_to_kill"): "threat_to_kill",
    ("stalking_harassment", "coercive"): "coercive_control",
    ("stalking_harassment", "stalking"): "stalking",
}

#: Hard-case sentences a crime record may carry; none changes the truth.
_MODIFIERS = ("declines_action", "intoxicated", "negated_detail", "hypothetical_detail", "suspect_denies")
_MINUTES = (0, 5, 10, 15, 20, 30, 40, 45, 50)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(slots=True)
class Person:
    first: str
    surname: str
    female: bool
    age: int

    @property
    def full(self) -> str:
        return f"{self.first} {self.surname}"


@dataclass(slots=True)
class Truth:
    """One crime that should be recorded, with its exact evidence span."""

    category: str
    code: str
    victim: str | None
    evidence: str
    entry: int
    transferred: bool = False


@dataclass
class Draft:
    """A record before the force acts on it."""

    kind: str
    opening_code: str
    entries: list[tuple[float, str, str]] = field(default_factory=list)  # minutes, author, text
    truths: list[Truth] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    n100_victim: str | None = None
    avi: tuple[str, str, str, str] | None = None  # category, code, victim, reason
    transfer_force: str | None = None


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    total = sum(weights.values())
    x = rng.random() * total
    for key, w in weights.items():
        x -= w
        if x < 0:
            return key
    return next(reversed(weights))


_BST_RANGES: dict[int, tuple[datetime, datetime]] = {}


def _bst_range(year: int) -> tuple[datetime, datetime]:
    """Start and end (UTC) of British Summer Time in a year, from the tz database, cached."""
    if year not in _BST_RANGES:
        probe = datetime(year, 1, 1, tzinfo=_UTC)
        hours = [probe + timedelta(hours=h) for h in range(0, 366 * 24)]
        summer = [h for h in hours if h.astimezone(_LONDON).utcoffset()]
        _BST_RANGES[year] = (summer[0], summer[-1] + timedelta(hours=1)) if summer else (probe, probe)
    return _BST_RANGES[year]


def _iso_local(moment: datetime) -> datetime:
    """The moment, to the minute, as UK local time with a fixed offset (Z in winter, +01:00 in summer)."""
    moment = moment.replace(second=0, microsecond=0)
    start, end = _bst_range(moment.year)
    return moment.astimezone(_BST if start <= moment < end else _UTC)


class _Rng(random.Random):
    """``random.Random`` with cheaper ``randint`` and ``choice`` (same stream on every platform)."""

    def randint(self, a: int, b: int) -> int:  # type: ignore[override]
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq):  # type: ignore[override]  # noqa: ANN001, ANN201
        return seq[int(self.random() * len(seq))]


class Force:
    """Drafts records and plays the force's recording behaviour for one (profile, split, seed)."""

    def __init__(self, profile: Profile, bank: PhraseBank, seed: int, *, validate: bool = False) -> None:
        self.profile = profile
        self.validate = validate
        self.bank = bank
        self.seed = seed
        self._split_tag = "TR" if bank.split == "train" else "TE"
        start = datetime(
            profile.period_start.year, profile.period_start.month, profile.period_start.day, tzinfo=_UTC
        )
        end = datetime(profile.period_end.year, profile.period_end.month, profile.period_end.day, tzinfo=_UTC)
        self._start = start
        self._span_s = (end - start).total_seconds()
        self._scenarios = {k: v for k, v in profile.scenarios.items() if v > 0}
        self._offences = {k: v for k, v in profile.offences.items() if v > 0}

    # ------------------------------------------------------------------ people and slots

    def _person(
        self, rng: random.Random, female: bool | None = None, age: tuple[int, int] = (18, 70)
    ) -> Person:
        if female is None:
            female = rng.random() < 0.5
        firsts = self.bank.names["female" if female else "male"]
        surnames = self.bank.names["surname"]
        first = firsts[int(rng.random() * len(firsts))]
        surname = surnames[int(rng.random() * len(surnames))]
        return Person(first, surname.upper(), female, rng.randint(*age))

    def _slots(
        self, rng: random.Random, victim: Person, suspect: Person, reporter: str, opened: datetime
    ) -> _LazySlots:
        slots = _LazySlots(rng, self.bank, opened.astimezone(_LONDON), suspect.female)
        slots.update(
            V=victim.full,
            v=victim.first,
            age=str(victim.age),
            vs="she" if victim.female else "he",
            vo="her" if victim.female else "him",
            vp="her" if victim.female else "his",
            vr="herself" if victim.female else "himself",
            S=suspect.full,
            s=suspect.first,
            SN=suspect.surname,
            sage=str(suspect.age),
            ss="she" if suspect.female else "he",
            so="her" if suspect.female else "him",
            sr="herself" if suspect.female else "himself",
            sp="her" if suspect.female else "his",
            R=reporter,
        )
        return slots

    @staticmethod
    def _as_object(slots: dict, person: Person) -> dict:
        """Slots that name another victim: by name the first time, by pronoun after."""
        return _NamedOnce(slots, person)

    @staticmethod
    def _first_person(slots: dict) -> dict:
        return _Overlay(slots, vs="I", vo="me", vp="my", vr="myself")

    # ------------------------------------------------------------------ text helpers

    def _typo(self, rng: random.Random, text: str) -> str:
        return add_typos(text, rng, self.profile.typo_rate)

    def _say(self, rng: random.Random, section: str, key: str, slots: dict) -> str:
        return self._typo(rng, capitalise(self.bank.say(rng, self.bank.lists[section][key], slots)))

    def _frame(self, rng: random.Random, name: str, slots: dict) -> str:
        return self._typo(rng, capitalise(self.bank.frame(name, rng, slots)))

    def _disclose(
        self,
        rng: random.Random,
        category: str,
        variant: str,
        slots: dict,
        lead: str,
        *,
        quote_ok: bool = True,
        when_ok: bool = False,
    ) -> tuple[str, str]:
        """A sentence disclosing an offence and its evidence (an exact substring of it).

        Sometimes the evidence is quoted in the first person, ends with when it happened
        ('last night'), or starts after its subject ('IP states Dean <punched her...>'), as
        auditors' spans in real logs do.
        """
        hc = self.profile.hard_cases
        first = quote_ok and rng.random() < self.profile.first_person_rate
        phrase_slots = self._first_person(slots) if first else slots
        evidence = self.bank.offence(category, variant, rng, phrase_slots)
        if first:
            evidence = _first_person_verbs(evidence)
        if when_ok and rng.random() < hc.get("time_phrase", 0.0):
            evidence = f"{evidence} {self.bank.pick(rng, 'when')}"
        subject = ""
        if not first and rng.random() < hc.get("subject_outside_span", 0.0):
            for candidate in (
                slots["S"],
                slots["SN"],
                slots["s"],
                f"{slots['vp']} {slots['rel']}",
                "s/o",
                "susp",
                "the suspect",
                "the male",
                slots["ss"],
            ):
                rest = evidence[len(candidate) + 1 :]
                if evidence.startswith(candidate + " ") and rest.count(" ") >= 2:
                    subject, evidence = candidate + " ", rest
                    break
        evidence = self._typo(rng, evidence)
        lead_text = self.bank.frame(lead, rng, slots)
        if first:
            sentence = f"{lead_text} '{evidence}'."
        else:
            sentence = f"{lead_text} {subject}{evidence}."
        return capitalise(sentence), evidence

    @staticmethod
    def _join(*parts: str) -> str:
        return " ".join(p for p in parts if p)

    # ------------------------------------------------------------------ authors

    def _author(self, rng: random.Random, role: str) -> str:
        n = rng.randint(1000, 4999)
        if role == "call handler":
            return rng.choice(
                ("call handler", "call handler", f"Call handler {n}", f"CH {n}", "Control room")
            )
        if role == "officer":
            return rng.choice(
                (f"PC {n}", f"PC {n}", f"PC {n}", f"PCSO {n + 5000}", f"SPC {n}", f"PC {n} (A/O)")
            )
        if role == "supervisor":
            return rng.choice((f"PS {n}", f"Sgt {n}", f"Insp {n}", f"PS {n} (duty sgt)"))
        if role == "ppu":
            return rng.choice((f"DC {n} (PPU)", f"DS {n} (PPU)", f"MASH - DC {n}", f"DC {n} (OIC)"))
        if role == "ms":
            return rng.choice((f"DC {n} (MSHT)", f"DS {n} (MS SPOC)", f"DC {n} (Op Anchor)"))
        return self.bank.pick(rng, "partner_author")

    # ------------------------------------------------------------------ scenarios

    def draft(self, rng: random.Random, opened: datetime) -> Draft:
        scenario = _weighted(rng, self._scenarios)
        return getattr(self, f"_sc_{scenario}")(rng, opened)

    def _category(self, rng: random.Random) -> str:
        return _weighted(rng, self._offences)

    def _variant(self, rng: random.Random, category: str, exclude: tuple[str, ...] = ("slavery",)) -> str:
        weights = {k: w for k, w in VARIANT_WEIGHTS[category].items() if k not in exclude and w > 0}
        return _weighted(rng, weights)

    def _cast(
        self, rng: random.Random, category: str, opened: datetime, child: bool = False
    ) -> tuple[Person, Person, dict]:
        domestic = category in _DOMESTIC and rng.random() < 0.75
        victim_female = rng.random() < (
            0.8 if domestic or category in ("rape", "other_sexual_offence") else 0.5
        )
        victim = self._person(rng, victim_female, (5, 15) if child else (16, 84))
        suspect_female = (not victim_female and rng.random() < 0.6) if domestic else rng.random() < 0.12
        if category in ("rape", "other_sexual_offence"):
            suspect_female = rng.random() < 0.03
        young = rng.random() < self.profile.hard_cases.get("young_suspect", 0.05)
        suspect = self._person(rng, suspect_female, (12, 17) if young else (18, 66))
        reporter = self._person(rng).full
        slots = self._slots(rng, victim, suspect, reporter, opened)
        if young:
            slots["_young"] = "1"
        if child:
            slots["_child"] = "1"
        return victim, suspect, slots

    def _victim_name(self, category: str, variant: str, victim: Person, slots: dict) -> str | None:
        if category in _VICTIMLESS:
            return None
        if (category, variant) in _BUSINESS_VARIANTS:
            return slots["shop"]
        return victim.full

    def _modifiers(self, rng: random.Random, draft: Draft, slots: dict) -> list[str]:
        """Hard-case sentences that never change the truth (declines action, intoxicated...)."""
        out: list[str] = []
        hc = self.profile.hard_cases
        for name in _MODIFIERS:
            if name == "intoxicated" and slots.get("_child"):
                continue
            if rng.random() < hc.get(name, 0.0):
                out.append(self._say(rng, "distractors", name, slots))
                draft.tags.append(name)
        if slots.get("_young"):
            out.append(self._say(rng, "distractors", "young_suspect", slots))
            draft.tags.append("young_suspect")
        return out

    def _referrer(self, rng: random.Random, referral: str, slots: dict) -> str:
        """A partner agency and its author for a referral; sets the ``org`` slot to match."""
        org = self.bank.pick(rng, f"org_{referral}")
        slots["org"] = org
        return f"{org} ({self.bank.pick(rng, f'role_{referral}')})"

    def _opening(self, rng: random.Random, key: str) -> str:
        return self.bank.pick(rng, f"open_{key}")

    def _sc_single(self, rng: random.Random, opened: datetime, category: str | None = None) -> Draft:
        category = category or self._category(rng)
        if category == "modern_slavery":
            return self._sc_modern_slavery(rng, opened)
        variant = self._variant(rng, category, ("slavery", "online_child", "child"))
        victim, suspect, slots = self._cast(rng, category, opened)
        draft = Draft("incident", self._opening(rng, category))
        name = self._victim_name(category, variant, victim, slots)
        code = rng.choice(VARIANTS[category][variant])
        mods = self._modifiers(rng, draft, slots)
        if (category, variant) in _VARIANT_TAGS:
            draft.tags.append(_VARIANT_TAGS[(category, variant)])
        phrase_category, phrase_variant = category, variant
        if (category, variant) == (
            "violence_with_injury",
            "injury",
        ) and rng.random() < self.profile.hard_cases.get("injury_in_other_sentence", 0.0):
            # the act alone ('he pushed her') is the evidence; the injury is an officer's note
            phrase_category, phrase_variant = "violence_without_injury", "push"
            mods.append(self._say(rng, "distractors", "injury_seen", slots))
            draft.tags.append("injury_in_other_sentence")
        if category == "violence_without_injury" and rng.random() < self.profile.hard_cases.get(
            "negated_injury", 0.0
        ):
            mods.insert(0, self._say(rng, "distractors", "negated_injury", slots))
            draft.tags.append("negated_injury")
        t_attend = rng.uniform(8, 120)
        victimless = category in _VICTIMLESS
        if not victimless and rng.random() < self.profile.hard_cases.get("online_report", 0.0):
            # a one-entry record: an online or front-counter report nobody has updated yet
            draft.kind = "other"
            sentence, evidence = self._disclose(
                rng, phrase_category, phrase_variant, slots, "lead_call", when_ok=True
            )
            draft.entries.append(
                (
                    0,
                    self.bank.pick(rng, "front_counter"),
                    self._join(self._frame(rng, "call_open", slots), sentence, *mods),
                )
            )
            draft.truths.append(Truth(category, code, name, evidence, 0))
            draft.tags.append("single_entry")
            return draft
        if not victimless and rng.random() < 0.55:
            sentence, evidence = self._disclose(
                rng, phrase_category, phrase_variant, slots, "lead_call", when_ok=True
            )
            draft.entries.append(
                (
                    0,
                    self._author(rng, "call handler"),
                    self._join(
                        self._frame(rng, "call_open", slots), sentence, self._frame(rng, "call_close", slots)
                    ),
                )
            )
            draft.truths.append(Truth(category, code, name, evidence, 0))
            draft.entries.append(
                (
                    t_attend,
                    self._author(rng, "officer"),
                    self._join(
                        self._frame(rng, "attend", slots), *mods, self._frame(rng, "officer_after", slots)
                    ),
                )
            )
        else:
            draft.entries.append(
                (
                    0,
                    self._author(rng, "call handler"),
                    self._join(
                        self._frame(rng, "call_open", slots), self._say(rng, "summaries", category, slots)
                    ),
                )
            )
            lead = "lead_search" if victimless else "lead_officer"
            sentence, evidence = self._disclose(
                rng, phrase_category, phrase_variant, slots, lead, quote_ok=not victimless, when_ok=True
            )
            draft.entries.append(
                (
                    t_attend,
                    self._author(rng, "officer"),
                    self._join(
                        self._frame(rng, "attend", slots),
                        sentence,
                        *mods,
                        self._frame(rng, "officer_after", slots),
                    ),
                )
            )
            draft.truths.append(Truth(category, code, name, evidence, 1))
        minutes = t_attend
        while len(draft.entries) < 5 and rng.random() < 0.35:
            minutes += rng.uniform(30, 1500)
            draft.entries.append(
                (
                    minutes,
                    self._author(rng, rng.choice(("officer", "officer", "ppu"))),
                    self._frame(rng, "update", slots),
                )
            )
        return draft

    def _sc_multi_victim(self, rng: random.Random, opened: datetime) -> Draft:
        category = rng.choice(
            (
                "violence_with_injury",
                "violence_without_injury",
                "violence_with_injury",
                "criminal_damage_arson",
                "public_order",
            )
        )
        variant = self._variant(rng, category)
        first, suspect, slots = self._cast(rng, category, opened)
        victims = [first] + [self._person(rng) for _ in range(1 if rng.random() < 0.75 else 2)]
        draft = Draft("incident", self._opening(rng, category), tags=["multi_victim"])
        draft.entries.append(
            (
                0,
                self._author(rng, "call handler"),
                self._join(self._frame(rng, "call_open", slots), self._say(rng, "summaries", "multi", slots)),
            )
        )
        sentences = [self._frame(rng, "attend", slots)]
        for victim in victims:
            vslots = self._as_object(slots, victim)
            sentence, evidence = self._disclose(
                rng, category, variant, vslots, "lead_witness", quote_ok=False
            )
            sentences.append(sentence)
            draft.truths.append(Truth(category, VARIANTS[category][variant][0], victim.full, evidence, 1))
            if category == "violence_with_injury" and rng.random() < 0.5:
                variant = "injury"
        sentences += self._modifiers(rng, draft, slots)
        draft.entries.append((rng.uniform(10, 60), self._author(rng, "officer"), self._join(*sentences)))
        return draft

    def _sc_principal(self, rng: random.Random, opened: datetime) -> Draft:
        """Several crime types against one victim: only the most serious is counted."""
        main, lesser = rng.choice(
            (
                ("violence_with_injury", ("criminal_damage_arson", "damage")),
                ("robbery", ("violence_with_injury", "injury")),
                ("burglary", ("criminal_damage_arson", "damage")),
                ("violence_with_injury", ("violence_without_injury", "fear")),
                ("rape", ("violence_without_injury", "push")),
            )
        )
        variant = self._variant(rng, main, ("slavery", "child", "business"))
        victim, suspect, slots = self._cast(rng, main, opened)
        draft = Draft("incident", self._opening(rng, main), tags=["principal_crime"])
        s1, evidence = self._disclose(rng, main, variant, slots, "lead_officer")
        s2, _ = self._disclose(rng, lesser[0], lesser[1], slots, "lead_also", quote_ok=False)
        draft.entries.append(
            (
                0,
                self._author(rng, "call handler"),
                self._join(self._frame(rng, "call_open", slots), self._say(rng, "summaries", main, slots)),
            )
        )
        draft.entries.append(
            (
                rng.uniform(10, 90),
                self._author(rng, "officer"),
                self._join(
                    self._frame(rng, "attend", slots),
                    s1,
                    s2,
                    *self._modifiers(rng, draft, slots),
                    self._frame(rng, "officer_after", slots),
                ),
            )
        )
        draft.truths.append(
            Truth(
                main, VARIANTS[main][variant][0], self._victim_name(main, variant, victim, slots), evidence, 1
            )
        )
        return draft

    def _sc_behavioural(self, rng: random.Random, opened: datetime) -> Draft:
        """A behavioural crime (stalking, harassment, coercive control) counted in addition."""
        behaviour = self._variant(rng, "stalking_harassment", ("malicious",))
        main = rng.choice(("violence_with_injury", "violence_without_injury", "criminal_damage_arson"))
        variant = self._variant(rng, main)
        victim, suspect, slots = self._cast(rng, "stalking_harassment", opened)
        draft = Draft("incident", self._opening(rng, "stalking_harassment"), tags=["behavioural_in_addition"])
        s1, ev1 = self._disclose(rng, main, variant, slots, "lead_call")
        draft.entries.append(
            (0, self._author(rng, "call handler"), self._join(self._frame(rng, "call_open", slots), s1))
        )
        draft.truths.append(Truth(main, VARIANTS[main][variant][0], victim.full, ev1, 0))
        s2, ev2 = self._disclose(rng, "stalking_harassment", behaviour, slots, "lead_officer")
        later = rng.random() < 0.5
        if later:
            draft.entries.append(
                (
                    rng.uniform(10, 90),
                    self._author(rng, "officer"),
                    self._join(self._frame(rng, "attend", slots), self._frame(rng, "officer_after", slots)),
                )
            )
            draft.entries.append(
                (
                    rng.uniform(1440, 8000),
                    self._author(rng, rng.choice(("officer", "ppu"))),
                    self._join(self._frame(rng, "followup", slots), s2),
                )
            )
            draft.tags.append("later_entry")
        else:
            draft.entries.append(
                (
                    rng.uniform(10, 90),
                    self._author(rng, "officer"),
                    self._join(self._frame(rng, "attend", slots), s2, *self._modifiers(rng, draft, slots)),
                )
            )
        draft.truths.append(
            Truth(
                "stalking_harassment",
                VARIANTS["stalking_harassment"][behaviour][0],
                victim.full,
                ev2,
                len(draft.entries) - 1,
            )
        )
        return draft

    def _sc_later_entry(self, rng: random.Random, opened: datetime) -> Draft:
        """A crime disclosed only in a later entry (a PPU update, a follow-up call)."""
        category = rng.choice(
            (
                "violence_with_injury",
                "violence_without_injury",
                "stalking_harassment",
                "other_sexual_offence",
                "rape",
                "theft",
                "criminal_damage_arson",
            )
        )
        variant = self._variant(rng, category, ("slavery", "online_child", "child"))
        victim, suspect, slots = self._cast(rng, category, opened)
        nc = rng.choice(("welfare", "words_only", "civil"))
        draft = Draft("incident", self.bank.pick(rng, f"open_noncrime_{nc}"), tags=["later_entry"])
        for k, templates in enumerate(self.bank.noncrime[nc][:2]):
            draft.entries.append(
                (
                    k * rng.uniform(10, 60),
                    self._author(rng, "call handler" if k == 0 else "officer"),
                    self._typo(rng, capitalise(self.bank.say(rng, templates, slots))),
                )
            )
        minutes = rng.uniform(1440, 20000)
        sentence, evidence = self._disclose(rng, category, variant, slots, "lead_later")
        draft.entries.append(
            (
                minutes,
                self._author(rng, rng.choice(("ppu", "officer", "call handler"))),
                self._join(
                    self._frame(rng, "followup", slots), sentence, *self._modifiers(rng, draft, slots)
                ),
            )
        )
        draft.truths.append(
            Truth(
                category,
                VARIANTS[category][variant][0],
                self._victim_name(category, variant, victim, slots),
                evidence,
                len(draft.entries) - 1,
            )
        )
        return draft

    def _sc_transferred(self, rng: random.Random, opened: datetime) -> Draft:
        category = rng.choice(
            (
                "violence_with_injury",
                "violence_without_injury",
                "theft",
                "rape",
                "other_sexual_offence",
                "stalking_harassment",
            )
        )
        variant = self._variant(
            rng, category, ("slavery", "online_child", "child", "business", "shoplifting")
        )
        victim, suspect, slots = self._cast(rng, category, opened)
        draft = Draft(
            "incident",
            self._opening(rng, category),
            tags=["transferred"],
            transfer_force=slots["other_force"],
        )
        sentence, evidence = self._disclose(rng, category, variant, slots, "lead_call")
        draft.entries.append(
            (
                0,
                self._author(rng, "call handler"),
                self._join(
                    self._frame(rng, "call_open", slots), sentence, self._say(rng, "transfer", "where", slots)
                ),
            )
        )
        draft.entries.append(
            (
                rng.uniform(20, 300),
                self._author(rng, "officer"),
                self._say(rng, "transfer", "handover", slots),
            )
        )
        draft.truths.append(
            Truth(
                category,
                VARIANTS[category][variant][0],
                self._victim_name(category, variant, victim, slots),
                evidence,
                0,
                transferred=True,
            )
        )
        return draft

    def _sc_n100(self, rng: random.Random, opened: datetime) -> Draft:
        """A rape report that does not yet amount to a recordable crime: an N100 is required."""
        victim, suspect, slots = self._cast(rng, "rape", opened)
        draft = Draft("incident", self._opening(rng, "rape"), tags=["n100"], n100_victim=victim.full)
        draft.entries.append((0, self._author(rng, "call handler"), self._say(rng, "n100", "report", slots)))
        draft.entries.append(
            (
                rng.uniform(30, 600),
                self._author(rng, rng.choice(("officer", "ppu"))),
                self._say(rng, "n100", "outcome", slots),
            )
        )
        return draft

    def _sc_safeguarding(self, rng: random.Random, opened: datetime) -> Draft:
        """A professional's referral to the public protection unit that discloses a crime."""
        category = rng.choice(
            (
                "violence_with_injury",
                "violence_without_injury",
                "other_sexual_offence",
                "stalking_harassment",
                "theft",
                "rape",
                "violence_with_injury",
            )
        )
        child = category != "theft" and rng.random() < 0.6
        if category == "other_sexual_offence":
            variant = "child" if child else "touching"
        elif category == "rape":
            variant = "child" if child else "adult"
        elif category == "stalking_harassment":
            variant = "coercive"
            child = False
        else:
            variant = self._variant(rng, category, ("slavery", "business", "shoplifting", "vehicle"))
        victim, suspect, slots = self._cast(rng, category, opened, child=child)
        if category == "theft":
            slots["age"] = str(rng.randint(72, 95))
        referral = "child" if child else ("elderly" if category == "theft" else "adult")
        draft = Draft(
            "safeguarding", self.bank.pick(rng, f"open_safeguarding_{referral}"), tags=["professional_report"]
        )
        author = self._referrer(rng, referral, slots)
        sentence, evidence = self._disclose(
            rng, category, variant, slots, f"lead_referral_{referral}", when_ok=True
        )
        draft.entries.append(
            (
                0,
                author,
                self._join(
                    self._frame(rng, f"referral_open_{referral}", slots),
                    sentence,
                    *self._modifiers(rng, draft, slots),
                ),
            )
        )
        draft.entries.append(
            (rng.uniform(60, 1500), self._author(rng, "ppu"), self._frame(rng, "ppu_review", slots))
        )
        if rng.random() < 0.6:
            draft.entries.append(
                (rng.uniform(1500, 9000), self._author(rng, "ppu"), self._frame(rng, "ppu_followup", slots))
            )
        draft.truths.append(
            Truth(category, rng.choice(VARIANTS[category][variant]), victim.full, evidence, 0)
        )
        return draft

    def _sc_modern_slavery(self, rng: random.Random, opened: datetime) -> Draft:
        """An NRM referral and interview: slavery plus any assaults and rapes disclosed with it."""
        variant = self._variant(rng, "modern_slavery")
        victim, suspect, slots = self._cast(rng, "modern_slavery", opened)
        victim.female = variant == "sexual" or rng.random() < 0.3
        victim.first = self.bank.pick(rng, "foreign_female" if victim.female else "foreign_male")
        victim.surname = self.bank.pick(rng, "foreign_surname").upper()
        slots.update(
            self._as_object(slots, victim),
            vs="she" if victim.female else "he",
            vo="her" if victim.female else "him",
            vp="her" if victim.female else "his",
            vr="herself" if victim.female else "himself",
        )
        draft = Draft("modern_slavery", self.bank.pick(rng, "open_modern_slavery"), tags=["modern_slavery"])
        slots["org"] = self.bank.pick(rng, "org_ms")
        draft.entries.append((0, self._author(rng, "ms"), self._frame(rng, "ms_found", slots)))
        sentence, evidence = self._disclose(rng, "modern_slavery", variant, slots, "lead_ms")
        sentences = [self._frame(rng, "ms_interview", slots), sentence]
        draft.truths.append(Truth("modern_slavery", "106", victim.full, evidence, 1))
        if rng.random() < 0.55:
            extra = "rape" if (victim.female and rng.random() < 0.7) else "violence_with_injury"
            extra_variant = "slavery" if extra == "rape" else "injury"
            s2, ev2 = self._disclose(rng, extra, extra_variant, slots, "lead_also", quote_ok=False)
            sentences.append(s2)
            draft.truths.append(Truth(extra, VARIANTS[extra][extra_variant][0], victim.full, ev2, 1))
            draft.tags.append("slavery_with_" + extra)
        draft.entries.append((rng.uniform(600, 3000), self._author(rng, "ms"), self._join(*sentences)))
        if rng.random() < 0.7:
            draft.entries.append(
                (rng.uniform(3000, 6000), self._author(rng, "ms"), self._frame(rng, "ms_after", slots))
            )
        return draft

    def _sc_online_child(self, rng: random.Random, opened: datetime) -> Draft:
        victim, suspect, slots = self._cast(rng, "other_sexual_offence", opened, child=True)
        slots["age"] = str(rng.randint(11, 15))
        via_school = rng.random() < 0.5
        draft = Draft(
            "safeguarding" if via_school else "incident",
            self.bank.pick(rng, "open_online_child"),
            tags=["online_child"],
        )
        lead = "lead_referral_child" if via_school else "lead_parent"
        sentence, evidence = self._disclose(
            rng, "other_sexual_offence", "online_child", slots, lead, quote_ok=False
        )
        author = self._referrer(rng, "child", slots) if via_school else self._author(rng, "call handler")
        opener = "referral_open_child" if via_school else "parent_open"
        draft.entries.append((0, author, self._join(self._frame(rng, opener, slots), sentence)))
        draft.entries.append(
            (rng.uniform(60, 2000), self._author(rng, "ppu"), self._frame(rng, "ppu_review", slots))
        )
        draft.truths.append(
            Truth(
                "other_sexual_offence",
                rng.choice(VARIANTS["other_sexual_offence"]["online_child"]),
                victim.full,
                evidence,
                0,
            )
        )
        if via_school:
            draft.tags.append("professional_report")
        return draft

    def _sc_historic(self, rng: random.Random, opened: datetime) -> Draft:
        category = rng.choice(("rape", "other_sexual_offence", "rape"))
        variant = "child"
        victim, suspect, slots = self._cast(rng, category, opened)
        slots["age"] = str(rng.randint(8, 15))
        draft = Draft(
            rng.choice(("other", "safeguarding", "incident")),
            self.bank.pick(rng, "open_historic"),
            tags=["historic"],
        )
        sentence, evidence = self._disclose(rng, category, variant, slots, "lead_historic", quote_ok=False)
        draft.entries.append(
            (
                0,
                self.bank.pick(rng, "front_counter"),
                self._join(
                    self._frame(rng, "historic_open", slots),
                    sentence,
                    self._frame(rng, "historic_after", slots),
                ),
            )
        )
        draft.entries.append(
            (rng.uniform(600, 3000), self._author(rng, "ppu"), self._frame(rng, "ppu_review", slots))
        )
        draft.truths.append(
            Truth(category, rng.choice(VARIANTS[category][variant]), victim.full, evidence, 0)
        )
        return draft

    def _sc_cancelled_avi(self, rng: random.Random, opened: datetime) -> Draft:
        """A reported crime that additional verifiable information shows did not happen."""
        victim, suspect, slots = self._cast(rng, "theft", opened)
        key = rng.choice(sorted(k for k in self.bank.lists["avi_cancel"] if not k.startswith("reason_")))
        category, code = {
            "phone": ("theft", "49"),
            "vehicle": ("theft", "48"),
            "damage": ("criminal_damage_arson", "58C"),
        }.get(key, ("theft", "49"))
        draft = Draft("incident", self._opening(rng, category), tags=["cancelled_with_avi"])
        draft.entries.append((0, self._author(rng, "call handler"), self._say(rng, "avi_cancel", key, slots)))
        reason = self._say(rng, "avi_cancel", f"reason_{key}", slots)
        draft.entries.append((rng.uniform(120, 2000), self._author(rng, "officer"), reason))
        draft.avi = (category, code, victim.full, "AVI - " + reason)
        return draft

    def _sc_noncrime(self, rng: random.Random, opened: datetime) -> Draft:
        kind = rng.choice(sorted(self.bank.noncrime))
        victim, suspect, slots = self._cast(rng, "violence_without_injury", opened)
        draft = Draft("incident", self.bank.pick(rng, f"open_noncrime_{kind}"), tags=["noncrime_" + kind])
        minutes = 0.0
        for k, templates in enumerate(self.bank.noncrime[kind]):
            role = "call handler" if k == 0 else ("officer" if k < 3 else "supervisor")
            draft.entries.append(
                (
                    minutes,
                    self._author(rng, role),
                    self._typo(rng, capitalise(self.bank.say(rng, templates, slots))),
                )
            )
            minutes += rng.uniform(10, 240)
        return draft

    # ------------------------------------------------------------------ the force acts

    def record(self, index: int, n_records: int) -> tuple[Record, list[Crime], Audit]:
        """Record ``index`` of a run of ``n_records``: the same inputs give the same output."""
        rng = _Rng(f"{self.seed}/{self.bank.split}/{index}")
        slot = self._span_s / max(n_records, 1)
        opened = self._start + timedelta(seconds=(index + rng.random()) * slot)
        opened = _iso_local(opened.replace(second=0, microsecond=0))
        draft = self.draft(rng, opened)
        return self._act(rng, draft, index, opened)

    def _act(
        self, rng: random.Random, draft: Draft, index: int, opened: datetime
    ) -> tuple[Record, list[Crime], Audit]:
        rec = self.profile.recording
        yy = f"{opened.year % 100:02d}"
        record_id = f"SYN-{self._split_tag}-{opened:%Y%m%d}-{index:07d}"
        times = [_iso_local(opened + timedelta(minutes=int(m))) for m, _, _ in draft.entries]
        for k in range(1, len(times)):  # entries in time order
            if times[k] < times[k - 1]:
                times[k] = times[k - 1]
        crimes: list[Crime] = []
        audit_crimes: list[AuditCrime] = []
        notes: list[str] = []
        recorded_any = False

        def crime_id() -> str:
            return f"{self.profile.crime_prefix}-{self._split_tag}-{yy}-{index:07d}-{len(crimes) + 1}"

        for truth in draft.truths:
            disclosed_at = times[truth.entry]
            if truth.transferred:
                p = rec.transferred
            elif draft.kind == "safeguarding":
                p = rec.safeguarding_rate
            else:
                p = rec.rate[truth.category]
                if truth.entry > 0 and "later_entry" in draft.tags:
                    p = min(1.0, p * rec.later_entry_factor)
            cid: str | None = None
            if rng.random() < p:
                cid = crime_id()
                category, code = truth.category, truth.code
                for m in rec.misclassification:
                    if m.true_category == category and rng.random() < m.probability:
                        category, code = m.recorded_category, m.offence_code
                        notes.append(f"{truth.category} recorded as {category}")
                        break
                status, reason = "recorded", None
                if truth.transferred:
                    status = "transferred"
                    notes.append(f"occurred in {draft.transfer_force} area; transferred")
                elif rng.random() < rec.cancelled_unsupported:
                    status = "cancelled"
                    reason = self.bank.pick(rng, "cancel_without_avi")
                    notes.append(f"{truth.category} cancelled without AVI")
                if rng.random() < rec.within_24h[truth.category]:
                    delay = timedelta(minutes=rng.uniform(5, 23 * 60))
                else:
                    delay = timedelta(hours=24.5 + rng.expovariate(1 / 96))
                    notes.append(f"{truth.category} recorded more than 24h after disclosure")
                crimes.append(
                    self._make(
                        Crime,
                        crime_id=cid,
                        record_ids=[record_id],
                        category=category,
                        offence_code=code,
                        victim=truth.victim,
                        recorded_at=_iso_local(disclosed_at + delay),
                        status=status,
                        cancellation_reason=reason,
                    )
                )
                recorded_any = True
            else:
                notes.append(f"{truth.category} disclosed in entry {truth.entry + 1} not recorded")
            audit_crimes.append(
                self._make(
                    AuditCrime,
                    category=truth.category,
                    victim=truth.victim,
                    evidence=truth.evidence,
                    crime_id=cid,
                )
            )

        if draft.n100_victim is not None:
            if rng.random() < rec.n100_raised:
                crimes.append(
                    self._make(
                        Crime,
                        crime_id=crime_id(),
                        record_ids=[record_id],
                        category="rape",
                        offence_code="N100",
                        victim=draft.n100_victim,
                        status="n100",
                        recorded_at=_iso_local(times[0] + timedelta(minutes=rng.uniform(30, 2000))),
                    )
                )
                notes.append("rape report not yet a crime; N100 raised")
            else:
                notes.append("rape report not yet a crime; N100 required, none raised")
        if draft.avi is not None:
            category, code, victim, reason = draft.avi
            crimes.append(
                self._make(
                    Crime,
                    crime_id=crime_id(),
                    record_ids=[record_id],
                    category=category,
                    offence_code=code,
                    victim=victim,
                    recorded_at=_iso_local(times[0] + timedelta(minutes=rng.uniform(20, 600))),
                    status="cancelled",
                    cancellation_reason=reason,
                )
            )
            notes.append("crime correctly cancelled: additional verifiable information")

        self._name_victims(rng, draft)
        entries = [
            self._make(Entry, at=t, author=a, text=x)
            for t, (_, a, x) in zip(times, draft.entries, strict=True)
        ]
        closing = self._closing(rng, draft, recorded_any, entries)
        if not draft.truths and not draft.n100_victim:
            notes.append("no notifiable crime disclosed")
        elif not notes:
            notes.append("compliant: every crime recorded on time under the right category")
        record = self._make(
            Record,
            record_id=record_id,
            kind=draft.kind,
            opened_at=times[0],
            opening_code=draft.opening_code,
            closing_code=closing,
            linked_record_ids=[],
            entries=entries,
        )
        audit = self._make(
            Audit,
            record_id=record_id,
            auditor=f"S{1 + int(rng.random() * 12)}",
            audited_at=_iso_local(
                datetime(
                    self.profile.period_end.year,
                    self.profile.period_end.month,
                    self.profile.period_end.day,
                    10,
                    tzinfo=_UTC,
                )
                + timedelta(days=rng.randint(10, 60), minutes=15 * rng.randint(0, 28))
            ),
            crimes=audit_crimes,
            n100_required=draft.n100_victim is not None,
            notes="; ".join(notes) + ".",
            hard_cases=sorted(set(draft.tags)),
        )
        return record, crimes, audit

    def _name_victims(self, rng: random.Random, draft: Draft) -> None:
        """Make sure every victim an audit names is named in the record's text."""
        for truth in draft.truths:
            name = truth.victim
            if not name or any(name in text for _, _, text in draft.entries):
                continue
            minutes, author, text = draft.entries[truth.entry]
            intro = self.bank.frame("victim_named", rng, _SlotDefault({"V": name}))
            draft.entries[truth.entry] = (minutes, author, f"{capitalise(intro)} {text}")

    def _make(self, model: type[_M], **fields: object) -> _M:
        """Build a contract model; validated only when asked (the generator's output is valid
        by construction, and the tests re-read every file through the contract reader)."""
        if self.validate:
            return model(**fields)
        return model.model_construct(**fields)

    def _closing(self, rng: random.Random, draft: Draft, recorded_any: bool, entries: list[Entry]) -> str:
        """The closing code, and sometimes a supervisor's closing entry that matches it."""
        if draft.transfer_force and recorded_any:
            key = "transferred"
        elif recorded_any:
            key = "crime"
        elif draft.truths:
            key = "missed"  # the officer's wrong conclusion: closed as no crime
        else:
            key = "nocrime"
        if len(entries) < 6 and rng.random() < 0.55:
            slots = {"other_force": draft.transfer_force or "", "officer": f"PC {rng.randint(1000, 4999)}"}
            text = self._typo(rng, capitalise(self.bank.frame(f"close_{key}", rng, _SlotDefault(slots))))
            at = _iso_local(entries[-1].at + timedelta(minutes=rng.uniform(20, 900)))
            entries.append(self._make(Entry, at=at, author=self._author(rng, "supervisor"), text=text))
        return self.bank.pick(rng, f"closing_{key}")


_I_VERB = re.compile(r"\bI (has|is|does|doesn't|sees|goes|knows|eats|feels|takes|wants|believes|fears)\b")
_I_FORMS = {"has": "have", "is": "am", "does": "do", "doesn't": "don't"}


def _first_person_verbs(text: str) -> str:
    """'I has' -> 'I have', 'I sees' -> 'I see': templates are written for she/he."""
    return _I_VERB.sub(lambda m: "I " + _I_FORMS.get(m.group(1), m.group(1)[:-1]), text)


class _LazySlots(dict):
    """Slot values for one record, each drawn from the record's generator on first use.

    Most templates use a few slots; drawing all of them for every record was a third of the
    generator's time. The order of first use is fixed by the code, so output stays
    deterministic.
    """

    def __init__(self, rng: random.Random, bank: PhraseBank, local: datetime, suspect_female: bool) -> None:
        super().__init__()
        self._rng, self._bank, self._local, self._suspect_female = rng, bank, local, suspect_female

    def __missing__(self, key: str) -> str:
        rng, b, local = self._rng, self._bank, self._local
        if key == "rel":
            value = b.pick(rng, "rel_female" if self._suspect_female else "rel_male")
        elif key == "addr":
            value = f"{rng.randint(1, 140)} {self['street']} {self['town']}"
        elif key == "town":
            value = b.pick(rng, "town").upper()
        elif key in _PICKED_SLOTS:
            value = b.pick(rng, key)
        elif key == "time":
            value = f"{(local.hour + rng.randint(0, 3)) % 24:02d}{rng.choice(_MINUTES):02d}hrs"
        elif key == "day":
            value = _WEEKDAYS[(local.weekday() - rng.randint(1, 6)) % 7]
        elif key == "date":
            value = (local - timedelta(days=rng.randint(1, 20))).strftime("%d/%m")
        elif key == "year":
            value = str(rng.randint(1986, 2008))
        elif key == "vrm":
            letters = "".join(chr(65 + rng.randint(0, 25)) for _ in range(3))
            value = f"{b.pick(rng, 'vrm_area')}{rng.randint(51, 66)} {letters}"
        elif key == "n":
            value = str(rng.randint(3, 60))
        elif key == "money":
            value = f"£{rng.choice((20, 40, 50, 80, 120, 200, 250, 300, 450, 600, 1200))}"
        elif key == "ref":
            value = str(rng.randint(100, 999))
        elif key == "officer":
            value = f"PC {rng.randint(1000, 4999)}"
        else:
            raise KeyError(key)
        self[key] = value
        return value


#: Slots drawn straight from a word list of the same name in common.yaml.
_PICKED_SLOTS = frozenset(
    {"street", "org", "role", "other_force", "place", "item", "shop", "vehicle", "weapon"}
)


class _Overlay(dict):
    """Slots that override some values of a base mapping and read the rest from it."""

    def __init__(self, base: dict, **values: str) -> None:
        super().__init__(values)
        self._base = base

    def __missing__(self, key: str) -> str:
        return self._base[key]


class _NamedOnce(dict):
    """Victim slots that say the person's first name once, then the pronoun."""

    def __init__(self, base: dict, person: Person) -> None:
        super().__init__(v=person.first, V=person.full, age=str(person.age))
        self._base, self._person, self._named = base, person, False
        she = person.female
        self._pronouns = {
            "vs": "she" if she else "he",
            "vo": "her" if she else "him",
            "vp": "her" if she else "his",
            "vr": "herself" if she else "himself",
        }

    def __missing__(self, key: str) -> str:
        if key in self._pronouns:
            if self._named:
                return self._pronouns[key]
            self._named = True
            return f"{self._person.first}'s" if key == "vp" else self._person.first
        return self._base[key]


class _SlotDefault(dict):
    def __missing__(self, key: str) -> str:
        return ""


def generate(
    n_records: int,
    seed: int = 7,
    profile: str | Profile = DEFAULT_PROFILE,
    split: str = "train",
    *,
    start: int = 0,
    validate: bool = False,
) -> Iterator[tuple[Record, list[Crime], Audit]]:
    """Yield ``(record, crimes, audit)`` for records ``start .. n_records-1`` of a synthetic force.

    Deterministic for ``(n_records, seed, profile, split)``; ``start`` resumes a run part-way.
    ``validate`` runs pydantic validation on every model (slower; the output is the same).
    """
    if n_records < 0:
        raise ValueError("n_records must be >= 0")
    prof = load_profile(profile) if isinstance(profile, str) else profile
    force = Force(prof, bank_for(split), seed, validate=validate)
    for index in range(start, n_records):
        yield force.record(index, n_records)
