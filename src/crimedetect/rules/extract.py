"""From the processed entries of one record to crime candidates (one per offence mention).

A candidate is an offence mention that survived its context qualifiers, judged into its final
category, with its victim resolved. Counting folds candidates into disclosures
(:mod:`crimedetect.rules.counting`). Every step leaves a trace: the rule that fired, the
words, the qualifiers weighed and the judgement made.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from spacy.attrs import ORTH
from spacy.tokens import Doc

from crimedetect.contract import Record
from crimedetect.rules.components import (
    _AUXILIARIES,
    CUES,
    OFFENCES,
    PERSONS,
    QUALIFIERS,
    RECORD_CUES,
    PersonFinder,
    _sentences,
)
from crimedetect.rules.matching import token_arrays
from crimedetect.rules.schema import OffencePatterns, WordLexicons

STATE = "State (no individual victim)"
# The word sets in this module are English grammar (pronouns, auxiliaries, determiners,
# prepositions, the links between words) and crime categories: they belong with the code that
# reads them. The domain words an analyst extends (kin words, verbs of telling, body parts,
# officer titles, ...) are ``lexicons`` in victims.yaml (:class:`WordLexicons`), held by the
# :class:`RecordReader`.

#: Words allowed between a doer's name and the offence words ('PIKE then shoved him').
_LINKS = frozenset(
    {"has", "had", "have", "been", "then", "also", "just", "now", "allegedly", "again", "keeps", "was"}
)
#: Links that may follow a comma after a doer's name ('Dennis HOLT, has again shouted ...').
_COMMA_LINKS = frozenset({"has", "had", "have", "allegedly", "again"})
#: v122a: one way of contacting before another, the doer's too ('McVEIGH has been texting and
#: calling her constantly')
_CONTACT_LINKS = frozenset({"texting", "messaging", "ringing", "phoning", "emailing"})
#: Things sent that can be the offence words themselves ('has sent her 40 messages calling her ...').
_MESSAGES = frozenset(
    {
        "message",
        "messages",
        "text",
        "texts",
        "email",
        "emails",
        "letter",
        "letters",
        "voicemail",
        "voicemails",
        "post",
        "posts",
        "comment",
        "comments",
    }
)
ORGANISATION = "organisation"
#: Categories whose victim is the business when the person named speaks for it (a manager).
_ORGANISATION_PROPERTY = frozenset({"criminal_damage_arson", "theft"})
#: Crimes told once of a group that a record calling several people victims (IP1, IP2) counts
#: for each: not an assault (whether each was injured is told of each), nor a sexual offence
#: (told of the one it was done to), nor damage (joint owners are one victim)
_SHARED_BY_CALLED_VICTIMS = frozenset({"robbery", "theft", "modern_slavery", "public_order"})
UNKNOWN = "unknown"
_PRONOUN_GENDER = {"her": "female", "him": "male"}
#: The possessive of the same person as an object pronoun ('his girlfriend hit him').
_POSSESSIVE_OF = {"her": "her", "him": "his"}
_SUBJECT_GENDER = {"she": "female", "he": "male"}
#: Determiners before a person not named ('a male', 'another lad').
_DETERMINERS = frozenset({"a", "an", "the", "another", "one", "this", "that", "some"})
#: Words before a name that make it the one a doer went at ('came at Bethany', 'went for Bilal').
_AIMED_AT = frozenset({"at", "for", "towards", "on"})


_AGE_IN_TEXT = re.compile(
    r"\b(?:when|since|from when) (?:she|he|i|they) (?:was|were) (\d{1,2})\b"
    r"|\baged (\d{1,2})\b|\b(\d{1,2})[ -]?(?:years?[ -]old|yo|yrs?[ -]old)\b"
    r"|\b(?:boy|girl|child|son|daughter)\s*,\s*(\d{1,2})\s*,"
    r"|\b(?:she|he|i) (?:is|was) (?:only )?(\d{1,2})\b"
    r"|\bunder (1[0-8])\b"
    r"|\b[a-z]+ \((\d{1,2})\)",
    re.IGNORECASE,
)


#: An age at the time of the act ('when I was 11 he had sex with me', 'from the age of 10'):
#: in a historic disclosure it, not the victim's age now, decides the child offence.
_AGE_AT_THE_TIME = re.compile(
    r"\b(?:when|since|from when) (?:she|he|i|they) (?:was|were) (\d{1,2})\b"
    r"|\b(?:from|at) the age of (\d{1,2})\b",
    re.IGNORECASE,
)


#: v120az: the possessive of the other sex from an object pronoun ('kicked her' ... 'his wound').
_OTHER_POSSESSIVE = {"her": "his", "him": "her"}


def _told_with_possessive(text: str, start: int, possessive: str) -> bool:
    """Whether the words at ``start`` follow ``possessive`` straight ('his head wound'; not 'his
    ring cut her lip')."""
    before = text[max(0, start - 30) : start].lower().split()
    return before[-1:] == [possessive]


def _youngest_age_in_sentence(pattern: re.Pattern[str], text: str, mention: Mention) -> int | None:
    """The youngest age ``pattern`` finds in the mention's sentence, if any."""
    start = max(text.rfind(".", 0, mention.start) + 1, 0)
    end = text.find(".", mention.end)
    window = text[start : end if end != -1 else len(text)]
    ages = [int(g) for match in pattern.finditer(window) for g in match.groups() if g]
    return min(ages) if ages else None


def _child_age(text: str, mention: Mention, age_of: Mapping[str, int | None]) -> int | None:
    """The age that decides a child sexual offence: an age at the time of the act ('when I was
    11'), else the victim's known age, else an age stated in the sentence ('aged 14')."""
    age = _youngest_age_in_sentence(_AGE_AT_THE_TIME, text, mention)
    if age is None:
        age = age_of.get(mention.victim or "")
    if age is None:
        age = _youngest_age_in_sentence(_AGE_IN_TEXT, text, mention)
    return age


#: Where officer titles (``officer_titles``) stand in a doc, found once per doc.
_OFFICER_AT = "crimedetect.officer_title_tokens"

#: Words that end the phrase between 'by' and a name ('hit by a car and Dean ROWE stopped').
_NOT_BY_LINKS = frozenset(
    {"and", "or", "with", "to", "at", "in", "on", "then", "when", "while", "who", "after"}
)
#: The one called ('rang him'), and the words that may follow ('rang him and said ...').
_CALLED = frozenset({"him", "her", "them"})
_AFTER_CALLED = frozenset(
    {"and", "to", "last", "on", "at", "this", "yesterday", "earlier", "again", "twice", "today"}
)

_PASSIVE_AUX = frozenset({"was", "were", "been", "being", "got", "get", "gets"})


#: Subject and first-person words by which a teller puts themselves among the victims ('she
#: and her friend were', 'we were'): the teller is then one of them.
_SELF_AMONG = frozenset({"he", "she", "i", "we", "us", "me"})

#: Subjects by which the writer tells their own words ('I explained'), and objects after a verb
#: of telling that name who was told rather than open an account ('told me to leave').
_FIRST_PERSON_SUBJECTS = frozenset({"i", "we"})
_TOLD_OBJECTS = frozenset({"me", "us", "him", "her", "them", "officers", "police", "pc", "ps"})


def _spoken_by(gap: Any, words: WordLexicons) -> Any:
    """The part of ``gap`` (the words between a name and offence words) before a verb of
    saying (``saying_verbs``: the speaker did it) and an opening quote ('(14) shouted '' gives
    '(14)'), else None."""
    if len(gap) < 2 or len(gap) > 7 or gap[-1].text not in ("'", '"', "\u2018", "\u201c"):
        return None
    if gap[-2].lower_ not in words.saying_verbs:
        return None
    return gap[: len(gap) - 2]


def _quote_opens_before_first_person(following: str) -> bool:
    """Whether a quote opens in ``following`` (the words after offence words) before its
    'me'/'my' ('hit him with the belt 'on my legs''): the first person is the quoted speaker."""
    for word in following.lower().split():
        if word[:1] in ("'", '"', "\u2018", "\u201c"):
            return True
        if word.strip(".,;:!?'\"") in ("me", "my"):
            return False
    return False


def _passive(gap: Any, words: Any) -> bool:
    """'was punched', 'has been hit', 'was head-butted': the offence words are passive (a
    participle after was/been), so the person named before them is who it was done to."""
    if not any(t.lower_ in _PASSIVE_AUX for t in gap):
        return False
    first = words.text.split()[0].lower() if words.text.split() else ""
    lemma = words[0].lemma_ if len(words) else first
    return (
        first.endswith(("ed", "en"))
        or first in _BARE_PARTICIPLES
        or (lemma != first and not first.endswith("ing"))
    )


#: Participles spelt as their verb ('Mia (11) was hit with a belt', 'was cut with a knife').
_BARE_PARTICIPLES = frozenset({"hit", "cut", "hurt", "slit", "set", "beat"})


#: An owner named by role word just after offence words ('into the bonnet of his (RP's) Golf').
_OWNER_BY_ROLE = re.compile(r"[^.;]{0,12}?\b(RP|IP)['\u2019]s\)?\s*(\w*)")
#: a sum of money straight after the offence words ('60-£80', '£200', '50 quid')
_AMOUNT = re.compile(r"\s*£?\d[\d,.]*(?:\s*-\s*£?\d[\d,.]*)?(?:\s*(?:quid|pounds|k))?")

_BODY_PREPOSITIONS = frozenset({"in", "to", "on", "about", "across", "over", "around"})


def _note_passive(doc: Doc, start: int, words: WordLexicons) -> bool:
    """'Sam LEE 30 punched in face': in note style, a participle straight on to a
    preposition and a body part (no object) was done to the person named before it."""
    verb = doc[start]
    if not verb.lower_.endswith("ed") or start + 1 >= len(doc):
        return False
    if doc[start + 1].lower_ in _BODY_PREPOSITIONS:
        body_parts = words.body_parts
        return any(t.lower_ in body_parts for t in doc[start + 2 : start + 5])
    # 'Son Ryan ASHWORTH 24 punched twice by stepfather Gary': a 'by' soon after a participle
    # with no object names the doer (no punctuation between)
    if doc[start + 1].lower_ in _OBJECTS or doc[start + 1].is_title or doc[start + 1].is_upper:
        return False
    for token in doc[start + 1 : start + 5]:
        if token.is_punct:
            break
        if token.lower_ == "by":
            return True
    # 'Son Ryan ASHWORTH 24 punched twice, nose bleed': how often, then the clause ends
    i = start + 1
    while i < len(doc) and doc[i].lower_ in words.how_often_words:
        i += 1
    return i > start + 1 and (i == len(doc) or doc[i].text in (",", ".", ";", "-"))


def _thing_then_participle(doc: Doc, start: int) -> bool:
    """'(owner Bill X) windscreen cracked by a brick': offence words that open with a thing
    and a participle tell what was done to the named person's property (its owner), not a
    deed of theirs. Not an adverb or a link ('repeatedly punched', 'then kicked')."""
    if start + 1 >= len(doc):
        return False
    thing, verb = doc[start], doc[start + 1]
    return (
        thing.is_alpha
        and thing.is_lower
        and not thing.lower_.endswith(("ed", "ly"))
        and thing.lower_ not in _LINKS
        and verb.is_lower
        and verb.lower_.endswith("ed")
    )


def _done_to_named(doc: Doc, end: int, start: int, words: WordLexicons) -> bool:
    """Offence words at ``start`` in the passive straight after a name ending at ``end``
    ('Staff nurse Jo X punched to the mouth by a patient', 'PC Amy X was kicked'): done to
    that person, even a professional (who is otherwise never the victim)."""
    if not 0 <= start - end <= 2:
        return False
    gap = doc[end:start]
    if not all(t.like_num or t.lower_ in _PASSIVE_AUX for t in gap):
        return False
    return _note_passive(doc, start, words) or _passive(gap, doc[start : start + 3])


#: Crimes against property, one per owner: a caller telling of a loss without naming its owner
#: tells of their own (:meth:`RecordReader._to_the_one_named`).
_PROPERTY_CRIMES = frozenset({"theft", "burglary", "criminal_damage_arson"})

#: Categories that are one kind of crime for :meth:`RecordReader._to_the_one_named` (an
#: assault is judged with or without injury by the words near each mention).
_KIND_OF_CRIME = {"violence_with_injury": "assault", "violence_without_injury": "assault"}


def _same_role(word: str, words: WordLexicons) -> str:
    """One spelling for role words that name the same relation ('father' is 'dad'):
    ``role_synonyms``."""
    return words.role_synonyms.get(word, word)


#: Object words straight after a verb ('punched him'): the verb is active, not a note passive.
_OBJECTS = frozenset({"her", "him", "them", "me", "us", "his", "their", "my", "a", "an", "the"})


def _counted_children_pattern(words: WordLexicons) -> re.Pattern[str]:
    """'hit her 2 daughters', 'slapped both kids', 'assaulted his three children': the offence
    words' object is several children (of the record's adult), counted one crime each. Its
    numbers are ``number_words`` (and 'both', a determiner), its nouns ``child_group_words``."""
    numbers = "|".join(map(re.escape, words.number_words))
    groups = "|".join(map(re.escape, words.child_group_words))
    return re.compile(
        rf"\b(?:(?:her|his|their|the)\s+({numbers})|(both)(?:\s+(?:her|his|their|the))?)\s+"
        rf"(?:young\s+|little\s+)?(?:{groups})\b",
        re.IGNORECASE,
    )


#: a child listed by first name and age straight after ('..., Tia 9, Leo 7 and Max 5,')
_NAME_AND_AGE = re.compile(r"\s*(?:,|and|&|\()?\s*([A-Z][a-z]+)\s*\(?(?:aged\s+)?\d{1,2}\)?")


#: an object pronoun and 'and' inside offence words ('hit him and his sister')
_OBJECT_AND = re.compile(r"\b(?:her|him)\s+and\s")


def _done_to_both_pattern(family: Sequence[str]) -> re.Pattern[str]:
    """'exposed himself to Phoebe and her friend Isla', 'pulled a knife on him and his mate
    Ryan PEEL': straight after the offence words (a few words at most), the one they were
    done to and a companion named by a relation word: the companion is a victim too.
    ``family``: the family words (``family_sharing_surname``) after which a first name alone
    takes the surname of the one named first ('her daughter Anaya' of Priya KAUR is Anaya KAUR)."""
    relations = "|".join(map(re.escape, family))
    # (the words before the object are optional: matched from an object inside the offence
    # words, 'hit him and his sister Kacey', there are none)
    return re.compile(
        r"(?:(?:\s+[\w']+){0,3}?\s+(?:to|at|towards|on)\s+)?(?P<object>her|him|[A-Z][a-z]+(?:\s+[A-Z]{2,})?)\s+and\s+"
        r"(?:her|his|their)\s+(?:\d{1,2}\s*(?:yr|year)s?[\s-]*old\s+|young\s+|little\s+|new\s+)?"
        rf"(?P<relation>{relations}|friend|mate|mum|mother|dad|father|partner|wife|husband|"
        r"girlfriend|boyfriend|colleague|cousin)(?:\s+(?P<first>[A-Z][a-z]+)(?:\s+(?P<surname>[A-Z]{2,}))?)?\b"
    )


@cache
def _property_threat_pattern(burnable: frozenset[str]) -> re.Pattern[str] | None:
    """v120ba: the words of a threat to burn down a building or thing (offence_patterns.yaml
    threat.quoted: 'burn ur barn down'; the lexicon's ``burnable_property_words``), read by the
    threat judgement as a threat to property; None when the lexicon has none."""
    if not burnable:
        return None
    return re.compile(rf"burn\b.*\b(?:{'|'.join(sorted(burnable))})\s+down$", re.IGNORECASE)


#: What may follow a relation word told unnamed as a second object ('at him and his wife'):
#: punctuation, a quote, the end, or a preposition or conjunction opening a new phrase.
_RELATION_ENDS_OBJECT = re.compile(
    r"""\s*(?:$|[,.;:!?'"\u2018\u2019\u201c\u201d()\-]|(?:as|when|while|in|at|on|outside|from|with|for|over|and|whenever|every|each|most|all|again|calling|saying|shouting|telling)\b)"""
)


@cache
def _relation_name_pattern(relation: str) -> re.Pattern[str]:
    """'<relation> Firstname [SURNAME]', a title allowed between ('wife Anna', 'mother Mrs Edith
    X'), built once per relation word."""
    return re.compile(
        rf"\b{re.escape(relation)}\s+(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+)?"
        r"(?P<first>(?!(?:Mr|Mrs|Ms|Miss|Mx|Dr)\b)[A-Z][a-z]+)(?:\s+(?P<surname>[A-Z]{2,}))?\b"
    )


def _named_by_relation(relation: str, texts: Sequence[str]) -> tuple[str, str | None] | None:
    """v120ba: the first name (and surname) the record gives a relation told unnamed beside
    the offence ('shouting at him and his wife ...', then 'spoke to NOWAK and wife Anna'):
    the first '<relation> Firstname' anywhere in the record, else None."""
    pattern = _relation_name_pattern(relation)
    for text in texts:
        found = pattern.search(text)
        if found:
            return found.group("first"), found.group("surname")
    return None


def _done_to_both(
    text: str,
    mention: Mention,
    victim: str,
    people: Mapping[str, Any],
    pattern: re.Pattern[str],
    family: Sequence[str],
    record_texts: Sequence[str] = (),
) -> tuple[str, str] | None:
    """The object word and the companion named straight after the offence words beside it
    (``pattern``, of :func:`_done_to_both_pattern` with ``family``): the companion is a
    person of the record whose first name it is, else the first name (with the victim's
    surname for a family word); None when the words name no companion. A companion told by
    the relation word alone ('at him and his wife') takes the name the record gives that
    relation elsewhere (``record_texts``), if any (v120ba)."""
    match = pattern.match(text, mention.end, mention.end + 120)
    # v119va: ... or the object inside the offence words ('hit him and his sister Kacey (7)')
    inside = _OBJECT_AND.search(text, mention.start, mention.end)
    if match is None and inside is not None:
        match = pattern.match(text, inside.start(), mention.end + 120)
    if match is None:
        return None
    obj = match.group("object")
    # ('punched her at Tesco and her friend Amy ...' names a place, not a second victim)
    done_to = obj.split(" ", 1)[0]
    if done_to not in ("her", "him") and not any(key.split(" ", 1)[0] == done_to for key in people):
        return None
    first, surname = match.group("first"), match.group("surname")
    if first is None:
        # ... only where the relation ends the object ('at him and his wife, calling them ...',
        # "at him and his wife 'go back ...'"), not the subject of what follows ('punched him and
        # his friend tried to pull him off')
        if not _RELATION_ENDS_OBJECT.match(text, match.end()):
            return None
        named = _named_by_relation(match.group("relation"), record_texts)
        if named is None:
            return None
        first, surname = named
    if surname:
        return obj, f"{first} {surname}"
    known = [key for key in people if key.split(" ", 1)[0] == first]
    if len(known) == 1:
        return obj, known[0]
    if match.group("relation") in family and " " in victim:
        return obj, f"{first} {victim.rsplit(' ', 1)[1]}"
    return obj, first


#: A child listed by first name and age in brackets ('MORGAN children: Jayden (9), Mia (6)');
#: v120ay: or by full name ('Lacey X (5) and Mason X (3) alone'), the age maybe after a school
#: year ('Kacper X (Y3, 7)')
_LISTED_CHILD = re.compile(
    r"\b([A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?:\s+([A-Z]{2,}(?:-[A-Z]{2,})?))?\s*"
    r"\((?:(?:Y|Yr|Year)\s*\d{1,2}\s*,\s*)?(\d{1,2})\)"
)


def _listed_children(texts: Sequence[str], not_children: Collection[str]) -> list[str]:
    """The first names (v120ay: the full names where given) of the children (under 16) a
    record lists with their ages, in order, none whose first name is in ``not_children`` (a
    doer's or suspect's)."""
    names: dict[str, str] = {}  # first name -> the name (the full one where the record gives it)
    for text in texts:
        if "(" not in text:
            continue
        for match in _LISTED_CHILD.finditer(text):
            first, surname = match.group(1), match.group(2)
            if int(match.group(3)) < 16 and first not in not_children and " " not in names.get(first, ""):
                names[first] = f"{first} {surname}" if surname else first
    return list(names.values())


def _after_bracketed_age(doc: Doc, end: int) -> int:
    """The token after an age in brackets at ``end`` ('Ava X (10) said'), else ``end``."""
    if end + 2 < len(doc) and doc[end].text == "(" and doc[end + 1].like_num and doc[end + 2].text == ")":
        return end + 3
    return end


#: Currency signs that open an amount after a name ('Mr Arthur DEAKIN £35 from his drawer').
_CURRENCY = frozenset({"£", "$", "€"})


def _owners_listed(doc: Doc, persons: list[dict[str, Any]], excluded: Collection[str]) -> list[str]:
    """The persons an entry lists each with an amount of their own straight after the name
    (an age between allowed: 'money missing: Mrs Edith X £60 from her handbag, Mr Arthur Y
    £35 from his drawer'), in order, none in ``excluded``: each lost their own property, one
    theft per owner. Empty when fewer than two are listed."""
    owners: list[str] = []
    for p in persons:
        end = p["end"]
        if end < len(doc) and doc[end].text == "(" and end + 2 < len(doc) and doc[end + 2].text == ")":
            end += 3
        if (
            end < len(doc)
            and doc[end].text in _CURRENCY
            and p["key"] not in excluded
            and p["key"] not in owners
        ):
            owners.append(p["key"])
    return owners if len(owners) >= 2 else []


#: Words allowed between an owner word and the owner's name ('Clio owner is Miss X', 'owned by
#: Shane X', 'belonging to Mr Ian X', 'Keepers: Kia - Mrs X'), and possessives before a thing
_OWNER_LINKS = frozenset({"is", "was", "by", "to", ":", "-", "the"})
_POSSESSIVES = frozenset({"his", "her", "their"})


def _after_owner_word(doc: Doc, start: int, words: WordLexicons) -> bool:
    """A name starting at token ``start`` just after an owner word ('(owner Mr Kevin X)',
    'Clio owner is Miss Abbie X', 'belonging to Ms Amy X', 'owned by Shane X')."""
    before = start - 1
    while before >= 0 and doc[before].lower_ in _OWNER_LINKS:
        before -= 1
    return before >= 0 and doc[before].lower_ in words.owner_words


def _damage_owners(doc: Doc, persons: list[dict[str, Any]], words: WordLexicons) -> list[str]:
    """v119po: the persons an entry names as the owner of a thing, in order: after an owner
    word ('(owner Mr Kevin X)', 'Clio owner is Miss Abbie X', 'owned by Shane X'), before a
    possessive and a thing ('Tom X's van', 'Mr Desmond X - 4 panels of his fence'), or in
    brackets or after a dash straight after a thing ('Skoda (Martin X)', 'Kia - Mrs Anita X').
    Damage told of a record whose entries name two or more owners is a crime against each
    (one crime per victim): the neighbour's car caught by the fire, the other cars on the
    close with tyres slashed."""
    owners: list[str] = []
    for p in persons:
        start, end = p["start"], p["end"]
        after = doc[end : min(end + 8, len(doc))]
        stop = next((i for i, t in enumerate(after) if t.text in (".", "!", "?", ";")), len(after))
        after = after[:stop]
        owner = _after_owner_word(doc, start, words)
        # 'Tom X's van', 'Mrs Denise X's Nissan Micra': a possessive, then the thing within 3 words
        owner = owner or (
            len(after) >= 2
            and after[0].text in ("'s", "\u2019s", "s'")
            and any(t.lower_ in words.owned_things for t in after[1:4])
        )
        # 'Mr Desmond X - approx 4 panels of his fence burnt'
        owner = owner or (
            len(after) >= 2
            and after[0].text == "-"
            and any(
                t.lower_ in _POSSESSIVES and i + 1 < len(after) and after[i + 1].lower_ in words.owned_things
                for i, t in enumerate(after)
            )
        )
        # 'Skoda (Martin X)', 'Kia - Mrs Anita X'
        owner = owner or (
            start >= 2 and doc[start - 1].text in ("(", "-") and doc[start - 2].lower_ in words.owned_things
        )
        if owner and p["key"] not in owners:
            owners.append(p["key"])
    return owners


def _may_count_children(text: str, groups: Sequence[str]) -> bool:
    """Whether an entry's text can name a group of children (:func:`_counted_children_pattern`,
    whose nouns are ``groups``): a few substring tests, so that an entry naming none needs no
    regex search per mention. Text that is not ASCII always can: IGNORECASE matches some
    non-ASCII letters ('ſ', 'K') that ``lower()`` keeps."""
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in groups)


