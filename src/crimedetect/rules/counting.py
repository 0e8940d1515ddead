"""Counting: crime candidates of one record folded into counted disclosures.

Per victim (HOCR General Rule D, one crime per victim): a category is folded into another
present for the same victim when ``counting.yaml`` says it is part of it (``subsumed_by``);
then the principal crime rule (General Rule F) keeps the most serious category, by the
severity order of ``resources/counting_rules.yaml``, and the categories the edition in force
counts in addition (stalking and harassment, by default) and those ``counted_alongside``
(assaults and rapes with modern slavery) are kept as well. The edition is chosen by the date
of the first entry that disclosed anything.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from crimedetect.contract import FAMILIES, Disclosure, Evidence, Record
from crimedetect.hocr import counting_edition, severity_rank
from crimedetect.rules.extract import ORGANISATION, STATE, UNKNOWN, Candidate
from crimedetect.rules.schema import CountingSettings

MAX_EVIDENCE = 4
#: assaults and sexual offences, which only a person suffers: never an organisation's
#: ('pushed the guard' in a shoplifting is the guard's, not the shop's)
AGAINST_PERSON = frozenset({"violence_with_injury", "violence_without_injury", *FAMILIES["sexual_offences"]})


def _score(group: list[Candidate]) -> float:
    miss = 1.0
    for confidence in {(c.rule_id, c.confidence) for c in group}:
        miss *= 1.0 - confidence[1]
    return round(min(0.99, 1.0 - miss), 4)


def _first_entry(own: list[Candidate], settings: CountingSettings) -> int:
    """Where the 24-hour clock starts: the first entry disclosing the crime (or a part of it
    folded in, ``clock_starts_with_folded``: the theft told at the call is the burglary's),
    passing over mentions that carry only suspicion (``clock_waits_for``) when a later one
    does not."""
    waits = set(settings.clock_waits_for)
    disclosing = [c.mention.entry for c in own if not waits & set(c.cues)]
    return min(disclosing or [c.mention.entry for c in own])


def fold(
    categories: set[str], in_addition: set[str], settings: CountingSettings
) -> tuple[set[str], dict[str, str]]:
    """The categories counted for one victim, and for each folded one the category it went into."""
    folded: dict[str, str] = {}
    present = set(categories)
    alongside = {c for key in present for c in settings.counted_alongside.get(key, []) if c in present}
    # a crime counted alongside another (an assault beside modern slavery) still folds into
    # a bigger one that is itself counted alongside (the blow when she cried is the rape's)
    for category in sorted(present, key=severity_rank, reverse=True):
        for bigger in settings.subsumed_by.get(category, []):
            if (
                bigger in present
                and bigger != category
                and (category not in alongside or bigger in alongside)
            ):
                folded[category] = bigger
                present.discard(category)
                break
    extra = (present & in_addition) | (alongside & present)
    rest = present - extra
    if rest:
        principal = min(rest, key=severity_rank)
        for category in rest - {principal}:
            folded[category] = principal
        return {principal} | extra, folded
    return extra, folded


@lru_cache(maxsize=8)
def _occasion_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


#: A day named where a crime is told: a date ('on Sat 20/01', 'on 21/01/2018') or else a
#: weekday after 'on' ('on Sunday'). Language, not policy: which days count as another
#: occasion is decided in :func:`_dated_days`.
_DAY_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/\d{2,4})?\b")
_DAY_NAME = re.compile(
    r"\bon (mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|rsday|urday|\.)?\b", re.IGNORECASE
)


def _day_of(text: str) -> str | None:
    """The one day a sentence names ('20/01', or 'sat' when it names no date), else None
    (no day, or more than one)."""
    dates = {f"{int(d)}/{int(m)}" for d, m in _DAY_DATE.findall(text)}
    if dates:
        return next(iter(dates)) if len(dates) == 1 else None
    names = {n.lower() for n in _DAY_NAME.findall(text)}
    return next(iter(names)) if len(names) == 1 else None


def _dated_days(by_category: Mapping[str, list[Candidate]]) -> list[set[str]] | None:
    """v118aq: crimes against one victim told in one entry, each where it is first told on a
    day of its own ('saw him take £20 from the wallet on Sat 20/01 ... on Sun 21/01 he slapped
    him'): separate incidents, which the principal crime rule does not fold together. Only
    when every category is so dated and the days differ; else None."""
    days: dict[str, str] = {}
    for category, group in by_category.items():
        entry = min(c.mention.entry for c in group)
        found = {_day_of(c.sentence_text) for c in group if c.mention.entry == entry}
        if len(found) != 1:
            return None
        (day,) = found
        if day is None:
            return None
        days[category] = day
    if len(set(days.values())) < 2:
        return None
    groups: dict[str, set[str]] = defaultdict(set)
    for category, day in days.items():
        groups[day].add(category)
    return list(groups.values())


def _habitual(
    by_category: Mapping[str, list[Candidate]], settings: CountingSettings
) -> list[set[str]] | None:
    """v122a: a property crime told only as a habit ('takes cash from his wallet most weeks',
    ``habitual`` in counting.yaml) beside crimes told as one occasion ('when he challenged him
    he pushed him over'): a course of its own, which the principal crime rule does not fold
    into the assault. None when no such split applies."""
    if not settings.habitual:
        return None
    pattern = _occasion_pattern(tuple(settings.habitual))
    habitual = {
        category
        for category, group in by_category.items()
        if category in settings.repeat_occasion_categories
        and all(pattern.search(c.sentence_text) for c in group)
    }
    once = set(by_category) - habitual
    if not habitual or not once:
        return None
    if any(pattern.search(c.sentence_text) for category in once for c in by_category[category]):
        return None
    return [once, habitual]


def occasions(by_category: Mapping[str, list[Candidate]], settings: CountingSettings) -> list[set[str]]:
    """One victim's categories by incident (General Rule F folds within one incident only):
    a category whose mentions where it is first told are dated to an earlier day (``separate_occasion``:
    'last Friday', 'two weeks ago') and first told in a later entry than the undated crimes
    that opened the record (a rape told in the DASH after tonight's assault) is an incident
    of its own, with the undated crimes first told no earlier than it. Otherwise all the
    categories are one incident."""
    categories = set(by_category)
    if len(categories) < 2:
        return [categories]
    habits = _habitual(by_category, settings)
    if habits is not None:
        return habits
    days = _dated_days(by_category)
    if days is not None:
        return days
    if not settings.separate_occasion:
        return [categories]
    pattern = _occasion_pattern(tuple(settings.separate_occasion))
    first = {category: min(c.mention.entry for c in group) for category, group in by_category.items()}
    # dated where first told (a review restating it later need not repeat the day)
    dated = {
        category
        for category, group in by_category.items()
        if all(pattern.search(c.sentence_text) for c in group if c.mention.entry == first[category])
    }
    if not dated or dated == categories:
        return [categories]
    opened = min(first[category] for category in categories - dated)
    later = {category for category in dated if first[category] > opened}
    if not later:
        return [categories]
    # ... with the crimes first told only from where it is told ('Q on sexual abuse' in the
    # DASH that disclosed the rape)
    told = min(first[category] for category in later)
    later |= {category for category in categories - dated if first[category] >= told}
    return [categories - later, later]


def repeat_occasions(
    category: str, group: list[Candidate], settings: CountingSettings
) -> list[list[Candidate]]:
    """One victim's crime of one category (``group``, in entry order) split by occasion: a
    property crime first told as done on an earlier day ('last week', ``separate_occasion``)
    and told in a later entry as done again, undated ('emptied again overnight'), is two
    crimes, the later first (the report the record answers). Otherwise one. The categories
    and the words are ``repeat_occasion_categories`` and ``told_again`` in counting.yaml."""
    if (
        category not in settings.repeat_occasion_categories
        or not settings.separate_occasion
        or not settings.told_again
        or len(group) < 2
    ):
        return [group]
    pattern = _occasion_pattern(tuple(settings.separate_occasion))
    told_again = _occasion_pattern(tuple(settings.told_again))
    first = group[0].mention.entry
    if not all(pattern.search(c.sentence_text) for c in group if c.mention.entry == first):
        return [group]
    again = [
        c.mention.entry
        for c in group
        if c.mention.entry > first
        and told_again.search(c.sentence_text)
        and not pattern.search(c.sentence_text)
    ]
    if not again:
        return [group]
    split = min(again)
    return [[c for c in group if c.mention.entry >= split], [c for c in group if c.mention.entry < split]]


def _sentence_folds(candidates: list[Candidate], settings: CountingSettings) -> list[str]:
    """The category each candidate is counted under after sentence folds, following chains:
    when the crime a candidate folds into is itself folded in the same sentence (keys taken
    to control her, beside a grab that is part of a robbery), it goes where that crime went."""
    direct = [_sentence_fold(c, candidates, settings) or c.category for c in candidates]
    for _ in range(len(candidates)):
        changed = False
        for i, c in enumerate(candidates):
            target = direct[i]
            if target == c.category:
                continue
            # where the candidates of the target category (same victim, same sentence) went
            places = {
                direct[j]
                for j, other in enumerate(candidates)
                if other.category == target
                and other.victim == c.victim
                and (other.mention.entry, other.mention.sentence) == (c.mention.entry, c.mention.sentence)
            }
            if target not in places and places:
                direct[i] = min(places, key=severity_rank)
                changed = True
        if not changed:
            break
    return direct


def _sentence_fold(
    candidate: Candidate, candidates: list[Candidate], settings: CountingSettings
) -> str | None:
    """The category ``candidate`` is part of when another crime against the same victim is
    told in the same sentence (``sentence_subsumed_by``: taking her phone to control her is
    the coercive control), else None."""
    for rule in settings.sentence_subsumed_by.get(candidate.category, []):
        for other in candidates:
            if (
                other is not candidate
                and other.category == rule.category
                and other.victim == candidate.victim
                and (other.mention.entry, other.mention.sentence)
                == (candidate.mention.entry, candidate.mention.sentence)
                and (rule.hocr_code is None or other.hocr_code == rule.hocr_code)
                and (rule.cue is None or rule.cue in other.cues)
                and (
                    rule.unless_sentence_cue is None
                    or rule.unless_sentence_cue not in candidate.sentence_cues
                )
                and (rule.unless_own_cue is None or rule.unless_own_cue not in candidate.own_cues)
            ):
                return rule.category
    return None


def _record_folds(
    candidates: list[Candidate], categories: list[str], settings: CountingSettings
) -> list[str]:
    """``categories`` (after sentence folds) with the record-wide folds applied
    (``record_subsumed_by``): a crime whose HOCR code is listed goes into a crime of the named
    category and code against the same victim told anywhere in the record (harassing messages
    beside grooming of the same child are the grooming)."""
    if not settings.record_subsumed_by:
        return categories
    present = {(c.victim, c.category, c.hocr_code) for c in candidates}
    folded = list(categories)
    for i, c in enumerate(candidates):
        if categories[i] != c.category:
            continue
        for rule in settings.record_subsumed_by.get(c.category, []):
            if c.hocr_code in rule.own_hocr_codes and (c.victim, rule.category, rule.hocr_code) in present:
                folded[i] = rule.category
                break
    return folded


def _weapon_folds(
    candidates: list[Candidate], categories: list[str], settings: CountingSettings
) -> list[str]:
    """``categories`` with weapons used in a crime folded into it (``weapon_used_in``): a
    possession crime against the State whose HOCR code is listed goes to the victim of a crime
    of a listed category told in the same entry, and into that crime."""
    if not settings.weapon_used_in:
        return categories
    folded = list(categories)
    for i, c in enumerate(candidates):
        into = settings.weapon_used_in.get(c.hocr_code or "")
        if c.victim != STATE or not into or categories[i] != c.category:
            continue
        used = [o for o in candidates if o.category in into and o.mention.entry == c.mention.entry]
        if used:
            c.victim, c.holder = used[0].victim, None
            folded[i] = used[0].category
    return folded


def _to_robbery_of_staff(candidates: list[Candidate], settings: CountingSettings) -> None:
    """A business's property taken in a robbery of its staff ('took approx £300 from the
    till' beside 'robbed at knifepoint') is that robbery, not a theft from the business as
    well: an organisation's theft goes to the (first) victim of a robbery in the record.
    Damage to a business ('a brick through the bookmaker's window') stays its own crime."""
    if "robbery" not in settings.subsumed_by.get("theft", []):
        return
    robbed = [c.victim for c in candidates if c.category == "robbery" and c.victim != UNKNOWN]
    if not robbed:
        return
    for c in candidates:
        if c.victim == ORGANISATION and c.category == "theft":
            c.victim = robbed[0]


def _to_burglary_of_household(candidates: list[Candidate], settings: CountingSettings) -> None:
    """v118ar: things missing from a burgled home ('jewellery box from the main bedroom
    missing', the householder telling it by phone while the keyholder reported the break-in)
    are that burglary, one crime per household: a theft told with or after a burglary, whose
    victim is no victim of anything else in the record, goes to the victim of the burglary
    told in its entry (else the first one), and is then folded into it (``subsumed_by``)."""
    if "burglary" not in settings.subsumed_by.get("theft", []):
        return
    nobody = (UNKNOWN, STATE)
    burglaries = [c for c in candidates if c.category == "burglary" and c.victim not in nobody]
    if not burglaries:
        return
    first = min((c.mention.entry, c.mention.start) for c in burglaries)
    burgled = {c.victim for c in burglaries}
    for c in candidates:
        # (not a theft told before any burglary: 'trailer taken from the yard ... also the
        # workshop was broken into', another owner's)
        if c.category != "theft" or c.victim in burgled or (c.mention.entry, c.mention.start) < first:
            continue
        if any(o.victim == c.victim and o.category != "theft" for o in candidates):
            continue
        same_entry = [b for b in burglaries if b.mention.entry == c.mention.entry]
        c.victim = (same_entry or burglaries)[0].victim


def count(record: Record, candidates: list[Candidate], settings: CountingSettings) -> list[Disclosure]:
    """Counted disclosures of one record, most serious first, with their decision trace."""
    if not candidates:
        return []
    _to_robbery_of_staff(candidates, settings)
    _to_burglary_of_household(candidates, settings)
    # A mention whose victim is unknown belongs to the only named victim, if there is one;
    # else to the only named victim of its category ('assault on police' in the custody
    # entry is the officer's assault told before, not a second one). The State (drugs,
    # weapons) is never the victim of an offence against a person.
    named = {c.victim for c in candidates if c.victim not in (UNKNOWN, STATE)}
    named_in: dict[str, dict[str, None]] = defaultdict(dict)  # in the order first named
    for c in candidates:
        if c.victim != UNKNOWN:
            named_in[c.category][c.victim] = None
    # An offence against a person is not given to a business, the only named victim of a
    # shoplifting: the unnamed guard pushed at the door is a victim of their own (Rule D).
    for c in candidates:
        if c.victim == UNKNOWN and c.category in AGAINST_PERSON and named == {ORGANISATION}:
            continue
        if c.victim == UNKNOWN and len(named) == 1:
            c.victim = next(iter(named))
        elif c.victim == UNKNOWN and named_in[c.category]:
            # ... or, of several ('both arrested for common assault' after each party's
            # account), the first so named: the crimes already told, not one more
            c.victim = next(iter(named_in[c.category]))
    if settings.surname_joins_category_victim:
        _join_bare_surnames(candidates, named_in)
    labels_join_told_victim(candidates, settings)
    first = min(c.mention.entry for c in candidates)
    edition = counting_edition(record.entries[first].at)
    in_addition = set(edition.counted_in_addition)
    # Crimes against the State (possession) count one per offender: each person named as
    # holding a weapon or drugs is a crime of their own; mentions naming no holder ('both
    # arrested for possession') go with the first holder named.
    holders = list(dict.fromkeys(c.holder for c in candidates if c.victim == STATE and c.holder))
    by_victim: dict[tuple[str, str | None], dict[str, list[Candidate]]] = defaultdict(
        lambda: defaultdict(list)
    )
    categories = _record_folds(candidates, _sentence_folds(candidates, settings), settings)
    categories = _weapon_folds(candidates, categories, settings)
    for c, category in zip(candidates, categories, strict=True):
        holder = (c.holder or holders[0]) if c.victim == STATE and holders else None
        by_victim[(c.victim, holder)][category].append(c)
    disclosures: list[Disclosure] = []
    for (victim, _holder), by_category in by_victim.items():
        counted: set[str] = set()
        folded: dict[str, str] = {}
        for incident in occasions(by_category, settings):
            incident_counted, incident_folded = fold(incident, in_addition, settings)
            counted |= incident_counted
            folded.update(incident_folded)
        for category in counted:
            group = list(by_category[category])
            for small, big in folded.items():
                if big == category:
                    group.extend(by_category[small])
            group.sort(key=lambda c: (c.mention.entry, c.mention.start))
            for part in repeat_occasions(category, group, settings):
                disclosures.append(_disclosure(category, victim, part, settings, edition.edition))
    disclosures.sort(key=lambda d: (severity_rank(str(d.category)), d.victim or ""))
    return disclosures


def labels_join_told_victim(candidates: list[Candidate], settings: CountingSettings) -> None:
    """An officer's label ('ABH', ``label_rules``) whose victim is no victim of any offence told
    in the record goes to the first victim of its category told by a description, when there is
    one: the name nearest a label is often the arrested party's ('Chantelle arrested ABH',
    'Harassment crime raised, GREAVES to be interviewed'). Not when the victim is named as one
    (a doer or suspect never is: ``victim_suspected``): after 'for', 'on', 'against' ('ABH on
    HOLT recorded', 'NRM referrals for both')."""
    labels = set(settings.label_rules)
    if not labels:
        return
    nobody = (UNKNOWN, STATE)
    told = [c for c in candidates if c.rule_id not in labels and c.victim not in nobody]
    victims = {c.victim for c in told}
    for c in candidates:
        if c.rule_id not in labels or c.victim in (*nobody, ORGANISATION) or c.victim in victims:
            continue
        if not c.victim_suspected and _named_as_victim(c.victim, c.sentence_text):
            continue
        same = [t.victim for t in told if t.category == c.category]
        if same:
            c.victim = same[0]


_AS_VICTIM = re.compile(
    r"\b(?:for|on|against|v|vs|victim|ip|re)\b\.?\s+(?:(?:the|mr|mrs|ms|miss)\s+)?(\w[\w'-]*)", re.IGNORECASE
)
_SEVERAL = re.compile(r"\b(?:both|all|each)\b", re.IGNORECASE)


def _named_as_victim(victim: str, sentence: str) -> bool:
    """Whether the sentence names ``victim`` after a word that makes a victim ('ABH on HOLT',
    'Robbery recorded for Ryan'), or speaks of several ('for both')."""
    names = {part.lower() for part in victim.split()}
    return bool(_SEVERAL.search(sentence)) or any(
        found.group(1).lower() in names for found in _AS_VICTIM.finditer(sentence)
    )


_BARE_SURNAME = re.compile(r"[A-Z][A-Z'-]+")


def _join_bare_surnames(candidates: list[Candidate], named_in: Mapping[str, Mapping[str, None]]) -> None:
    """A victim named by a bare SURNAME becomes the one victim of its category named in full
    with that surname (``surname_joins_category_victim``)."""
    for c in candidates:
        if not _BARE_SURNAME.fullmatch(c.victim or ""):
            continue
        full = [v for v in named_in.get(c.category, ()) if v != c.victim and v.split()[-1] == c.victim]
        if len(full) == 1:
            c.victim = full[0]


def _disclosure(
    category: str,
    victim: str,
    group: list[Candidate],
    settings: CountingSettings,
    edition: str,
) -> Disclosure:
    """The counted crime of one victim and category from its candidates (in entry order)."""
    own = [c for c in group if c.category == category] or group  # never empty
    starts_clock = set(settings.clock_starts_with_folded.get(category, [])) | {category}
    clock = [c for c in group if c.category in starts_clock]
    evidence: list[Evidence] = []
    seen: set[tuple[int, int, int]] = set()
    for c in own + [c for c in group if c.category != category]:
        key = (c.mention.entry, c.mention.start, c.mention.end)
        if key not in seen and len(evidence) < MAX_EVIDENCE:
            seen.add(key)
            evidence.append(
                Evidence(entry=c.mention.entry, start=c.mention.start, end=c.mention.end, text=c.mention.text)
            )
    best = max(own, key=lambda c: c.confidence)
    extras: dict[str, Any] = {
        "rule_ids": sorted({c.rule_id for c in group}),
        "cues": sorted({cue for c in group for cue in c.cues}),
        "hocr_code": best.hocr_code,
        "first_entry": _first_entry(clock, settings),
        "edition": edition,
        "folded": sorted({c.category for c in group if c.category != category}),
    }
    return Disclosure(
        category=category,
        victim=None if victim == UNKNOWN else victim,
        score=_score(own),
        by=["rules"],
        evidence=evidence,
        **extras,
    )