def _counted_children(
    text: str, mention: Mention, pattern: re.Pattern[str], numbers: Mapping[str, int]
) -> list[str]:
    """The children the offence words were done to when the words name a number of them
    ('smacked her 3 kids, Tia 9, Leo 7 and Max 5'): their first names where listed straight
    after with ages, else 'child 1', 'child 2', ...; empty when the words name no such group.
    ``pattern``: of :func:`_counted_children_pattern`; ``numbers``: ``number_words``."""
    window = text[mention.start : mention.end + 20]
    match = pattern.search(window)
    if match is None or match.start() > mention.end - mention.start:
        return []
    count = numbers[match.group(1).lower()] if match.group(1) else 2  # group 2: 'both'
    names: list[str] = []
    position = mention.start + match.end()
    while (listed := _NAME_AND_AGE.match(text, position)) is not None:
        names.append(listed.group(1))
        position = listed.end()
    if len(names) == count:
        return names
    return [f"child {i}" for i in range(1, count + 1)]


def _quoted(text: str, mention: Mention) -> bool:
    """Whether the mention is inside quote marks (someone's own words)."""
    return sum(text[: mention.start].count(q) for q in ('"', "\u201c", "\u201d")) % 2 == 1 or (
        " '" in text[max(0, mention.start - 80) : mention.start]
    )


def _own_account(text: str, mention: Mention) -> bool:
    """The victim's own words quoted ('he shoved me down the stairs'): not a report by others."""
    window = text[mention.start : mention.end + 12].lower().split()
    return any(w.strip(".,;:!?'\"") in ("me", "my") for w in window) and _quoted(text, mention)


def _is_first_name(first: str) -> bool:
    """A first name, not an initial ('S', 'T.')."""
    return len(first.rstrip(".")) > 1


def _only_between(doc: Doc, end: int, start: int, words: frozenset[str]) -> bool:
    """Nothing but punctuation and ``words`` between tokens ``end`` and ``start``."""
    return all(not t.is_alpha or t.lower_ in words for t in doc[end:start])


def _role_of(doc: Doc, role_end: int, name_start: int) -> bool:
    """A role word ending at ``role_end`` names the person starting at ``name_start``: only
    punctuation or 'is/was' between ('IP - Dean', 'susp is PIKE'), not a verb ('s/o has
    pushed Daniel': the role word is the doer's, the name the victim's)."""
    return _only_between(doc, role_end, name_start, _AUXILIARIES)


def _names_premises(doc: Doc, mention: Mention) -> bool:
    """The offence words take in a business's words ('through the shop window'): a role match
    of kind organisation (victims.yaml ``role.premises``) within them."""
    return any(
        r["kind"] == "organisation" and mention.token_start <= r["start"] and r["end"] <= mention.token_end
        for r in doc.user_data.get("crimedetect.roles", [])
    )


#: 'owned by X', 'belongs to X', 'property is X', 'property of X': the owner named after
_OWNED_BY = re.compile(
    r"\b(?:(?:owned|leased|rented|hired|let)\s+(?:out\s+)?by|belongs?\s+to|belonging\s+to|"
    r"property\s+(?:is|of)|(?:is|are)\s+the\s+property\s+of)\s+(?:the\s+)?"
    r"(?P<owner>(?:[A-Z][\w&'-]*\s+){0,4}[A-Z][\w&'-]*)"
)


def _owned_by_organisation(text: str, mention: Mention, organisation_words: Collection[str]) -> bool:
    """v118ap: damage or theft in an entry that names a business or landlord as the owner,
    in the mention's sentence or after it ('front door kicked in ... property is Northmere
    Homes', 'mirrors snapped off. Moped is owned by QuickBite Deliveries Ltd'): that owner
    is the victim, not the person hurt beside it. The owner's name must carry one of
    ``organisation_words`` (Ltd, Homes, Housing, Trust, Council); one owner per entry."""
    owners = {
        match.group("owner")
        for match in _OWNED_BY.finditer(text)
        if any(word.lower() in organisation_words for word in match.group("owner").split())
        and match.start() >= _sentence_start(text, mention.start)
    }
    return len(owners) == 1


@cache
def _vehicle_patterns(
    vehicles: frozenset[str], parts: frozenset[str]
) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """v120ax: from the lexicon's ``vehicle_words`` and ``vehicle_part_words``, built once per
    lexicon: a vehicle with the business that owns it in brackets straight after ('driving a
    works van (Harrowford Plumbing Ltd)', 'the company car (Acme Lettings)'), and a vehicle or
    one of its parts ('kicked his driver's door', 'dent to the van's wing'); None when the
    lexicon names no vehicle."""
    if not vehicles:
        return None
    kinds = "|".join(sorted(vehicles))
    owned = re.compile(rf"\b(?:{kinds})\s*\((?P<owner>(?:[A-Z][\w&'-]*\s+){{0,4}}[A-Z][\w&'-]*)\)")
    things = "|".join(sorted({*(f"{v}s?" for v in vehicles), *parts}))
    told = re.compile(
        rf"\b(?:{things}|wing mirror|(?:driver|passenger)(?:'s|\u2019s|s)?\s+(?:side\s+)?(?:door|window))\b",
        re.IGNORECASE,
    )
    return owned, told


def _vehicle_of_organisation(texts: Sequence[str], words: WordLexicons) -> bool:
    """v120ax: whether the record names one vehicle as a business's, in brackets after it
    ('works van (Harrowford Plumbing Ltd)'; the name carrying one of ``organisation_words``):
    damage to that vehicle is the business's, a victim of its own beside the driver hurt
    (a 'works van' with no business named is often the sole trader's own)."""
    patterns = _vehicle_patterns(words.vehicle_words, words.vehicle_part_words)
    if patterns is None:
        return False
    owners = {
        match.group("owner")
        for text in texts
        for match in patterns[0].finditer(text)
        if any(word.lower() in words.organisation_words for word in match.group("owner").split())
    }
    return len(owners) == 1


def _tells_of_vehicle(text: str, words: WordLexicons) -> bool:
    """Whether ``text`` names a vehicle or one of its parts (:func:`_vehicle_patterns`)."""
    patterns = _vehicle_patterns(words.vehicle_words, words.vehicle_part_words)
    return patterns is not None and patterns[1].search(text) is not None


def _takes_till(doc: Doc, mention: Mention, words: WordLexicons) -> bool:
    """v119pb: robbery words that take a business's cash where it is kept, in the words or
    the three words after ('demanded the till', 'taken the cash tin', 'took cash from till')."""
    window = doc[mention.token_start : min(mention.token_end + 3, len(doc))]
    return any(t.lower_ in words.till_words for t in window)


@cache
def _own_property_pattern(own_words: frozenset[str]) -> re.Pattern[str] | None:
    """The pattern of :func:`_own_property_taken` for a lexicon's words, built once per lexicon
    (not once per record); None when the lexicon has none."""
    if not own_words:
        return None
    own = "|".join(sorted(own_words))
    return re.compile(
        rf"(?:'s|\u2019s|\b(?:his|her|their))\s+(?:{own})\b|\b(?:off|from)\s+(?:a|the)\s+customer\b",
        re.IGNORECASE,
    )


def _own_property_taken(texts: Sequence[str], words: WordLexicons) -> bool:
    """v119pb: a record that tells of a person's own property taken ('grabbed Anil's own
    phone', 'the staff member's personal mobile') or of property taken off a customer ('took
    a phone off a customer'): beside the till's cash, a robbery of that person too."""
    pattern = _own_property_pattern(words.own_property_words)
    return pattern is not None and any(pattern.search(text) for text in texts)


@cache
def _worker_pattern(jobs: frozenset[str]) -> re.Pattern[str]:
    """A job word of the lexicon, an optional second one and an optional title, ready for the
    name after it (:func:`_workers_named`), compiled once per lexicon."""
    alternation = "|".join(sorted(jobs))
    return re.compile(
        rf"\b(?i:{alternation})\s+(?:(?i:member|of|staff|nurse)\s+)?(?:(?i:mr|mrs|ms|miss|mx)\.?\s+)?"
    )


def _workers_named(texts: Sequence[str], keys: Collection[str], words: WordLexicons) -> set[str]:
    """v122b: the persons the record names straight after a word for their job ('carer
    Natalie X', 'Guard Dwayne X', 'staff member Gary X', 'Staff nurse Joanne X')."""
    if not words.worker_words:
        return set()
    pattern = _worker_pattern(words.worker_words)
    named: set[str] = set()
    for text in texts:
        for job in pattern.finditer(text):
            at = job.end()
            for key in keys:
                after = at + len(key)
                if text.startswith(key, at) and (
                    after == len(text) or not (text[after].isalnum() or text[after] == "_")
                ):
                    named.add(key)
    return named


def _speaks_for_workplace(doc: Doc, mention: Mention, words: WordLexicons) -> bool:
    """v122b: damage words with 'our' in an entry that names staff ('Caller 1 (staff) states
    ... thrown a bottle through our front window'): the business's property."""
    window = doc[mention.token_start : min(mention.token_end + 4, len(doc))]
    return any(t.lower_ == "our" for t in window) and any(t.lower_ in words.worker_words for t in doc)


#: words before "'s" that make it 'is' or 'has', not a possessive
_NOT_OWNERS = frozenset(
    {"he", "she", "it", "that", "there", "who", "what", "here", "where", "let", "everyone"}
)


def _personal_thing(doc: Doc, mention: Mention, words: WordLexicons) -> bool:
    """v122b: damage words that make the thing a person's ('smashed her phone', "Gary's car",
    "the guard's glasses") in them or the four words after."""
    window = doc[mention.token_start : min(mention.token_end + 4, len(doc))]
    for t in window:
        if t.lower_ in ("her", "his", "their", "my", "your", "hers", "him"):
            return True
        if t.text in ("'s", "\u2019s") and t.i > 0:
            owner = doc[t.i - 1]
            if owner.lower_ in _NOT_OWNERS:  # "He's gone", "it's", "that's"
                continue
            if owner.text[:1].isupper() or owner.lower_ in words.worker_words:
                return True
    return False


#: v119pb: 'Moorland Homes property', 'house is Oston Homes rental', 'council tenancy': the
#: owner named before a word for a let home (a landlord or housing association)
_LET_BY = re.compile(
    r"\b(?P<owner>(?:[A-Z][\w&'-]*\s+){0,3}(?:[A-Z][\w&'-]*|council))\s+"
    r"(?:property|rental|tenancy|house|flat)\b"
)


def _let_by_organisation(text: str, mention: Mention, organisation_words: Collection[str]) -> bool:
    """v119pb: damage told in a sentence that names a landlord before the let home ('Front
    door (Moorland Homes property, IP is tenant) has a split panel', 'glass panel in front
    door broken (house is Oston Homes rental)'): the landlord owns the fixtures, a victim of
    its own, not folded into an assault on the tenant. Only in the mention's own sentence
    (a 'council house' told elsewhere is where she lives, not what was damaged)."""
    start = _sentence_start(text, mention.start)
    stop = text.find(". ", mention.end)
    stop = len(text) if stop < 0 else stop
    return any(
        any(word.lower() in organisation_words for word in match.group("owner").split())
        for match in _LET_BY.finditer(text, start, stop)
    )


def _sentence_start(text: str, at: int) -> int:
    """Where the sentence holding character ``at`` begins (after the last full stop)."""
    stop = max(text.rfind(". ", 0, at), text.rfind("! ", 0, at), text.rfind("? ", 0, at))
    return stop + 2 if stop >= 0 else 0


def _opens_clause(doc: Doc, start: int) -> bool:
    """A name just after a semicolon ('sending a naked photo; Connor then sent it round'):
    the subject of the clause it opens, not the one offence words before it were done to."""
    return start > 0 and doc[start - 1].text == ";"


def _after_relative_clause(doc: Doc, end: int) -> int:
    """v122b: past a relative clause set off by commas straight after a name ('Lee X, who he
    refused to do any more work for, has been ringing'): the name's verb comes after it. The
    clause's closing comma is kept (a comma then an auxiliary links a name to its verb)."""
    if end + 1 >= len(doc) or doc[end].text != "," or doc[end + 1].lower_ not in ("who", "whom"):
        return end
    for i in range(end + 2, min(end + 16, len(doc))):
        if doc[i].text in ".;!?":
            return end
        if doc[i].text == ",":
            return i
    return end


#: v122b: offences done by a blow, whose object named straight after the verb is their victim
_BLOWS = frozenset({"violence_with_injury", "violence_without_injury"})

#: Words between a victim role word and the name it gives ('IP is Greggs', 'Aggrieved - Boots').
_NAMING = frozenset({"is", "-", ":", "=", "was"})


def _business_as_victim(doc: Doc, persons: list[dict[str, Any]]) -> bool:
    """A victim role word naming a capitalised word that is no person ('IP is Greggs',
    'Aggrieved - Boots'): the victim is a business."""
    taken = {i for p in persons for i in range(p["start"], p["end"])}
    for role in doc.user_data.get("crimedetect.roles", []):
        if role["kind"] != "victim":
            continue
        i = role["end"]
        while i < len(doc) and doc[i].lower_ in _NAMING:
            i += 1
        if i < len(doc) and i > role["end"] and doc[i].is_title and i not in taken:
            return True
    return False


#: words opening a clause of when something happened ('When Helen X came out, ...')
_TIME_CLAUSE_OPENERS = frozenset({"when", "as", "while", "whilst", "once"})


@dataclass
class Mention:
    """One offence or cue match in one entry, with what context did to it."""

    rule_id: str
    label: str  # category for offences, cue name for cues
    entry: int
    start: int  # characters into the entry text
    end: int
    text: str
    token_start: int
    token_end: int
    sentence: tuple[int, int]
    qualifiers: list[dict[str, Any]] = field(default_factory=list)
    victim: str | None = None
    #: the victim is the record's default: the mention's sentence names nobody it could be
    victim_by_default: bool = False
    #: an object pronoun ('punched him') that fell back to the record's victim by default
    pronoun_by_default: bool = False

    def has(self, qualifier: str) -> bool:
        return any(q["qualifier"] == qualifier for q in self.qualifiers)

    def excluded_by(self, effects: dict[str, str]) -> list[str]:
        return sorted({q["qualifier"] for q in self.qualifiers if effects.get(q["qualifier"]) == "exclude"})


@dataclass
class Candidate:
    """A crime candidate: a surviving offence mention judged into its final category."""

    category: str
    victim: str
    mention: Mention
    rule_id: str
    hocr_code: str | None
    confidence: float
    cues: list[str]
    #: cue names found in the mention's sentence outside its own words ('for weeks')
    sentence_cues: frozenset[str] = frozenset()
    #: cue names found within the mention's own words ('kept texting')
    own_cues: frozenset[str] = frozenset()
    #: the text of the mention's sentence (when it happened: 'last Friday')
    sentence_text: str = ""
    #: for a crime against the State (possession), the one person its sentence names as
    #: holding it ('FORD has a knife down his sock'): counted one crime per offender
    holder: str | None = None
    #: v122a: the victim is named elsewhere in the record as a doer or a suspect
    victim_suspected: bool = False


@dataclass
class RecordTrace:
    """Everything the rules saw in one record, for explanations and the rules report."""

    mentions: list[Mention]
    cues: list[Mention]
    candidates: list[Candidate]
    dropped: list[tuple[Mention, str]]  # (mention, why: excluded qualifiers or judgement)
    record_cues: list[dict[str, Any]]
    persons: dict[str, dict[str, Any]]


@dataclass
class _Person:
    key: str
    roles: set[str] = field(default_factory=set)
    age: int | None = None
    order: int = 0


def _new_partners(
    docs: list[Doc], raw: list[list[dict[str, Any]]], people: dict[str, _Person], words: WordLexicons
) -> None:
    """'her ex Marcus X has turned up ... Her partner Tom Y has a cut nose': in a record that
    names an ex, someone else named just after a bare partner word is the new partner, with
    the victim (a companion), not the suspect that word alone makes (v117c)."""
    exes: set[str] = set()
    partners: list[dict[str, Any]] = []
    for doc, mentions in zip(docs, raw, strict=True):
        for m in mentions:
            before = [t.lower_ for t in doc[max(0, m["start"] - 3) : m["start"]]]
            if any(w in words.ex_partner_words or w.startswith("ex-") for w in before):
                exes.add(m["key"])
            elif before and before[-1] in words.partner_words:
                partners.append(m)
    if not exes:
        return
    for m in partners:
        if m["key"] not in exes and "suspect" in m["roles"]:
            m["roles"] = [role for role in m["roles"] if role != "suspect"] + ["companion"]
            people[m["key"]].roles.discard("suspect")
            people[m["key"]].roles.add("companion")


class RecordReader:
    """Reads one record's processed entries; holds the rule metadata it needs."""

    def __init__(
        self,
        offences: OffencePatterns,
        effects: dict[str, str],
        gender_words: Mapping[str, Sequence[str]],
        per_child_codes: Collection[str],
        lexicons: WordLexicons,
    ) -> None:
        self.rules = {rule.id: rule for rule in offences.rules}
        self.effects = effects
        self.gender_words = {g: frozenset(w.lower() for w in ws) for g, ws in gender_words.items()}
        #: HOCR codes counted once per child the record lists (``victims.yaml`` per_child_codes)
        self.per_child_codes = frozenset(per_child_codes)
        #: the domain word sets (``victims.yaml`` lexicons), and the sets and patterns made of them
        self.words = lexicons
        #: verbs of telling after 'She/He' at a sentence's start ('She confirms he touched her'):
        #: the relaying verbs but 'informed' ('She informed her' names the one told), and more
        self._she_tells = (lexicons.relaying_verbs - {"informed"}) | lexicons.pronoun_telling_verbs
        #: family and other person words after a possessive in the offence words ('grabbed her
        #: son'): the object is that person, not the possessor the pronoun names
        self._person_after_possessive = lexicons.kin_words | lexicons.other_person_words
        self._counted_children = _counted_children_pattern(lexicons)
        self._done_to_both = _done_to_both_pattern(lexicons.family_sharing_surname)
        self._doers: set[str] = set()
        self._adult_default: str | None = None  # the record's victim leaving children aside
        self._live_offences: list[Mention] = []
        #: (entry, sentence) of each 'no injury' ('no injuries', 'not injured') in a record whose
        #: offences are against several people
        self._uninjured: set[tuple[int, tuple[int, int]]] = set()
        #: each victim said to be uninjured in such a record, with the last entry saying it
        self._uninjured_victims: dict[str, int] = {}
        self._gender: dict[str, str] = {}
        self._seen: list[str] = []  # persons named in the entries before the current one
        self._offence_starts: list[list[int]] = []  # each entry's offence mentions' first tokens

    # ---------------------------------------------------------------- mentions
    @staticmethod
    def _mentions(doc: Doc, entry: int, group: str, text: str) -> list[Mention]:
        """The entry's offence or cue mentions; ``text`` is the entry's text (the doc's), so a
        mention's words are a slice of it rather than rebuilt from tokens."""
        found: list[Mention] = []
        spans = doc.spans.get(group, [])
        if not spans:
            return found
        qualifiers = doc.user_data.get(QUALIFIERS, {}).get(group, [])
        sentences = _sentences(doc)
        for index, span in enumerate(spans):
            start_char, end_char = span.start_char, span.end_char
            found.append(
                Mention(
                    rule_id=span.id_,
                    label=span.label_,
                    entry=entry,
                    start=start_char,
                    end=end_char,
                    text=text[start_char:end_char],
                    token_start=span.start,
                    token_end=span.end,
                    sentence=sentences[span.start],
                    qualifiers=list(qualifiers[index]) if index < len(qualifiers) else [],
                )
            )
        return found

    # ---------------------------------------------------------------- persons
    def _persons(self, docs: list[Doc]) -> tuple[dict[str, _Person], list[list[dict[str, Any]]]]:
        people: dict[str, _Person] = {}
        by_surname: dict[str, set[str]] = {}
        by_first: dict[str, set[str]] = {}
        raw = [list(doc.user_data.get(PERSONS, [])) for doc in docs]
        # 'Mr HUSSAIN' is the one Imran HUSSAIN named in full anywhere in the record, before
        # or after (not a second person, so not a second victim)
        for m in (m for mentions in raw for m in mentions if _is_first_name(m["first"]) and m["surname"]):
            by_surname.setdefault(m["surname"], set()).add(m["name"])
            by_first.setdefault(m["first"].split()[0], set()).add(m["name"])
        # 'her son Kieran (15)' is the Kieran OKAFOR named in full elsewhere in the record
        for m in (m for mentions in raw for m in mentions if not m["surname"]):
            if len(by_first.get(m["first"], ())) != 1:
                by_first.setdefault(m["first"], set()).add(m["name"])
        order = 0
        for mentions in raw:
            for m in mentions:
                key = m["name"] if _is_first_name(m["first"]) else m["surname"]
                if key == m["surname"] and len(by_surname.get(key, ())) == 1:
                    key = next(iter(by_surname[key]))
                elif not m["surname"] and len(by_first.get(key, ())) == 1:
                    key = next(iter(by_first[key]))
                m["key"] = key
                person = people.setdefault(key, _Person(key=key, order=order))
                order += 1
                person.roles.update(m["roles"])
                person.age = person.age if person.age is not None else m["age"]
        # Bare surnames (PIKE) and first names (Dean) of people named in full elsewhere.
        strings = docs[0].vocab.strings if docs else None
        lookup: dict[int, str] = {}
        for name, keys in list(by_surname.items()) + list(by_first.items()):
            if len(keys) == 1 and strings is not None:
                lookup[strings.add(name)] = next(iter(keys))
        if lookup:
            for entry, doc in enumerate(docs):
                taken = {i for m in raw[entry] for i in range(m["start"], m["end"])}
                roles_here = doc.user_data.get("crimedetect.roles", [])
                for i, orth in enumerate(doc.to_array([ORTH]).tolist()):
                    key = lookup.get(orth)
                    if key is None or i in taken:
                        continue
                    # 'IP - Dean', 'susp is PIKE'; not 's/o has pushed Daniel' (a verb between:
                    # the role word is the doer's, the name the victim's), nor 'WEBB arrested.
                    # Jo has ...' (a sentence ends between)
                    roles = [
                        m["kind"]
                        for m in roles_here
                        if m["end"] <= i
                        and i - m["end"] <= 2
                        and _role_of(doc, m["end"], i)
                        and not any(t.text in (".", "!", "?") for t in doc[m["end"] : i])
                    ]
                    # 'MARSH arrested', 'PIKE (s/o)': a role word just after the bare name
                    after = [
                        m["kind"]
                        for m in doc.user_data.get("crimedetect.roles_after", [])
                        if PersonFinder._just_after(doc, i + 1, m["start"], m["end"])
                    ]
                    roles += after
                    if "suspect" in roles:
                        people[key].roles.add("suspect")
                    # v119va: 'Crime raised for SHAW as victim': the one the officer records it
                    # for is a victim, though a doer in the other party's account
                    if "victim" in after:
                        people[key].roles.add("victim")
                    raw[entry].append(
                        {
                            "key": key,
                            "name": key,
                            "start": i,
                            "end": i + 1,
                            "roles": roles,
                            "age": None,
                        }
                    )
        _new_partners(docs, raw, people, self.words)
        return people, raw

    def _does(self, doc: Doc, end: int, starts: list[int], appositive: bool = False) -> bool:
        """Whether words ending at ``end`` (a name, a role word) are followed by offence
        words as their doer: only links, ages or brackets between, and not a passive.
        ``appositive``: the name follows a comma, so a comma may close it ('the tenant at no
        16, Craig X, pushed her')."""
        words = self.words
        end = _after_relative_clause(doc, end)
        for start in starts:
            if not 0 <= start - end <= 7:
                continue  # too far for a doer, even one who says the quoted words
            gap = doc[end:start]
            # 'ROWE (14) shouted 'go back to ...'': the one who says the quoted words
            spoken = _spoken_by(gap, words)
            if spoken is not None and doc[start].lower_ in words.quoted_doer_words:
                continue  # "Riley said 'dad did it with his belt'": an account of another's act
            if spoken is not None:
                gap = spoken
            elif sum(1 for t in gap if not (t.like_num or t.text in "()")) > 4:
                continue  # (an age in brackets is no distance: 'her son Ben (24) has just smashed')
            # 'Dennis HOLT, has again shouted abuse': a comma, then an auxiliary
            if len(gap) > 1 and gap[0].text == "," and gap[1].lower_ in _COMMA_LINKS:
                gap = gap[1:]
            elif appositive and len(gap) == 1 and gap[0].text == ",":
                gap = gap[1:]
            if len(gap) and gap[-1].text == "(":
                continue  # 'Chloe X (rape crime already recorded)': a note on them, not a deed
            if not len(gap) and doc[start].lower_ in words.crime_nouns:
                continue  # 'Reviewed WARD burglary': the crime of the one named, not a deed
            if doc[start].lower_ in words.handing_over_verbs:
                continue  # 'Josh handed over his Samsung': the one robbed gave it up
            if all(
                (t.is_punct and t.text in "()")
                or t.like_num
                or t.lower_ in _LINKS
                or t.lower_ in words.admitting_verbs
                or t.lower_ in _CONTACT_LINKS
                or (t.lower_ == "and" and t.i > 0 and doc[t.i - 1].lower_ in _CONTACT_LINKS)
                for t in gap
            ):
                if (
                    _passive(gap, doc[start : start + 3])
                    or _note_passive(doc, start, words)
                    or _thing_then_participle(doc, start)
                    # the offence words themselves start with the auxiliary ('was punched')
                    or (
                        doc[start].lower_ in _PASSIVE_AUX
                        and _passive(doc[end : start + 1], doc[start + 1 : start + 4])
                    )
                ):
                    continue  # 'Kyle was head-butted': the one it was done to
                return True
        return False

    def _find_doers(
        self,
        docs: list[Doc],
        persons: list[list[dict[str, Any]]],
        offences: list[list[Mention]],
        offence_starts: list[list[int]],
        genders: Mapping[str, str],
    ) -> set[str]:
        """People named just before offence words ('PIKE spat at me', 'KNOWLES (20) keeps
        messaging'): the doers, so never the victim of that record's offences. Also a person
        given the role word that did it ('his dad smacked him' ... 'Dad is Gary HOLT').
        ``offences``: each entry's offence mentions; ``offence_starts``: their first tokens."""
        doers: set[str] = set()
        doer_roles: set[str] = set()
        for entry, doc in enumerate(docs):
            starts = offence_starts[entry]
            for r in doc.user_data.get("crimedetect.roles", []):
                if r["kind"] in ("relative", "suspect") and self._does(doc, r["end"], starts):
                    doer_roles.add(_same_role(doc[r["end"] - 1].lower_, self.words))
        for entry, doc in enumerate(docs):
            starts = offence_starts[entry]
            roles_here = doc.user_data.get("crimedetect.roles", [])
            for p in persons[entry]:
                # ... not the one the offence words were done to ('the brother has attacked
                # them' ... 'TODD head-butted his brother Aaron TODD')
                done_to = any(
                    1 <= p["start"] - m.token_end <= 3
                    and doc[m.token_end].lower_ in ("his", "her", "their", "my")
                    and all(t.is_alpha and t.is_lower for t in doc[m.token_end : p["start"]])
                    for m in offences[entry]
                )
                if not done_to and any(
                    0 <= p["start"] - r["end"] <= 1
                    and _same_role(doc[r["end"] - 1].lower_, self.words) in doer_roles
                    and _role_of(doc, r["end"], p["start"])
                    for r in roles_here
                ):
                    doers.add(p["key"])
                    continue
                # v119po: the owner of a thing is what it was done to ('Red Corsa belonging to Ms
                # Amy X burnt out', 'ignition of Ford Focus owned by Shane X'), not its doer
                if _after_owner_word(doc, p["start"], self.words):
                    continue
                # 'punched by Lewis HOUGH', 'touched on the dance floor by Jamie SAVAGE'; also
                # when the offence words take in the 'by' ('was punched by Lewis')
                by = self._by_before(doc, p["start"])
                if by >= 0 and any(
                    0 <= by - m.token_end <= 5 or m.token_start <= by < m.token_end for m in offences[entry]
                ):
                    doers.add(p["key"])
                    continue
                appositive = p["start"] > 0 and doc[p["start"] - 1].text == ","
                if (
                    self._does(doc, p["end"], starts, appositive)
                    or self._does_as_pronoun(doc, p["end"], starts, genders.get(p["key"]))
                    or self._sends(doc, p, starts)
                ):
                    doers.add(p["key"])
        return doers

    @staticmethod
    def _by_before(doc: Doc, start: int) -> int:
        """Index of the 'by' that introduces the person starting at ``start`` ('punched by Lewis
        HOUGH'), also across a determiner and up to two lower-case role words ('raped by her uncle
        Philip ASPINALL', 'hit by the ex partner Dean ROWE'), or up to five before a comma ('attacked
        by another boy from his year, Reece HOLT'); -1 when there is none."""
        i = start - 1
        words = 3
        if i > 0 and doc[i].text == ",":
            i -= 1
            words = 6
        for _ in range(words):
            if i < 0 or doc[i].lower_ == "by":
                break
            if not (doc[i].is_alpha and doc[i].is_lower) or doc[i].lower_ in _NOT_BY_LINKS:
                return -1
            i -= 1
        return i if i >= 0 and doc[i].lower_ == "by" else -1

    def _sends(self, doc: Doc, person: dict[str, Any], starts: list[int]) -> bool:
        """A person (no reporter or victim) who sent a message whose content holds the offence
        words ('Gary MOSS has sent him a message saying your shop will burn'), or who rang the
        one it was said to and said them ('Wayne COX rang him and said ...'): its doer."""
        if set(person["roles"]) & {"reporter", "victim"}:
            return False
        i = person["end"]
        while i < len(doc) and (
            doc[i].lower_ in _LINKS
            or doc[i].like_num
            or doc[i].text in "()"
            # 'Kerry X, has sent Rachel ...'
            or (doc[i].text == "," and i + 1 < len(doc) and doc[i + 1].lower_ in _COMMA_LINKS)
        ):
            i += 1
        if i >= len(doc):
            return False
        sentence_end = _sentences(doc)[i][1]
        words = self.words
        if (
            doc[i].lower_ in words.calling_verbs
            and i + 1 < len(doc)
            and doc[i + 1].lower_ in _CALLED
            # 'him'/'her' as the one called, not 'her mum' (whom a victim tells)
            and (i + 2 >= len(doc) or not doc[i + 2].is_alpha or doc[i + 2].lower_ in _AFTER_CALLED)
        ):
            # 'rang him and said he is going to kill him': the words the caller said
            # ... and nobody else named as saying or doing it ('... and said Lee ROSS hit her')
            return any(
                i + 1 < start < sentence_end
                and any(t.lower_ in words.caller_saying_words for t in doc[i + 2 : start])
                and not any(t.is_upper and t.is_alpha and len(t) > 1 for t in doc[i + 2 : start])
                for start in starts
            )
        if doc[i].lower_ not in words.sending_verbs:
            return False
        # v122a: the messages sent are the offence words themselves ('Kerry X, has sent Rachel
        # around 6 Facebook messages since mid Oct calling her')
        if any(i < start <= i + 6 and doc[start].lower_ in _MESSAGES for start in starts):
            return True
        # the offence words inside the message ('saying ...', a quote), not the thing sent
        # ('Mia sent a photo of herself': she is no doer)
        return any(
            i < start < sentence_end
            and any(
                t.lower_ in words.message_openers or t.text in ("'", '"', "\u2018", "\u201c")
                for t in doc[i:start]
            )
            for start in starts
        )

    def _does_as_pronoun(self, doc: Doc, end: int, starts: list[int], gender: str | None) -> bool:
        """A name taken up by a subject pronoun that then does the offence words ('ended it
        with Tom GREEN last summer he has been turning up ...'): only a few words that are
        no verb of telling between the name and 'he'/'she' ('Dean SMITH says he has been
        followed' is someone telling what was done to them)."""
        for i in range(end, min(end + 4, len(doc))):
            token = doc[i]
            if token.lower_ in _SUBJECT_GENDER:
                return gender in (None, _SUBJECT_GENDER[token.lower_]) and self._does(doc, i + 1, starts)
            # ('that' opens what is told: grammar, not one of the telling verbs)
            if (
                token.lower_ in self.words.relaying_verbs
                or token.lower_ in self.words.telling_verbs
                or token.lower_ == "that"
                or token.is_sent_start
            ):
                return False
        return False

    def _of_pronoun_gender(
        self, pronoun: str, default: str, named_before: list[str], people: dict[str, _Person]
    ) -> str:
        """'punched her' when the record's victim is a man: the last named woman before the
        words who is not a doer, suspect or professional (and likewise 'him'); else the
        record's victim. Only persons whose title or role word gives their gender count."""
        wanted = _PRONOUN_GENDER.get(pronoun)
        known = self._gender.get(default)
        if wanted is None or known is None or known == wanted:
            return default
        matching = [
            key
            for key in named_before
            if self._gender.get(key) == wanted
            and key not in self._doers
            and people[key].roles.isdisjoint({"suspect", "professional"})
        ]
        if matching:
            return matching[-1]
        adult = self._adult_default
        if adult is not None and adult != default and self._gender.get(adult) in (None, wanted):
            return adult
        # v122b: else the last one named before of no known gender ('Caller Dawn X ... Staff
        # member Tariq Y stood in the doorway and male shoved him'): the victim known to be of
        # the other gender cannot be the pronoun
        unknown = [
            key
            for key in named_before
            if key != default
            and key not in self._gender
            and key not in self._doers
            and people[key].roles.isdisjoint({"suspect", "professional"})
        ]
        return unknown[-1] if unknown else default

    def _genders(self, docs: list[Doc], persons: list[list[dict[str, Any]]]) -> dict[str, str]:
        """Each person's gender where a title or the role word before the name says it;
        a person the text calls both is left out."""
        said: dict[str, set[str]] = {}
        for entry, doc in enumerate(docs):
            for p in persons[entry]:
                words = [doc[p["start"]].lower_] + ([doc[p["start"] - 1].lower_] if p["start"] > 0 else [])
                for gender, lexicon in self.gender_words.items():
                    if any(w.rstrip(".") in lexicon for w in words):
                        said.setdefault(p["key"], set()).add(gender)
        # v118ap: where no title or role word says it, a common first name does ('Gareth X
        # blocked the door and was punched' in a record whose victim is Priya Y); a name
        # used by both sexes is in neither list
        by_name = {"female": self.words.female_first_names, "male": self.words.male_first_names}
        for found in persons:
            for p in found:
                first = p["key"].split(" ", 1)[0].lower() if " " in p["key"] else ""
                if p["key"] not in said and first:
                    genders = {g for g, names in by_name.items() if first in names}
                    if len(genders) == 1:
                        said[p["key"]] = genders
        return {key: next(iter(g)) for key, g in said.items() if len(g) == 1}

    def _by_title_gender(self, people: dict[str, _Person], persons: list[list[dict[str, Any]]]) -> None:
        """'Mr GOODALL' in a record naming Alan GOODALL (Mr) and his daughter Jess GOODALL is
        Alan: a bare surname whose title gives a gender is the one person of that surname and
        gender named in full (not a further person, so not a further victim)."""
        bare = [key for key in people if " " not in key and key in self._gender]
        for key in bare:
            gender = self._gender[key]
            full = [k for k in people if k.endswith(" " + key) and self._gender.get(k) == gender]
            if len(full) != 1:
                continue
            person = people.pop(key)
            people[full[0]].roles.update(person.roles)
            for found in persons:
                for p in found:
                    if p["key"] == key:
                        p["key"] = full[0]

    @staticmethod
    def _only_reporter(person: _Person | None) -> bool:
        """Someone who only reported it (RP, caller), not called the victim or IP."""
        return person is not None and "reporter" in person.roles and "victim" not in person.roles

    def _denials(
        self,
        mentions: list[Mention],
        persons: list[list[dict[str, Any]]],
        people: dict[str, _Person],
        m_docs: list[Doc] | None = None,
    ) -> set[tuple[str, str, int]]:
        """(victim, category, entry) of offences the victim says did not happen: a negated
        mention ('he has never hit her') in a sentence that names its victim and no suspect
        ('Stacey DRAPER seen alone, ... he has never hit her'), not a suspect's denial."""
        denials: set[tuple[str, str, int]] = set()
        for m in mentions:
            if not m.has("negated") or not m.victim:
                continue
            low, high = m.sentence
            named = [p for p in persons[m.entry] if low <= p["start"] < high]
            # v118ap: ('NASH interviewed, admits pushing Carol, denies the phone': a sentence
            # that admits something is the suspect's account, whoever it names)
            doc = m_docs[m.entry] if m_docs else None
            if doc is not None and any(t.lower_ in self.words.admitting_verbs for t in doc[low:high]):
                continue
            if any(p["key"] == m.victim for p in named) and not any(
                p["key"] in self._doers or "suspect" in people[p["key"]].roles for p in named
            ):
                denials.add((m.victim, self.rules[m.rule_id].category, m.entry))
        return denials

    @staticmethod
    def _for_organisation(category: str, person: _Person | None) -> bool:
        """Damage or theft whose victim speaks for a business (a manager): the business's."""
        return (
            category in _ORGANISATION_PROPERTY
            and person is not None
            and "organisation" in person.roles
            and "victim" not in person.roles
        )

    def _both(
        self,
        text: str,
        mention: Mention,
        people: dict[str, _Person],
        default: str | None,
        record_texts: Sequence[str] = (),
    ) -> list[str]:
        """The one the offence words were done to and the companion named beside them
        (:func:`_done_to_both`); empty when there is no such pair. A companion read as the
        victim ('pulled a knife on him and his mate Ryan PEEL' finds Ryan first) leaves the
        pronoun to the record's victim of its gender."""
        victim = mention.victim
        found = _done_to_both(
            text,
            mention,
            victim or "",
            people,
            self._done_to_both,
            self.words.family_sharing_surname,
            record_texts,
        )
        if victim is None or found is None:
            return []
        obj, companion = found
        if companion == victim:
            if obj not in ("her", "him") or default is None:
                return []
            victim = self._of_pronoun_gender(obj, default, [], people)
            known = self._gender.get(victim)
            if known is not None and known != _PRONOUN_GENDER[obj]:
                return []
        if victim == companion or {victim, companion} & self._doers:
            return []
        return [victim, companion]

    def _plural(self, doc: Doc, mention: Mention) -> bool:
        """Whether the mention's sentence speaks of several victims ('both', 'all three');
        v120ay: not of several arrested or suspected ('Both males arrested for child abduction',
        'both parents suspects')."""
        low, high = mention.sentence
        return any(
            r["kind"] == "plural"
            and low <= r["start"] < high
            and not any(
                # (v122b: also a word within the plural's own match: 'Both arrested for theft')
                t.lower_ in self.words.suspected_words
                for t in doc[r["start"] + 1 : min(r["end"] + 2, high)]
            )
            for r in doc.user_data.get("crimedetect.roles", [])
        )

    def _listed_then_plural(
        self, doc: Doc, mention: Mention, persons: list[dict[str, Any]], people: dict[str, _Person]
    ) -> list[str]:
        """v119va: the persons the mention's sentence lists just before it ('Ionut X (31),
        Marian Y (27) and Florin Z (35) - disclosed that they were brought over ...'), joined
        only by commas, 'and', '&' and ages, then spoken of as the ones it was done to ('they
        were|are', 'they have|had been', 'them', 'their'), with no one else named between:
        each is a victim. Empty when the sentence is not so built or one listed did it or is a
        suspect or professional."""
        low = mention.sentence[0]
        named = sorted(
            (p for p in persons if low <= p["start"] and p["end"] <= mention.token_start),
            key=lambda p: p["start"],
        )
        listed: list[dict[str, Any]] = []
        for p in reversed(named):
            if listed and not all(
                t.is_punct or t.like_num or t.lower_ in ("and", "&", "aged")
                for t in doc[p["end"] : listed[0]["start"]]
            ):
                break
            listed.insert(0, p)
        keys = list(dict.fromkeys(p["key"] for p in listed))
        if len(keys) < 2 or any(
            key in self._doers or not people[key].roles.isdisjoint({"suspect", "professional"})
            for key in keys
        ):
            return []
        gap = doc[listed[-1]["end"] : mention.token_start]
        for t in gap:
            after = [w.lower_ for w in doc[t.i + 1 : t.i + 3]]
            if t.lower_ in ("them", "their") or (
                t.lower_ == "they"
                and (
                    after[:1] in (["were"], ["are"])
                    or (after[:1] in (["have"], ["had"]) and after[1:] == ["been"])
                )
            ):
                return keys
        return []

    def _telling_of_others(
        self, doc: Doc, persons: list[dict[str, Any]], mention: Mention, people: dict[str, _Person]
    ) -> set[str]:
        """Callers (reporters not called the victim) named in the mention's sentence before a
        telling verb ('RP Mrs X says her daughter ...') who do not put themselves among those
        it happened to ('she and', 'her and her friend', 'we'): tellers of others' crime."""
        low = mention.sentence[0]
        tellers = set()
        for p in persons:
            if not (low <= p["start"] < mention.token_start):
                continue
            person = people.get(p["key"])
            if person is None or "reporter" not in person.roles or "victim" in person.roles:
                continue
            after_name = doc[p["end"] : min(p["end"] + 3, mention.token_start)]
            told = next((t.i for t in after_name if t.lower_ in self.words.relaying_verbs), None)
            if told is None:
                continue
            gap = doc[told + 1 : mention.token_start]
            if any(
                t.lower_ in _SELF_AMONG
                or (t.lower_ in ("her", "him") and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "and")
                for t in gap
            ):
                continue
            tellers.add(p["key"])
        return tellers

    @staticmethod
    def _default_victim(
        people: dict[str, _Person], speaks_of_victim: bool = False, children: bool = False
    ) -> str | None:
        """The record's victim when a mention names none: the person called IP or victim;
        else, when the text speaks of an IP without naming one, the person officers went to
        see ('Spoke to Fatima REID'), not a neighbour who called it in; else, with
        ``children`` (offences against the person), a child named by a family word and an age
        ('her daughter Ruby (15)': a parent telling what happened to a child); else a reporter
        who is not a relative; else the first named person who did not call it in (a neighbour
        or relative reporting what happened to someone else is no victim); else the first named
        person. Never a suspect or professional."""
        ranked = sorted(people.values(), key=lambda p: p.order)

        def ok(p: _Person) -> bool:
            return "professional" not in p.roles and not ("suspect" in p.roles and "victim" not in p.roles)

        # v120ba: an officer the record itself calls the victim by full name ('Common assault
        # recorded, victim PCSO Karen X') is the victim of offence words naming no one ('has
        # pushed her' in the call), when no one else is called a victim. (Not one known by a
        # bare surname: 'PC 3310 BRIGGS' is read by collar number, and 'BRIGGS' alone as the
        # default would part one officer in two.)
        called = [p for p in ranked if "victim" in p.roles and "suspect" not in p.roles]
        if called and all("professional" in p.roles for p in called) and " " in called[0].key:
            return called[0].key

        for test in (
            lambda p: "victim" in p.roles,
            lambda p: speaks_of_victim and "contacted" in p.roles and "reporter" not in p.roles,
            lambda p: (
                children
                and "relative" in p.roles
                and p.age is not None
                and p.age < 18
                and "reporter" not in p.roles
            ),
            lambda p: "reporter" in p.roles and "relative" not in p.roles,
            # 'Mum is Sarah X. Ruby X is in school': one named by her relation to another
            # is not the one it happened to
            lambda p: "reporter" not in p.roles and "relative" not in p.roles,
            lambda p: "reporter" not in p.roles,
            lambda p: True,
        ):
            for person in ranked:
                if test(person) and ok(person):
                    return person.key
        return None

    def _relays_account(self, mention: Mention, doc: Doc) -> bool:
        """Whether the mention's sentence, before the offence words, has a verb of telling
        whose subject is not the writer ('He adds that', 'she was too embarrassed to say on
        the night:'), introducing content: not one with its own object ('told me to leave and
        pushed me', where the officer is told and pushed), nor 'I explained'."""
        verbs = self.words.relaying_verbs | self.words.telling_verbs | self.words.account_verbs
        low = mention.sentence[0]
        for i in range(low, mention.token_start):
            if doc[i].lower_ not in verbs:
                continue
            before = doc[i - 1].lower_ if i > low else ""
            after = doc[i + 1].lower_ if i + 1 < len(doc) else ""
            if before in _FIRST_PERSON_SUBJECTS or after in _TOLD_OBJECTS:
                continue
            return True
        return False

    def _relaying(
        self, candidates: list[dict[str, Any]], mention: Mention, people: dict[str, _Person], doc: Doc
    ) -> list[dict[str, Any]]:
        """Persons named before the offence words who tell them ('Kelsey BIRCH told her that',
        'Joanne KEMP has now told OIC that'): a relaying verb within four words of the name.
        Never a reporter (who tells what happened to others). v120ay: an age in brackets after
        the name is skipped ('Ava X (10) also said her brother ...')."""
        found = []
        for p in candidates:
            if p["end"] > mention.token_start or "reporter" in people[p["key"]].roles:
                continue
            end = _after_bracketed_age(doc, p["end"])
            if any(
                t.lower_ in self.words.relaying_verbs for t in doc[end : min(end + 4, mention.token_start)]
            ):
                found.append(p)
        return found

    def _told_after(self, doc: Doc, end: int, limit: int) -> int | None:
        """The relaying verb whose subject is the person named up to token ``end``, before
        ``limit``: straight after the name or its age ('Dean X (24), says'), or opening a
        clause that shares the name as its subject after a comma or 'and' ('Ross X has a cut
        lip, says'); None when there is none."""
        for i in range(end, limit):
            if doc[i].lower_ not in self.words.relaying_verbs:
                continue
            between = doc[end:i]
            if all(t.is_punct or t.like_num for t in between) or doc[i - 1].lower_ in (",", "and"):
                return i
            return None
        return None

    def _counter_allegation(
        self, pronoun: str, mention: Mention, persons: list[dict[str, Any]], doc: Doc
    ) -> str | None:
        """The first person the mention's sentence names, with a telling verb ('Aaron X states',
        'Ross X has a cut lip, says': :meth:`_told_after`), when the doer is named straight
        after it, just before the offence words ('Gemma Y hit him'), or is a partner word ('says
        his girlfriend has attacked him'), a subject pronoun of the other gender ('states she
        slapped him'), a person not named ('says male in a grey top punched him'), or is named
        after the teller's own subject pronoun ('says when he tried to stop it Craig grabbed
        him'): who it was done to, even a doer elsewhere in the record (counter-allegations,
        one crime per victim). None when the sentence is not so built, the teller is a suspect
        or professional by a role word before the name, or of the other gender than the object
        pronoun."""
        low = mention.sentence[0]
        before = [p for p in persons if low <= p["start"] and p["end"] <= mention.token_start]
        if not before:
            return None
        teller = before[0]
        gender = self._gender.get(teller["key"])
        said = self._told_after(
            doc, teller["end"], before[1]["start"] if len(before) > 1 else mention.token_start
        )
        if (
            said is None
            or said + 2 >= len(doc)
            or not {"suspect", "professional"}.isdisjoint(teller["roles"])
            or (gender is not None and gender != _PRONOUN_GENDER.get(pronoun))
        ):
            return None
        told = said + 2 if doc[said + 1].lower_ == "that" else said + 1
        if len(before) == 1:
            gap = doc[told : mention.token_start]
            # 'Aaron X says his girlfriend has attacked him': the doer a partner word just
            # after the verb, the offence words within two words of it
            partner = (
                told + 1 < len(doc)
                and doc[told].lower_ == _POSSESSIVE_OF.get(pronoun)
                and doc[told + 1].lower_ in self.words.partner_words | {"ex"}
                and mention.token_start - (told + 2) <= 2
            )
            # v119va: 'Dean states she slapped him': the other party by a subject pronoun of
            # the other gender, the offence words within two words of it
            other = _SUBJECT_GENDER.get(doc[told].lower_)
            by_pronoun = other is not None and other != _PRONOUN_GENDER.get(pronoun) and len(gap) <= 3
            # v119va: 'says male in a grey top punched him': a person not named, the offence
            # words within six words, no comma between
            first = told + 1 if doc[told].lower_ in _DETERMINERS else told
            unnamed = (
                first < mention.token_start
                and doc[first].lower_ in self.words.unnamed_person_words
                and len(gap) <= 6
                and not any(t.is_punct for t in gap)
            )
            return str(teller["key"]) if partner or by_pronoun or unnamed else None
        doer = before[-1]
        if doer["key"] == teller["key"] or doer["key"] not in self._doers:
            return None
        # the doer straight after the telling verb ('states Gemma Y hit him', 'says that')
        if doer["start"] == told:
            return str(teller["key"])
        # v119va: 'Tyler says when he tried to get between them Craig grabbed him (and threw
        # him)': the teller's own subject pronoun after the verb, then the doer named before the
        # offence words with no other person and no punctuation between
        if (
            len(before) == 2
            and mention.token_start - doer["end"] <= 10
            and not any(t.is_punct for t in doc[doer["end"] : mention.token_start])
            and any(
                _SUBJECT_GENDER.get(t.lower_) == _PRONOUN_GENDER.get(pronoun)
                for t in doc[told : doer["start"]]
            )
        ):
            return str(teller["key"])
        return None

    def _object_before(
        self,
        pronoun: str,
        candidates: list[dict[str, Any]],
        mention: Mention,
        people: dict[str, _Person],
        doc: Doc,
        persons: Sequence[dict[str, Any]] = (),
    ) -> str | None:
        """The nearest person named before the offence words, of the object pronoun's gender
        (or unknown), with no other offence words between ('Connor touched her ..., she
        pushed him off' is not Connor's), when the doer went at them ('YATES went for Bilal
        outside and punched him') or, not a reporter, a subject pronoun of someone else
        stands between ('sent Freya a text saying he was going to kill her') or the doer of
        the words is named between ('Michelle X has a swollen cheek, husband Gary X punched
        her'; ``persons``: all named in the entry)."""
        offence_starts = self._offence_starts[mention.entry]
        wanted = _PRONOUN_GENDER.get(pronoun)
        for p in sorted(candidates, key=lambda p: p["end"], reverse=True):
            if p["end"] > mention.token_start:
                continue
            if any(p["end"] <= start < mention.token_start for start in offence_starts):
                return None
            gender = self._gender.get(p["key"])
            if gender is not None and wanted is not None and gender != wanted:
                continue
            if p["start"] > 0 and doc[p["start"] - 1].lower_ in _AIMED_AT:
                return str(p["key"])
            if "reporter" in people[p["key"]].roles:
                continue
            subjects = {
                _SUBJECT_GENDER[t.lower_]
                for t in doc[p["end"] : mention.token_start]
                if t.lower_ in _SUBJECT_GENDER
            }
            if subjects and gender is None and not self._other_subject(subjects, p, candidates, doc, mention):
                return None  # 'friend Kyle MARSH ... saying he is going to stab her': he is MARSH
            if subjects and (gender is None or gender not in subjects):
                return str(p["key"])
            if not subjects and any(
                p["end"] <= q["start"] and q["end"] <= mention.token_start and q["key"] in self._doers
                for q in persons
            ):
                return str(p["key"])
            return None
        return None

    def _other_subject(
        self,
        subjects: set[str],
        person: dict[str, Any],
        candidates: list[dict[str, Any]],
        doc: Doc,
        mention: Mention,
    ) -> bool:
        """Whether someone other than ``person`` (whose gender is unknown) can be the subject
        pronoun after them: a person named before them in the sentence who is not known to be
        of another gender, a bare surname, or such a subject pronoun before them ('CHAUHAN sent Freya a text
        saying he ...': he is CHAUHAN). Otherwise the pronoun is the person themselves."""
        low = mention.sentence[0]
        for p in candidates:
            if p["end"] <= person["start"] and p["key"] != person["key"]:
                gender = self._gender.get(p["key"])
                if gender is None or gender in subjects:
                    return True
        # ... or a bare surname of no one named in full ('CHAUHAN sent Freya'), or a subject
        # pronoun of that gender
        taken = {i for p in candidates for i in range(p["start"], p["end"])}
        return any(
            _SUBJECT_GENDER.get(t.lower_) in subjects
            or (t.is_upper and t.is_alpha and len(t) > 2 and t.i not in taken)
            for t in doc[low : person["start"]]
        )

    @staticmethod
    def _opens_statement(doc: Doc, end: int) -> bool:
        """A colon just after a name ending at ``end``, an age between or not ('Marek X:',
        'Chelsea X 26:'): the words after it are that person's."""
        if end < len(doc) and doc[end].like_num:
            end += 1
        return end < len(doc) and doc[end].text == ":"

    def _officer_object(self, mention: Mention, persons: list[dict[str, Any]], doc: Doc) -> str | None:
        """An officer named just after the offence words ('bit PC 2715 SHARPE', 'kicked PC Laura
        SHARPE', 'kicked out at PC 3310 BRIGGS'): an assault on a constable (104, 8S) is the
        officer's, though a professional is otherwise never a victim. The named person, else
        the title and collar number ('PC 2715'), as for an officer writing 'me'; None when no
        officer title follows the first word."""
        titles = doc.user_data.get(_OFFICER_AT)
        if titles is None:  # where officer titles stand, found once per doc
            strings = doc.vocab.strings
            wanted = {strings.add(title.lower()) for title in self.words.officer_titles}
            titles = doc.user_data[_OFFICER_AT] = [
                i for i, lower in enumerate(token_arrays(doc).lowers) if lower in wanted
            ]
        last = min(max(mention.token_start + 3, mention.token_end + 1), len(doc))
        for i in titles:
            if not mention.token_start < i < last:
                continue
            # further on only just after offence words that end in 'at' ('kicked out at PC
            # 3310 BRIGGS')
            if i >= mention.token_start + 3 and not (
                i == mention.token_end and doc[i - 1].lower_ in ("at", "towards")
            ):
                continue
            if doc[i - 1].lower_ == "by":
                return None  # 'punched by PC SHARPE': the officer did it
            if doc[i - 1].text == "(":
                return None  # 'to record the strangulation (DS 2205)': the officer to act
            for p in persons:
                if p["start"] in (i, i + 1):
                    return str(p["key"])
            if i + 1 < len(doc) and doc[i + 1].like_num:
                return f"{doc[i].text.upper()} {doc[i + 1].text}"
            return None
        return None

    def _victim_of(
        self,
        mention: Mention,
        persons: list[dict[str, Any]],
        people: dict[str, _Person],
        default: str | None,
        author: str | None,
        text: str,
        doc: Doc,
    ) -> str | None:
        low, high = mention.sentence
        candidates = []
        for p in persons:
            if not (low <= p["start"] < high):
                continue
            person = people.get(p["key"])
            if person is None:
                continue
            if "professional" in person.roles and not _done_to_named(
                doc, p["end"], mention.token_start, self.words
            ):
                continue
            # v122b: the object of a blow, named straight after its verb ('the man pushed Sidney
            # to the ground'), is who it was done to, though a role word made him a suspect
            # elsewhere ('husband Sidney X'), unless he did something himself
            named_object = (
                self.rules[mention.rule_id].category in _BLOWS
                and p["start"] == mention.token_start + 1
                and p["end"] < mention.token_end
                and p["key"] not in self._doers
                and "suspect" not in p["roles"]
            )
            # (a companion is with the victim: 'her new partner' is no suspect by that word)
            if not named_object and (
                ("suspect" in p["roles"] and "companion" not in p["roles"])
                or ("suspect" in person.roles and person.roles.isdisjoint({"victim", "companion"}))
            ):
                continue
            if p["key"] in self._doers and ("victim" not in person.roles or "suspect" in person.roles):
                # (an IP read as a doer: 'launched a plate at Keith hitting him'); but a doer
                # called a victim by a job word and a suspect too ('the doorman (Craig BELL)
                # hit him with a headbutt ... BELL arrested') did it
                continue
            candidates.append(p)
        # 'was sent sexual images ... by Dean WEBB': a person after 'by' is who did it
        # ... as is one named after offence words that go straight on to 'by' ('was raped by a
        # taxi passenger she shared a cab with, Connor DALE')
        agent_after = mention.token_end < len(doc) and doc[mention.token_end].lower_ == "by"
        # ... and offence words in the passive ('Tyler JOHNS, 12, was punched in the face at the
        # bus stop by another pupil (Ben ROWLEY, 13)') were done to the one named before them
        low_token = mention.token_start
        agent_after = agent_after or (
            low_token > 0
            and doc[low_token - 1].lower_ in _PASSIVE_AUX
            and _passive(doc[low_token - 1 : low_token], doc[low_token : low_token + 3])
        )
        # v120az: ... the auxiliary may open the offence words themselves, after a subject pronoun
        # or a name ('Ashley X says he was slashed with a bottle ... when he tried to pull people
        # off PRICE': not PRICE; not 'A female who tried to help was pushed ... - Hannah X', the
        # one named after)
        agent_after = agent_after or (
            mention.token_end - low_token > 1
            and low_token > 0
            and doc[low_token].lower_ in _PASSIVE_AUX
            and (
                doc[low_token - 1].lower_ in _SUBJECT_GENDER or any(p["end"] == low_token for p in candidates)
            )
            and _passive(doc[low_token : low_token + 1], doc[low_token + 1 : low_token + 4])
        )
        after = [
            p
            for p in candidates
            if p["start"] > mention.token_start
            and not (agent_after and p["start"] > mention.token_end)
            and self._by_before(doc, p["start"]) < 0
            and not _opens_clause(doc, p["start"])
        ]
        own = mention.text.lower().split()
        if own[-1:] == ["with"]:
            # 'IP Steve X, cut eyebrow, after a fight with Liam Y': the one named after 'fight
            # with' is the other party, not who it was done to
            after = []
        if own[-1:] in (["her"], ["him"]):
            # 'NOLAN has slapped her and when her son Bradley tried to stop him': the words
            # name their object; a person named after is it only in apposition ('punched
            # her, his wife Jo ROOK').
            after = [
                p
                for p in after
                if _only_between(doc, mention.token_end, p["start"], self.words.apposition_words)
            ]
        officer = self._officer_object(mention, persons, doc)
        if officer is not None:
            return officer
        if after:
            return min(after, key=lambda p: p["start"])["key"]
        # 'Her new partner Ryan X also got a message from him calling him ...': the one who
        # got or received the words just before them is who they were sent to
        start = mention.token_start
        receivers = [
            p
            for p in candidates
            if p["end"] <= start
            and start - p["end"] <= 4
            and any(t.lower_ in self.words.receiving_verbs for t in doc[p["end"] : start])
        ]
        if receivers:
            return max(receivers, key=lambda p: p["end"])["key"]
        # 'spat at me', 'touched my ...': the writer of the entry. An officer writing in
        # their own words is the victim; inside quotes, or in a report the victim wrote, the
        # first person is the record's victim.
        # 'take £50 off her': an amount after the offence words does not push its object out
        amount = _AMOUNT.match(text, mention.end)
        rest = text[amount.end() if amount else mention.end :]
        following = rest[:12]
        if rest[12:13].isalnum():
            # a word cut at the window's end is no word ('(lock snapping me|thod)' is not 'me')
            following = following.rsplit(" ", 1)[0] if " " in following else ""
        window = (mention.text + following).lower().split()
        # ('two punches. Showed me the messages': a first person past the full stop is no object)
        own_sentence = window[: next((i + 1 for i, w in enumerate(window) if w.endswith(".")), len(window))]
        if any(w.strip(".,;:!?'\"") in ("me", "my") for w in own_sentence):
            # 'dad hit him with the belt 'on my legs'': a quote opened after the offence words
            # is the child's own words, not the writer's
            quoted = _quoted(text, mention) or _quote_opens_before_first_person(following)
            # 'W/S from door supervisor Marek X: ... held it towards me': the first person of a
            # statement opened by a name and a colon is its maker, not the officer writing
            maker = [
                p for p in persons if p["end"] <= mention.token_start and self._opens_statement(doc, p["end"])
            ]
            if maker and not quoted:
                key = max(maker, key=lambda p: p["end"])["key"]
                if key not in self._doers and "suspect" not in people[key].roles:
                    return key
            officer = bool(author) and str(author).upper().startswith(("PC", "DC", "PCSO", "SGT", "DS"))
            if officer and not quoted:
                # 'Statement from IP. He adds that the male went through my pockets': an
                # account the officer relays, slipping into the teller's own words, is the
                # record's victim's, not the officer's
                if default and self._relays_account(mention, doc):
                    return default
                return author
            # 'Joanne KEMP has now told OIC that 'he punched me'': the speaker named before.
            speaker = self._relaying(candidates, mention, people, doc) if quoted else []
            if speaker:
                return max(speaker, key=lambda p: p["end"])["key"]
            # 'Caller Mrs Linda X says ... he is now outside smashing up my car': in a call
            # taker's note the first person is the one caller named (not the victim of the rest)
            if not officer and not quoted:
                callers = [
                    key
                    for key, person in people.items()
                    if "reporter" in person.roles and "suspect" not in person.roles and key not in self._doers
                ]
                if len(callers) == 1:
                    return callers[0]
            return default
        # 'scratched the bonnet of his (RP's) car': the owner the writer names by role word
        owner = _OWNER_BY_ROLE.match(text, mention.end)
        # (not 'hit the IP's son': a person's word after it names someone else)
        if owner and owner.group(2).lower() not in self._person_after_possessive:
            role = "reporter" if owner.group(1).upper() == "RP" else "victim"
            owners = [
                key for key, person in people.items() if role in person.roles and key not in self._doers
            ]
            if len(owners) == 1:
                return owners[0]
        # 'X ... sexually abused her': an object pronoun points away from the name before
        # the offence words (often its doer) to the record's victim.
        # ... within the offence words too ('launched a TV remote at her')
        words = window[:4] + own
        pronouns = [w.strip(".,;:!?'\"") for w in words]
        read = [w.strip(".,;:!?'\"") for w in window]

        def possesses(word: str) -> bool:
            """'grabbed her son', 'threw stones at her kids': ``word`` (a possessive) in the
            offence words or just after them goes on to a person word."""
            return any(w == word and self._possessed_person_at(read, at) for at, w in enumerate(read))

        # 'Gemma X states Aaron hit her': in counter-allegations each party is a doer
        # somewhere; the first one the sentence names, telling it, is who it was done to
        object_pronoun = next((w for w in pronouns if w in ("her", "him")), None)
        if object_pronoun and (teller := self._counter_allegation(object_pronoun, mention, persons, doc)):
            return teller
        if any(w in ("her", "him", "them") for w in pronouns) and default:
            # A relative relaying what happened to them ('RP states her daughter Kelsey BIRCH
            # told her that a man raped her'): the pronoun is the relative, not the reporter.
            # ... or anyone not a reporter who tells it ('Kerry RILEY called in and disclosed
            # that s/o has threatened to kill her').
            telling = self._relaying(candidates, mention, people, doc)
            relaying = [p for p in telling if "relative" in p["roles"]] or telling
            if relaying:
                return max(relaying, key=lambda p: p["end"])["key"]
            pronoun = next(w for w in pronouns if w in ("her", "him", "them"))
            # 'Leanne's partner punched her': the possessor of the doer is the pronoun
            # (v122a: of the pronoun's gender: 'girlfriend Hana's brothers ... punched him' is
            # not Hana)
            other_gender = {"her": "male", "him": "female"}.get(pronoun)
            possessor = [
                p
                for p in candidates
                if p["end"] <= mention.token_start
                and p["end"] < len(doc)
                and doc[p["end"]].lower_ in ("'s", "\u2019s")
                and self._gender.get(p["key"]) != other_gender
            ]
            if possessor:
                return max(possessor, key=lambda p: p["end"])["key"]
            # 'CHAUHAN sent Freya a text saying he was going to kill her': a person named before
            # a subject pronoun ('he') that is someone else is who it was done to.
            told = self._object_before(pronoun, candidates, mention, people, doc, persons)
            if told:
                return told
            if not possesses(pronoun):
                teller = self._teller_named_before(pronoun, mention, persons, people, doc)
                if teller:
                    return teller
            # 'Her new partner Mo X stepped in and Holden headbutted him': the one person its
            # sentence names before the words (v117v)
            sole = self._sole_named_before(pronoun, candidates, mention, default, doc)
            if sole:
                return sole
            named_before = self._seen + [p["key"] for p in persons if p["end"] <= mention.token_start]
            victim = self._of_pronoun_gender(pronoun, default, named_before, people)
            if victim == default:
                victim = (
                    self._sole_of_gender_in_sentence(pronoun, candidates, mention, default, people) or victim
                )
            # v118ap: a pronoun after 'with' ('makes me have sex with him') names the other
            # party to the act, not the one it was done to: no one of its gender instead
            # ... nor does 'she pushed him off' with 'she' of the default's gender: the one
            # attacked freeing themselves (it stays with their own crime, as before)
            at = pronouns.index(pronoun)
            subject = doc[mention.token_start - 1].lower_ if mention.token_start > 0 else ""
            freeing = own[-1:] == ["off"] and _SUBJECT_GENDER.get(subject, "") == self._gender.get(default)
            if (at > 0 and pronouns[at - 1] == "with") or freeing:
                victim = default
            # 'when RPs son came out MOSS punched him': the pronoun may be a relative named
            # only by a family word before it, not the record's victim
            low = mention.sentence[0]
            mention.pronoun_by_default = victim == default and any(
                t.lower_ in self.words.kin_words and (t.i + 1 >= len(doc) or not doc[t.i + 1].is_title)
                for t in doc[low : mention.token_start]
            )
            # 'grabbed her son and threw him': a possessive before a family word names no
            # victim; the son is the one named as a victim of it elsewhere, if there is one
            if possesses(pronoun):
                mention.pronoun_by_default = True
            return victim
        # 'grabbed their son', 'hit his little brother': a possessive before a family word
        # names no victim either; the one the sentence names before, when the possessive can
        # be theirs ('their'; 'his' of a man), is the possessor, and the relative is the one
        # named as a victim of it elsewhere, if there is one (v118ap). ('Mrs Joan X's son
        # slapped his mother': 'his' is the doer's, and the woman named is his mother.)
        possessed_by = {"their": None, "his": "male"}
        possessed = [word for word in possessed_by if possesses(word)]
        # ... nor one brought in by 'by' ('was pressured by Jay FOX into sending a naked photo')
        before = [
            p for p in candidates if p["end"] <= mention.token_start and self._by_before(doc, p["start"]) < 0
        ]
        if before:
            key = max(before, key=lambda p: p["end"])["key"]
            mention.pronoun_by_default = any(
                possessed_by[word] in (None, self._gender.get(key)) for word in possessed
            )
            return key
        if default is None:
            teller = self._professional_teller(mention, persons, people, doc)
            if teller is not None:
                return teller
        mention.victim_by_default = True
        return default

    def _professional_teller(
        self, mention: Mention, persons: list[dict[str, Any]], people: dict[str, _Person], doc: Doc
    ) -> str | None:
        """v120az: in a record that names no one but professionals and suspects (no default
        victim), the object pronoun of offence words told by a professional named just before
        a relaying verb, of the pronoun's gender ('Paramedic Sarah X states male Jamie Y kicked
        her'): the professional it was done to; else None."""
        wanted = next(
            (_PRONOUN_GENDER[w] for w in mention.text.lower().split() if w in _PRONOUN_GENDER), None
        )
        if wanted is None:
            return None
        low = mention.sentence[0]
        professionals = [
            p
            for p in persons
            if low <= p["start"]
            and "professional" in people.get(p["key"], _Person(p["key"])).roles
            and p["key"] not in self._doers
            and self._gender.get(p["key"]) == wanted
        ]
        tellers = {p["key"] for p in self._relaying(professionals, mention, people, doc)}
        return next(iter(tellers)) if len(tellers) == 1 else None

    # ---------------------------------------------------------------- judgement
    def _live_cues(self, cues: list[Mention]) -> dict[str, list[Mention]]:
        """The cues a judgement may use (neither excluded nor negated), by cue name, in order."""
        live: dict[str, list[Mention]] = {}
        for c in cues:
            if not c.excluded_by(self.effects) and not c.has("negated"):
                live.setdefault(c.label, []).append(c)
        return live

    def _judge(
        self,
        mention: Mention,
        live_cues: dict[str, list[Mention]],
        age_of: dict[str, int | None],
        text: str = "",
    ) -> tuple[str | None, str | None, list[str], str]:
        """Final (category, hocr code, cues used, why) for a mention; category None = no crime.
        ``live_cues``: the record's cues neither excluded nor negated, by cue name
        (:meth:`_live_cues`)."""
        rule = self.rules[mention.rule_id]
        judge = rule.judge

        def near(name: str, scope: str) -> list[Mention]:
            picked = []
            for c in live_cues.get(name, ()):
                if scope == "record" or (
                    c.entry == mention.entry and (scope == "entry" or c.sentence == mention.sentence)
                ):
                    picked.append(c)
            return picked

        if judge == "assault":
            # An injury in the blow's own sentence is that blow's ('RP X states he punched
            # her, leaving a black eye'), whoever else the sentence names; elsewhere it must
            # name no one or the same victim.
            injuries = [
                c
                for c in near("injury", "record")
                if c.victim in (None, mention.victim)
                or (c.entry, c.sentence) == (mention.entry, mention.sentence)
            ]
            # (v120az: a serious injury in the entry likewise: 'wound' of the patient's 'Head
            # wound checked by crew', told after the paramedic's kick, is not the officer's)
            serious = [
                c
                for c in near("serious_injury", "entry")
                if c.victim in (None, mention.victim) or c.sentence == mention.sentence
            ]
            # v120az: an injury in the blow's entry told with the other sex's possessive is
            # someone else's ('kicked her as she tried to check his head wound': the patient's
            # wound, not the paramedic's); not where the pronoun is a possessive before a
            # person word ('kicked her son ... his cut lip')
            pronoun = next((w for w in mention.text.lower().split() if w in _OTHER_POSSESSIVE), "")
            others = None if mention.pronoun_by_default else _OTHER_POSSESSIVE.get(pronoun)
            if others:
                theirs = [
                    c
                    for c in injuries
                    if c.entry == mention.entry and _told_with_possessive(text, c.start, others)
                ]
                injuries = [c for c in injuries if c not in theirs]
                # (the serious cue inside those words too: 'wound' of 'his head wound')
                serious = [
                    c
                    for c in serious
                    if not _told_with_possessive(text, c.start, others)
                    and not any(o.start <= c.start and c.end <= o.end for o in theirs)
                ]
            # ... and 'no injury' in the blow's own sentence outweighs an injury told elsewhere
            # ('HODGE shoved her into a table, no injury' after 'female with cut face')
            if (mention.entry, mention.sentence) in self._uninjured:
                injuries = [c for c in injuries if (c.entry, c.sentence) == (mention.entry, mention.sentence)]
                serious = [c for c in serious if c.sentence == mention.sentence]
            # v118ap: ... as does one said of the same victim elsewhere, over injuries told no
            # later and outside the blow's sentence ('punched her husband and kicked her.
            # Husband's eye swelling' then 'kicked her in the shin - no injury')
            said_uninjured = self._uninjured_victims.get(mention.victim or "")
            if said_uninjured is not None:
                injuries = [
                    c
                    for c in injuries
                    if (c.entry, c.sentence) == (mention.entry, mention.sentence) or c.entry > said_uninjured
                ]
            if injuries or serious:
                return "violence_with_injury", "8N", ["injury"], "injury described"
            return "violence_without_injury", rule.hocr_code, [], "no injury described"
        if judge == "threat":
            words_only = mention.has("words_only")
            # A wish that someone else would do the harm ('someone should burn her house down
            # with her in it', posted online) is no threat by the speaker to kill or to strike
            # now: sent, it is malicious communications; said, no crime on its own (v118as).
            if mention.text.lower().startswith(("should", "ought")):
                if near("sent", "entry"):
                    reason = "wish for harm sent (malicious communications)"
                    return "stalking_harassment", "8R", ["sent"], reason
                return None, None, [], "a wish that someone would do harm, no threat by the speaker"
            # v120ba: a threat to burn down a building with no one in it ('we'll burn ur barn
            # down', "I'll come back and burn your shop down") threatens property, not violence
            # to a person: sent, malicious communications; said, no assault (the public order
            # rules read the words). With someone inside it is a threat to kill (cue.kill).
            property_threat = _property_threat_pattern(self.words.burnable_property_words)
            if (
                property_threat is not None
                and property_threat.match(mention.text)
                and not near("threat_to_kill", "sentence")
            ):
                if near("sent", "entry"):
                    return (
                        "stalking_harassment",
                        "8R",
                        ["sent"],
                        "threat to property sent (malicious communications)",
                    )
                return None, None, [], "a threat to property, no violence to a person"
            kill = bool(near("threat_to_kill", "sentence")) or "kill" in mention.text.lower()
            # A threat to kill in so many words ('kill', 'murder', 'cut your throat', 'put you
            # in the ground'), meant to be believed, is 3B however it came (text, voicemail);
            # 'you're dead' alone in a message stays malicious communications.
            said_kill = (
                any(not c.text.lower().startswith("dead") for c in near("threat_to_kill", "sentence"))
                or "kill" in mention.text.lower()
            )
            if said_kill and not words_only and near("immediate_fear", "entry"):
                return "violence_without_injury", "3B", ["threat_to_kill"], "threat to kill, believed"
            if near("sent", "sentence"):
                return "stalking_harassment", "8R", ["sent"], "threat sent (malicious communications)"
            if near("repeated", "sentence"):
                return "stalking_harassment", "8L", ["repeated"], "repeated threats (harassment)"
            if not words_only and (near("immediate_fear", "entry") or near("weapon", "sentence")):
                return "violence_without_injury", "105A", ["immediate_fear"], "fear of immediate violence"
            if kill:
                return "violence_without_injury", "3B", ["threat_to_kill"], "threat to kill"
            return (
                None,
                None,
                ["words_only"] if words_only else [],
                "threat without fear of immediate violence",
            )
        if judge == "theft_force":
            if near("force_on_person", "sentence"):
                return "robbery", "34B", ["force_on_person"], "force used on the person while stealing"
            return rule.category, rule.hocr_code, [], "pattern"
        if judge == "theft_snatch":
            if near("force_on_person", "sentence") or (
                near("force_on_person", "entry") and not near("no_force", "entry")
            ):
                return "robbery", "34B", ["force_on_person"], "force used on the person"
            return "theft", "39", [], "no force on the person"
        if judge == "sexual_activity":
            age = _child_age(text, mention, age_of)
            if age is not None and age < 13:
                return "rape", "19E", ["child_under_13"], "sexual activity with a child under 13"
            if age is not None and age < 16:
                return (
                    "other_sexual_offence",
                    "22B",
                    ["child_under_16"],
                    "sexual activity with a child under 16",
                )
            return None, None, [], "sexual activity, no child victim"
        if judge == "child_sexual":
            age = _child_age(text, mention, age_of)
            if age is not None and age < 16:
                return (
                    rule.category,
                    rule.hocr_code,
                    ["child_under_16"],
                    "sexual activity with a child under 16",
                )
            return None, None, [], "no child victim"
        if judge in ("indicators", "condition"):
            live = [m for m in self._live_offences if self.rules[m.rule_id].category == rule.category]
            same = {(m.entry, m.start) for m in live}
            if len(same) < 2:
                return None, None, [], "a single indicator"
            # hard conditions of work (long hours, low pay, living on site) are no offence on
            # their own: one indicator of control (documents held, pay taken, debt, threats) must
            # be among them, or three conditions together
            control = any(self.rules[m.rule_id].judge != "condition" for m in live)
            if not control and len(same) < 3:
                return None, None, [], f"{len(same)} conditions of work, no indicator of control"
            return rule.category, rule.hocr_code, ["indicators"], f"{len(same)} indicators"
        if judge == "conduct":
            if near("repeated", "entry"):
                return rule.category, rule.hocr_code, ["repeated"], "course of conduct"
            return None, None, [], "single occasion, no course of conduct"
        return rule.category, rule.hocr_code, [], "pattern"

    def _possessed_person_at(self, words: Sequence[str], at: int) -> bool:
        """Whether the possessive at ``words[at]`` goes on to a person word, past a few words
        that only describe them ('her son', 'his little brother', 'their two kids',
        ``kin_modifiers``): the words' object is that person, not the possessor."""
        for word in words[at + 1 : at + 4]:
            if word in self._person_after_possessive:
                return True
            if word not in self.words.kin_modifiers and not word.isdigit():
                return False
        return False

    def _sole_named_before(
        self,
        pronoun: str,
        candidates: list[dict[str, Any]],
        mention: Mention,
        default: str | None,
        doc: Doc,
    ) -> str | None:
        """The object pronoun ('him', 'her') of offence words that a doer named just before
        them did, in a clause joined by 'and' to one about the one person (no suspect, doer
        or professional) the sentence names before ('Mo X stepped in and Holden headbutted
        him'): that person, when of no other gender and the record's victim is neither named
        there nor known to be of the pronoun's gender; else None."""
        wanted = _PRONOUN_GENDER.get(pronoun)
        start = mention.token_start
        if wanted is None or start < 3 or self._gender.get(default or "") == wanted:
            return None
        subject = doc[start - 1]
        if not (subject.is_title or subject.is_upper):
            return None
        joint = doc[start - 2].lower_
        # v118ap: ... or a clause after a comma that closes one opened by 'when' or 'as' about
        # that person ('When Helen X came out shouting, VANCE kicked her in the shin')
        low = mention.sentence[0]
        if joint != "and" and not (
            joint == "," and any(t.lower_ in _TIME_CLAUSE_OPENERS for t in doc[low : start - 2])
        ):
            return None
        named = {p["key"] for p in candidates if p["end"] <= start - 2}
        if len(named) != 1 or default in named:
            return None
        key = next(iter(named))
        return key if self._gender.get(key) in (None, wanted) else None

    def _sole_of_gender_in_sentence(
        self,
        pronoun: str,
        candidates: list[dict[str, Any]],
        mention: Mention,
        default: str | None,
        people: dict[str, _Person],
    ) -> str | None:
        """v120az: the object pronoun ('her') of offence words whose sentence names, before
        them, exactly one person of the pronoun's gender (no suspect, doer or professional:
        ``candidates``), when the record's victim is someone else of no known gender ('Also
        female Nicole X from the queue states a male punched her' in a record whose first
        victim is Jordan Y, named before as 'Male on floor'): that person; else None. A victim
        known to be of the pronoun's gender keeps it (:meth:`_of_pronoun_gender`), and so does one
        called the IP or victim; a reporter named there tells of someone else ('IP: Agnes X. RP
        Mia Y states Neil launched a mug at her')."""
        wanted = _PRONOUN_GENDER.get(pronoun)
        if wanted is None or default is None or default in self._gender:
            return None
        person = people.get(default)
        if person is None or "victim" in person.roles:
            return None
        named = {
            p["key"]
            for p in candidates
            if p["end"] <= mention.token_start
            and self._gender.get(p["key"]) == wanted
            and "reporter" not in people[p["key"]].roles
        }
        if len(named) != 1 or default in named:
            return None
        return next(iter(named))

    def _teller_named_before(
        self,
        pronoun: str,
        mention: Mention,
        persons: list[dict[str, Any]],
        people: dict[str, _Person],
        doc: Doc,
    ) -> str | None:
        """'Contacted sister Gemma X (26). She confirms her uncle touched her': in a sentence
        opened by 'She/He' and a telling verb, the object pronoun of the same gender is the one
        person the sentence before names (no suspect, doer or professional), else None."""
        low = mention.sentence[0]
        if (
            low < 1
            or low + 1 >= len(doc)
            or _SUBJECT_GENDER.get(doc[low].lower_) != _PRONOUN_GENDER.get(pronoun)
            or doc[low + 1].lower_ not in self._she_tells
        ):
            return None
        before = doc[low - 1].sent.start
        named = {
            p["key"]
            for p in persons
            if before <= p["start"] < low
            and p["key"] not in self._doers
            and people[p["key"]].roles.isdisjoint({"suspect", "professional"})
        }
        return next(iter(named)) if len(named) == 1 else None

    @staticmethod
    def _holder(
        mention: Mention, persons: list[dict[str, Any]], people: dict[str, _Person], victims: set[str]
    ) -> str | None:
        """The one person the sentence of a possession offence names, neither a professional
        nor a victim of an offence in the record ('CARR has a flick knife in his pocket'),
        else None."""
        low, high = mention.sentence
        named = {
            p["key"]
            for p in persons
            if low <= p["start"] < high
            and p["key"] not in victims
            and "professional" not in people.get(p["key"], _Person(p["key"])).roles
        }
        return next(iter(named)) if len(named) == 1 else None

    def _to_the_one_named(self, candidates: list[Candidate], people: dict[str, _Person]) -> None:
        """A mention naming nobody whose default victim was not called the IP or victim (the
        caller, a parent) is the crime of the one person named as its victim elsewhere in the
        record ('Crime now recorded s76 CCB' in a review, after the mother called about her
        daughter's husband; 'when RPs son came out MOSS punched him' before 'Son Ryan X punched
        twice'): not a second crime against the caller. An object pronoun that fell back to
        the default counts as naming nobody."""
        # a mention read as done to several ('both', 'all three') names each of them
        several = {id(c.mention) for c in candidates if c.victim != c.mention.victim}
        named: dict[str, set[str]] = {}
        for c in candidates:
            weak = c.mention.victim_by_default or c.mention.pronoun_by_default
            if not weak or id(c.mention) in several:
                named.setdefault(_KIND_OF_CRIME.get(c.category, c.category), set()).add(c.victim)
        moves: list[tuple[Candidate, str]] = []
        kept: set[tuple[int, tuple[int, int], str]] = set()
        for c in candidates:
            person = people.get(c.victim)
            kind = _KIND_OF_CRIME.get(c.category, c.category)
            weak = c.mention.victim_by_default or c.mention.pronoun_by_default
            # v118ap: a possessive before a family word ('punched her husband') was not done
            # to the possessor: the one other person named as a victim of it is its object
            others = named.get(kind, set()) - ({c.victim} if c.mention.pronoun_by_default else set())
            # (v118ap: nor one called a victim by a job word who is also a suspect, 'searched
            # by door supervisor Martin X')
            if (
                weak
                and id(c.mention) not in several
                and person is not None
                and ("victim" not in person.roles or "suspect" in person.roles)
            ):
                # (v117v: not a loss the caller tells without naming its owner: 'RP Keith X.
                # Shed broken into, bikes gone ... neighbour Mrs Y, shed door forced' is his
                # burglary and hers, one per owner)
                own_loss = (
                    kind in _PROPERTY_CRIMES
                    and not c.mention.pronoun_by_default
                    and "reporter" in person.roles
                    and "relative" not in person.roles
                )
                if len(others) == 1 and not own_loss:
                    moves.append((c, next(iter(others))))
                elif (
                    len(named_others := sorted(k for k in others if k)) >= 2
                    and kind not in _PROPERTY_CRIMES
                    and c.victim not in others
                    and not c.mention.pronoun_by_default
                ):
                    # v120az: ... nor, told first naming nobody, of several named as its victims
                    # later ('resident has punched a staff member and kicked another', then each
                    # staff member named): one of theirs (the first named), not a crime against
                    # the default (here the resident himself, named after)
                    first = min(named_others, key=lambda key: people[key].order if key in people else 0)
                    moves.append((c, first))
                elif not c.mention.pronoun_by_default:
                    kept.add((c.mention.entry, c.mention.sentence, c.victim))
        for c, victim in moves:
            # ... unless its own sentence, naming nobody, tells another crime that stays the
            # default's ('Flat 3 door kicked off hinges, TV and handbag taken' is the caller's
            # burglary though a neighbour's is named later): one sentence, one person's loss
            # (v117v; not an object pronoun's, 'grabbed her son', which points elsewhere)
            if c.mention.pronoun_by_default or (c.mention.entry, c.mention.sentence, c.victim) not in kept:
                c.victim = victim
                # v118ap: an assault judged injured for the one it first pointed to is no
                # injury of one the record says was not injured ('Craig grabbed Alfie and threw
                # him onto the sofa ... Alfie not injured', beside his mother's bleeding nose)
                if c.category == "violence_with_injury" and victim in self._uninjured_victims:
                    c.category, c.hocr_code = "violence_without_injury", "105A"
                    c.cues = [cue for cue in c.cues if cue != "injury"]

    # ---------------------------------------------------------------- the record
    def read(self, record: Record, docs: list[Doc]) -> RecordTrace:
        """Candidates (and the full trace) for one record whose entries are ``docs``."""
        texts = [entry.text for entry in record.entries]
        people, persons = self._persons(docs)
        offences = [self._mentions(doc, entry, OFFENCES, texts[entry]) for entry, doc in enumerate(docs)]
        # 'partner Rob X agreed to leave': the first name of someone named is no offence word
        first_names = {p["first"] for found in persons for p in found if p.get("first")}
        if first_names:
            offences = [[m for m in found if m.text not in first_names] for found in offences]
        self._offence_starts = [[m.token_start for m in found] for found in offences]
        self._gender = self._genders(docs, persons)
        self._by_title_gender(people, persons)
        self._doers = self._find_doers(docs, persons, offences, self._offence_starts, self._gender)
        for key in self._doers:
            if "victim" not in people[key].roles:
                people[key].roles.add("suspect")
        speaks_of_victim = any(
            r["kind"] == "victim" for doc in docs for r in doc.user_data.get("crimedetect.roles", [])
        )
        default = self._default_victim(people, speaks_of_victim)
        # a child the parent reports for ('her daughter Ruby (15)') is the victim by default;
        # the adult stays it for an object pronoun of the other gender ('smashed her window'
        # in a record naming her son Leo (9))
        person_default = self._default_victim(people, speaks_of_victim, children=True)
        self._adult_default = default
        self._seen = []
        mentions: list[Mention] = []
        cues: list[Mention] = []
        record_cues: list[dict[str, Any]] = []
        for entry, doc in enumerate(docs):
            author = record.entries[entry].author
            text = texts[entry]
            # ... once the child has been named ('smashed her window. Her daughter Lily (9) was
            # asleep upstairs' is the mother's): in an earlier entry, or in this one before the
            # mention's first token (found once per entry, not once per mention)
            child_from = (
                0
                if person_default in self._seen
                else min((p["start"] + 1 for p in persons[entry] if p["key"] == person_default), default=None)
            )
            for m in offences[entry]:
                child_named = child_from is not None and m.token_start >= child_from
                own_default = person_default if child_named else default
                m.victim = self._victim_of(m, persons[entry], people, own_default, author, text, doc)
                mentions.append(m)
            # A cue's victim is the person its sentence names, set below once every offence
            # has its victim (so no _victim_of for cues: it would be overwritten).
            cues.extend(self._mentions(doc, entry, CUES, text))
            self._seen.extend(p["key"] for p in persons[entry])
            for cue in doc.user_data.get(RECORD_CUES, []):
                record_cues.append({**cue, "entry": entry})
        # The offence mentions no qualifier excludes (the record cues are weighed below).
        self._live_offences = [m for m in mentions if not m.excluded_by(self.effects)]
        # A cue (an injury) is the person its sentence names; one naming nobody, in a record
        # whose offences are against several people, is the last of them named before it in
        # the entry ('Keith punched Bradley in the face. ... Son's eye is swelling up' is
        # Bradley's), else anyone's. Before that, one naming nobody in the sentence of offence
        # words done to one person is that person's ('has headbutted the doorman, doorman
        # bleeding from nose' is the doorman's, not the customer's punched later).
        victims_named = {m.victim for m in self._live_offences if m.victim}
        sentence_victims: dict[tuple[int, tuple[int, int]], set[str]] = {}
        if len(victims_named) >= 2:
            for o in self._live_offences:
                if o.victim:
                    sentence_victims.setdefault((o.entry, o.sentence), set()).add(o.victim)
        for m in cues:
            low, high = m.sentence
            named = [
                p
                for p in persons[m.entry]
                if low <= p["start"] < high and people[p["key"]].roles.isdisjoint({"suspect", "professional"})
            ]
            m.victim = named[0]["key"] if len(named) == 1 else None
            if not named and len(victims_named) >= 2:
                here = sentence_victims.get((m.entry, m.sentence), set())
                if len(here) == 1:
                    m.victim = next(iter(here))
                    continue
                before = [p for p in persons[m.entry] if p["end"] <= low and p["key"] in victims_named]
                m.victim = max(before, key=lambda p: p["end"])["key"] if before else None
        age_of = {key: p.age for key, p in people.items()}
        found_cues = {c["qualifier"] for c in record_cues}
        # A third party's report the victim does not confirm may stay an incident (CRI); not
        # when a professional reported it in role (NCRS: recorded without confirmation).
        third_party = "third_party" in found_cues and "professional" not in found_cues
        unconfirmed = third_party and "victim_denies" in found_cues
        # v118ar: ... told before the victim's last word of not confirming it; an offence first
        # told in a later entry is the victim's own account given after all ('won't say what
        # happened' on the first visit, the robbery told two days later)
        last_denial = max((c["entry"] for c in record_cues if c["qualifier"] == "victim_denies"), default=-1)
        # ... nor one the victim, when traced, says did not happen (NCRS: no crime).
        denials = self._denials(mentions, persons, people, docs) if third_party else set()
        candidates: list[Candidate] = []
        dropped: list[tuple[Mention, str]] = []
        live_cues = self._live_cues(cues)
        # (only where offences are against several people: one victim's 'no injuries' then an
        # officer's 'bruising seen' is the same person's injury)
        self._uninjured = (
            {(c.entry, c.sentence) for c in cues if c.label == "injury" and c.has("negated")}
            if len(victims_named) >= 2
            else set()
        )
        # ... and the last entry where each victim is said to be uninjured (v118ap)
        self._uninjured_victims = {}
        for c in cues:
            if (c.entry, c.sentence) in self._uninjured and c.label == "injury" and c.victim:
                last = self._uninjured_victims.get(c.victim, c.entry)
                self._uninjured_victims[c.victim] = max(c.entry, last)
        # The live cues of each sentence, (cue name, cue) in order: what a candidate's
        # ``sentence_cues`` and ``own_cues`` are read from (grouped once, not per mention).
        sentence_live_cues: dict[tuple[int, tuple[int, int]], list[tuple[str, Mention]]] = {}
        for name, found in live_cues.items():
            for c in found:
                sentence_live_cues.setdefault((c.entry, c.sentence), []).append((name, c))
        # An offence whose victim is an organisation ('left the shop without paying') is that
        # organisation's in the whole record: the same offence told without naming anyone
        # ('walked out with a basket of meat') is not a second crime against the reporter.
        # So is damage or theft told by someone who speaks for a business ('Ladbrokes manager
        # Mr Paul ROYLE confirms ... through their front window').
        organisation_offences = {
            self.rules[m.rule_id].category
            for m in self._live_offences
            if self.rules[m.rule_id].victim == "organisation"
            or self._for_organisation(self.rules[m.rule_id].category, people.get(m.victim or ""))
        }
        # ... and a business called the IP ('IP is Greggs', 'Aggrieved - Boots') is the victim
        # of the property crimes told without naming anyone else.
        if any(_business_as_victim(doc, persons[entry]) for entry, doc in enumerate(docs)):
            organisation_offences |= _ORGANISATION_PROPERTY | {"burglary"}
        names_children = [_may_count_children(text, self.words.child_group_words) for text in texts]
        # a burglary takes in the damage done to the burgled home's door (v119pb: the
        # landlord's door is no crime of its own there)
        burgled = any(self.rules[m.rule_id].category == "burglary" for m in self._live_offences)
        # a business's till robbed and a person's own property taken: the till's robbery is
        # the business's, a victim of its own beside the person (one crime per victim)
        own_property = _own_property_taken(texts, self.words)
        # a vehicle the record names as a business's: damage told of a vehicle is the business's
        business_vehicle = _vehicle_of_organisation(texts, self.words)

        @cache
        def workers() -> set[str]:
            """Persons named after their job ('carer Natalie X'), read once when damage needs it:
            damage beside an assault on them, naming no one, is their employer's (v122b)."""
            return _workers_named(
                texts,
                [k for k, p in people.items() if k not in self._doers and "suspect" not in p.roles],
                self.words,
            )

        till_robberies: list[int] = []  # the candidates that rule gave the business

        @cache
        def listed_children() -> list[str]:
            """The children the record lists with ages (:func:`_listed_children`), read once."""
            return _listed_children(
                texts,
                {key.split(" ", 1)[0] for key in self._doers}
                | {key.split(" ", 1)[0] for key, p in people.items() if "suspect" in p.roles},
            )

        @cache
        def owners_listed(entry: int) -> list[str]:
            """The owners entry ``entry`` lists with amounts (:func:`_owners_listed`), read once."""
            excluded = {
                key
                for key, person in people.items()
                if key in self._doers or not person.roles.isdisjoint({"suspect", "professional"})
            }
            return _owners_listed(docs[entry], persons[entry], excluded)

        @cache
        def damage_owners() -> list[str]:
            """The owners of damaged things the record names (:func:`_damage_owners`), none a
            doer or suspect, in order, read once; empty when fewer than two."""
            owners: list[str] = []
            for entry, doc in enumerate(docs):
                for key in _damage_owners(doc, persons[entry], self.words):
                    if key not in owners and key not in self._doers and "suspect" not in people[key].roles:
                        owners.append(key)
            return owners if len(owners) >= 2 else []

        # a suspect whose age makes them a child ('Suspect Josh TATE is 8 years old'): a mark
        # only (a child suspect is no reason not to record)
        child_suspect = (
            {"child_suspect"} & {q for q, effect in self.effects.items() if effect == "mark"}
            if any(
                p.age is not None and p.age < 18 and ("suspect" in p.roles or key in self._doers)
                for key, p in people.items()
            )
            else set()
        )
        sentence_texts: dict[tuple[int, tuple[int, int]], str] = {}
        # the victims of offences against a person (no holder of a weapon)
        person_victims = {
            m.victim for m in self._live_offences if m.victim and self.rules[m.rule_id].victim == "person"
        }
        # the persons the record calls victims (IP1, IP2), none a doer
        called_victims = [
            key
            for key, person in sorted(people.items(), key=lambda item: item[1].order)
            if "victim" in person.roles
            and key not in self._doers
            and person.roles.isdisjoint({"suspect", "professional"})
        ]
        for m in mentions:
            rule = self.rules[m.rule_id]
            targets = {rule.category, rule.judge, m.rule_id}
            for cue in record_cues:
                # v119at: a record trigger told ``backward`` is a conclusion on what was told
                # up to then ('Accident, no offences' after the A&E visit): an offence first
                # told in a later entry (her later account of a push down the stairs) is new
                # information it cannot refute
                if cue.get("direction") == "backward" and m.entry > cue["entry"]:
                    continue
                # (v120ax: a record trigger's ``except_for`` holds here as for the others: the
                # lost property reference does not refute a pickpocket's act, `theft.stealth`)
                if (
                    self.effects.get(cue["qualifier"]) == "exclude"
                    and (not cue["applies_to"] or targets & set(cue["applies_to"]))
                    and not targets & set(cue.get("except_for", ()))
                ):
                    m.qualifiers.append(cue)
            excluded = m.excluded_by(self.effects)
            if excluded:
                dropped.append((m, "excluded: " + ", ".join(excluded)))
                continue
            category, code, used, why = self._judge(m, live_cues, age_of, texts[m.entry])
            if category is None:
                dropped.append((m, "judged: " + why))
                continue
            denied = any(
                (victim, kind) == (m.victim, rule.category) and entry > m.entry
                for victim, kind, entry in denials
            )
            unconfirmed_here = unconfirmed and m.entry <= last_denial
            if (
                (unconfirmed_here or denied)
                and rule.victim == "person"
                and not _own_account(texts[m.entry], m)
            ):
                if category != "rape":
                    says = "denies" if denied else "does not confirm"
                    dropped.append((m, f"judged: third-party report the victim {says}"))
                    continue
                # A rape report is never dropped: unconfirmed, it needs an N100 if not recorded.
                used = [*used, "unconfirmed", "victim_denies"]
            victims = [m.victim or UNKNOWN]
            holder = None
            till_robbery = (
                category == "robbery"
                and own_property
                and rule.victim == "person"
                and _takes_till(docs[m.entry], m, self.words)
            )
            if till_robbery:
                till_robberies.append(len(candidates))
            if rule.victim == "state":
                victims = [STATE]
                holder = self._holder(m, persons[m.entry], people, person_victims)
            elif (
                rule.victim == "organisation"
                or self._for_organisation(category, people.get(m.victim or ""))
                or (
                    category in _ORGANISATION_PROPERTY
                    and m.victim_by_default
                    and _names_premises(docs[m.entry], m)
                )
                or (
                    rule.category in _ORGANISATION_PROPERTY
                    and category == rule.category
                    and _owned_by_organisation(texts[m.entry], m, self.words.organisation_words)
                )
                or till_robbery
                or (
                    category == rule.category == "criminal_damage_arson"
                    and not burgled
                    and _let_by_organisation(texts[m.entry], m, self.words.organisation_words)
                )
                or (
                    category == rule.category == "criminal_damage_arson"
                    and business_vehicle
                    and _tells_of_vehicle(docs[m.entry][m.sentence[0] : m.sentence[1]].text, self.words)
                )
                or (
                    rule.category in organisation_offences
                    and category == rule.category
                    and (m.victim_by_default or self._only_reporter(people.get(m.victim or "")))
                )
                or (
                    category == rule.category == "criminal_damage_arson"
                    and not burgled
                    and (
                        (m.victim in workers() and m.victim not in m.text)
                        or (m.victim in (None, UNKNOWN) and bool(workers()))
                        or _speaks_for_workplace(docs[m.entry], m, self.words)
                    )
                    and not _personal_thing(docs[m.entry], m, self.words)
                )
            ):
                victims = [ORGANISATION]
            elif (
                category == "criminal_damage_arson"
                and rule.victim == "person"
                and (owners := damage_owners())
                and (m.victim_by_default or m.victim in owners)
            ):
                # v119po: 'car well alight ... Next car parked behind also has its bumper melted.
                # ... Clio owner is Miss Abbie X': one damage per owner the record names, and
                # the record's default victim keeps theirs
                victims = [*owners, *([m.victim] if m.victim and m.victim not in owners else [])]
            elif names_children[m.entry] and (
                children := _counted_children(
                    texts[m.entry], m, self._counted_children, self.words.number_words
                )
            ):
                victims = children
            elif code in self.per_child_codes and len(children := listed_children()) >= 2:
                # 'MORGAN children: Jayden (9), Mia (6), Ruby (3) ... child neglect': each
                # child neglected is a victim, one crime each
                victims = children
            elif (
                category == "theft"
                and rule.victim == "person"
                and (owners := owners_listed(m.entry))
                and (m.victim_by_default or m.victim in owners)
            ):
                # 'money missing: Mrs Edith X £60 from her handbag, Mr Arthur Y £35 from his
                # drawer': each owner lost their own property, one theft each (not the home's)
                victims = owners
            elif (
                rule.victim == "person"
                and m.victim
                and (both := self._both(texts[m.entry], m, people, default, texts))
            ):
                # 'exposed himself to Phoebe and her friend Isla': both were its victims
                victims = both
            elif (
                m.victim_by_default
                and len(called_victims) >= 2
                and m.victim in called_victims
                and rule.victim == "person"
                and category in _SHARED_BY_CALLED_VICTIMS
            ):
                # 'IP1 Aaron X 16, IP2 Kyle Y 16 ... robbed at knifepoint': offence words naming
                # nobody, in a record that calls several people victims, were done to each
                victims = called_victims
            elif (
                rule.victim == "person"
                and (listed := self._listed_then_plural(docs[m.entry], m, persons[m.entry], people))
                and (m.victim_by_default or m.victim in listed)
            ):
                # 'Ana X, Bogdan Y and Ilie Z ... they were made to work': each listed was
                # a victim of it
                victims = listed
            elif self._plural(docs[m.entry], m):
                # 'he and his wife Anya X were leaving when a man shouted at them': a
                # companion is one of the victims though 'husband' alone makes a suspect
                named = [
                    key
                    for key, person in sorted(people.items(), key=lambda item: item[1].order)
                    if "professional" not in person.roles
                    and ("suspect" not in person.roles or "companion" in person.roles)
                    and key not in self._doers
                    # 'Mrs MAHMOOD' when Tariq and Nasreen MAHMOOD are both named in full
                    and not any(other.endswith(" " + key) for other in people)
                ]
                # ... not the caller who tells it of others ('Mrs X says her daughter Ellie (13)
                # and Ellie's friend Maya Y (13) were ... looking at them')
                tellers = self._telling_of_others(docs[m.entry], persons[m.entry], m, people)
                if len([key for key in named if key not in tellers]) >= 2:
                    named = [key for key in named if key not in tellers]
                if 2 <= len(named) <= 8:
                    victims = named
            marks = sorted(
                child_suspect
                | {q["qualifier"] for q in m.qualifiers if self.effects.get(q["qualifier"]) != "exclude"}
                | {
                    c["qualifier"]
                    for c in record_cues
                    if self.effects.get(c["qualifier"]) == "mark"
                    and (not c["applies_to"] or {category, *targets} & set(c["applies_to"]))
                }
            )
            in_sentence = [
                (name, c.end <= m.start or c.start >= m.end)
                for name, c in sentence_live_cues.get((m.entry, m.sentence), ())
            ]
            sentence_text = sentence_texts.get((m.entry, m.sentence))
            if sentence_text is None:  # sliced from the entry: Span.text rebuilds it token by token
                words = docs[m.entry][m.sentence[0] : m.sentence[1]]
                sentence_text = texts[m.entry][words.start_char : words.end_char]
                sentence_texts[(m.entry, m.sentence)] = sentence_text
            for victim in victims:
                candidates.append(
                    Candidate(
                        category=category,
                        victim=victim,
                        mention=m,
                        rule_id=m.rule_id,
                        hocr_code=code,
                        confidence=rule.confidence,
                        cues=sorted(set(used) | set(marks)),
                        sentence_cues=frozenset(name for name, outside in in_sentence if outside),
                        own_cues=frozenset(name for name, outside in in_sentence if not outside),
                        sentence_text=sentence_text,
                        holder=holder,
                    )
                )
        # ... only when robbery words name a person robbed beside it ('handed over his
        # iPhone'): else ('pocketed her phone' read as a theft) the till's robbery stays with
        # the person it was given to
        if till_robberies and not any(
            c.category == "robbery"
            and c.victim not in (ORGANISATION, UNKNOWN)
            and not c.mention.victim_by_default
            for c in candidates
        ):
            for i in till_robberies:
                candidates[i] = replace(candidates[i], victim=candidates[i].mention.victim or UNKNOWN)
        self._to_the_one_named(candidates, people)
        for c in candidates:
            person = people.get(c.victim)
            c.victim_suspected = c.victim in self._doers or (
                person is not None and "suspect" in person.roles and "victim" not in person.roles
            )
        return RecordTrace(
            mentions=mentions,
            cues=cues,
            candidates=candidates,
            dropped=dropped,
            record_cues=record_cues,
            persons={k: {"name": k, "roles": sorted(p.roles), "age": p.age} for k, p in people.items()},
        )
