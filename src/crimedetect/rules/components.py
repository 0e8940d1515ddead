"""The registered spaCy components of the rules pipeline.

- ``crimedetect_offences``: offence and cue patterns from ``offence_patterns.yaml`` (Matcher,
  lemma-aware) -> ``doc.spans["offences"]`` (label = category, id = rule id) and
  ``doc.spans["cues"]`` (label = cue name, id = rule id);
- ``crimedetect_context``: ConText-style qualifiers from ``context_rules.yaml`` (trigger,
  direction, scope, maximum scope, terminators, pseudo-triggers) -> for each offence and cue
  span the qualifiers that reach it, in ``doc.user_data``;
- ``crimedetect_victims``: named persons (Firstname SURNAME, titles, ages) and the role words
  before them (IP, RP, ex partner, paramedic, ...) from ``victims.yaml``.

Each is built from its rule files by name and holds no lambdas, so pipelines pickle and can be
rebuilt in worker processes. Results go into ``doc.user_data`` under string keys as plain
lists and dicts.
"""

from __future__ import annotations

import re
from typing import Any

from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span

from crimedetect.rules.language import SENTENCES, lemma_table, token_sentences, uses_lookups
from crimedetect.rules.matching import PhraseSet
from crimedetect.rules.schema import RuleFileError, load_rules_dir

OFFENCES = "offences"
CUES = "cues"
QUALIFIERS = "crimedetect.qualifiers"
RECORD_CUES = "crimedetect.record_cues"
PERSONS = "crimedetect.persons"
#: ``doc.user_data`` key: the text the doc was made from, set by whoever made it (the
#: detector), since ``doc.text`` rebuilds the string from the tokens on every access
#: (~15 µs for a 60-token entry). Absent, components read ``doc.text``.
TEXT = "crimedetect.text"


def _add(matcher: PhraseSet, rule_id: str, patterns: list[Any], file: str) -> None:
    try:
        matcher.add(rule_id, patterns)
    except Exception as exc:  # spaCy raises MatchPatternError and others on bad token dicts
        raise RuleFileError(f"{file}: rule {rule_id}: bad pattern: {exc}") from exc


def _sentences(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) of each token's sentence: as the sentence splitter left them, else from
    the SENT_START array (no Span objects). Shared: do not modify the list."""
    found = doc.user_data.get(SENTENCES)
    if found is not None and len(found) == len(doc):
        return found
    return token_sentences(doc.to_array([SENT_START]).tolist())


class OffenceMatcher:
    """Finds offence and cue mentions with lemma-aware patterns from the rule files."""

    def __init__(self, nlp: Language, name: str, rules_dir: str | None = None) -> None:
        self.name = name
        self.rules_dir = rules_dir
        offences, _, _ = load_rules_dir(rules_dir)
        self.version = offences.version
        self.category = {rule.id: rule.category for rule in offences.rules}
        self.cue = {cue.id: cue.cue for cue in offences.cues}
        self.matcher = PhraseSet(nlp.vocab, nlp.tokenizer, uses_lookups(nlp))
        for rule in offences.rules:
            _add(self.matcher, rule.id, rule.patterns, "offence_patterns.yaml")
        for cue in offences.cues:
            _add(self.matcher, cue.id, cue.patterns, "offence_patterns.yaml")
        if offences.typos.enabled:
            self.matcher.enable_typos(offences.typos.min_length)

    def __call__(self, doc: Doc) -> Doc:
        offences: list[Span] = []
        cues: list[Span] = []
        for rule_id, start, end in self.matcher(doc):
            if rule_id in self.category:
                offences.append(Span(doc, start, end, label=self.category[rule_id], span_id=rule_id))
            else:
                cues.append(Span(doc, start, end, label=self.cue[rule_id], span_id=rule_id))
        doc.spans[OFFENCES] = offences
        doc.spans[CUES] = cues
        return doc


@Language.factory("crimedetect_offences", default_config={"rules_dir": None})
def create_offence_matcher(nlp: Language, name: str, rules_dir: str | None) -> OffenceMatcher:
    """Registered factory ``crimedetect_offences``."""
    return OffenceMatcher(nlp, name, rules_dir)


class ContextQualifier:
    """ConText-style qualifiers: each trigger reaches the offence and cue spans in its scope.

    A trigger looks ``forward``, ``backward`` or both ways from where it matched, as far as the
    end of its sentence (``scope: sentence``), its entry (``entry``) or the whole record
    (``record``: the assembly step applies those), cut at ``max_scope`` tokens and at the first
    terminator. A pseudo-trigger ('no further action', 'not only') that overlaps a trigger of
    the same qualifier cancels it. ``applies_to`` limits a rule to some categories,
    judgements, cues or offence rule ids (a terminator's ``applies_to`` names the qualifiers
    it ends).
    """

    def __init__(self, nlp: Language, name: str, rules_dir: str | None = None) -> None:
        self.name = name
        self.rules_dir = rules_dir
        offences, context, _ = load_rules_dir(rules_dir)
        self.version = context.version
        self.judge = {rule.id: rule.judge for rule in offences.rules}
        self.rules = {rule.id: rule for rule in context.rules}
        self.effects = {name: q.effect for name, q in context.qualifiers.items()}
        self.matcher = PhraseSet(nlp.vocab, nlp.tokenizer, uses_lookups(nlp))
        for rule in context.rules:
            _add(self.matcher, rule.id, rule.patterns, "context_rules.yaml")
        #: rule id -> (applies_to, except_for) as sets, looked up once per trigger
        self._reach = {
            rule.id: (frozenset(rule.applies_to), frozenset(rule.except_for)) for rule in context.rules
        }
        self._target_sets: dict[tuple[str, int, int], frozenset[str]] = {}

    def _targets(self, span: Span, group: str) -> frozenset[str]:
        """What a trigger's ``applies_to`` and ``except_for`` are compared with: the span's
        category or cue, and an offence rule's judgement and id (cached per label and rule id)."""
        key = (group, span.label, span.id)
        found = self._target_sets.get(key)
        if found is None:
            if group == OFFENCES:
                found = frozenset({span.label_, self.judge.get(span.id_, "none"), span.id_})
            else:
                found = frozenset({span.label_})
            self._target_sets[key] = found
        return found

    def _trace(self, doc: Doc, rule_id: str, start: int, end: int) -> dict[str, Any]:
        """What a qualified span records of the trigger that reached it."""
        rule = self.rules[rule_id]
        words = doc[start:end]
        return {
            "qualifier": rule.qualifier,
            "rule_id": rule_id,
            "effect": self.effects[rule.qualifier or ""],
            "start": words.start_char,
            "end": words.end_char,
            "text": words.text,
        }

    def __call__(self, doc: Doc) -> Doc:
        found = self.matcher(doc)
        triggers: list[tuple[str, int, int]] = []
        pseudo: list[tuple[str | None, int, int]] = []
        terminators: list[tuple[set[str], int]] = []
        for rule_id, start, end in found:
            rule = self.rules[rule_id]
            if rule.direction == "pseudo":
                pseudo.append((rule.qualifier, start, end))
            elif rule.direction == "terminate":
                terminators.append((set(rule.applies_to), start))
            else:
                triggers.append((rule_id, start, end))
        triggers = [
            t
            for t in triggers
            if not any(q == self.rules[t[0]].qualifier and s < t[2] and t[1] < e for q, s, e in pseudo)
        ]
        # Each span's (start, end, targets), read once per document.
        groups = {
            group: [(span.start, span.end, self._targets(span, group)) for span in doc.spans.get(group, [])]
            for group in (OFFENCES, CUES)
        }
        reached: dict[str, list[list[dict[str, Any]]]] = {
            g: [[] for _ in spans] for g, spans in groups.items()
        }
        record_cues: list[dict[str, Any]] = []
        sentences = _sentences(doc) if triggers else []
        for rule_id, start, end in triggers:
            rule = self.rules[rule_id]
            if rule.scope == "record":
                # (the direction goes with it: a ``backward`` record trigger reaches only the
                # mentions of its own and earlier entries, see extract)
                record_cues.append(
                    {
                        **self._trace(doc, rule_id, start, end),
                        "applies_to": list(rule.applies_to),
                        "except_for": list(rule.except_for),
                        "direction": rule.direction,
                    }
                )
                continue
            low, high = sentences[start] if rule.scope == "sentence" else (0, len(doc))
            ends = [pos for names, pos in terminators if (not names or rule.qualifier in names)]
            after = min([p for p in ends if p >= end] + [high])
            before = max([p + 1 for p in ends if p < start] + [low])
            if rule.max_scope:
                after = min(after, end + rule.max_scope)
                before = max(before, start - rule.max_scope)
            forward = rule.direction in ("forward", "bidirectional")
            backward = rule.direction in ("backward", "bidirectional")
            applies, excepted = self._reach[rule_id]
            trace = None  # built for the first span the trigger reaches (most reach none)
            for group, spans in groups.items():
                for index, (span_start, span_end, targets) in enumerate(spans):
                    # Where the span is first (cheap, and most spans lie outside the scope),
                    # then what it is.
                    inside = (forward and start <= span_start < after) or (
                        backward and before < span_end <= end
                    )
                    if not inside or (
                        span_start <= start and end <= span_end and span_end - span_start > end - start
                    ):
                        continue
                    if (applies and targets.isdisjoint(applies)) or not targets.isdisjoint(excepted):
                        continue
                    if trace is None:
                        trace = self._trace(doc, rule_id, start, end)
                    reached[group][index].append(trace)
        doc.user_data[QUALIFIERS] = reached
        doc.user_data[RECORD_CUES] = record_cues
        return doc


@Language.factory("crimedetect_context", default_config={"rules_dir": None})
def create_context_qualifier(nlp: Language, name: str, rules_dir: str | None) -> ContextQualifier:
    """Registered factory ``crimedetect_context``."""
    return ContextQualifier(nlp, name, rules_dir)


#: 'her daughter Ruby (15)', "son Alfie's (11)", 'son Leo aged 9'
_CHILD_BY_FIRST_NAME = re.compile(
    r"\b(?:son|daughter|child|grandson|granddaughter|stepson|stepdaughter|niece|nephew|sister|brother)\s+"
    r"(?P<first>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?:['\u2019]s)?\s*(?:\((?P<age>\d{1,2})\)|,?\s*aged\s+(?P<aged>\d{1,2}))"
)

#: What every :data:`_CHILD_BY_FIRST_NAME` match contains (the pattern is case-sensitive, and
#: 'grandson', 'stepdaughter' ... contain these): a text holding none has no such child, found
#: by a few substring tests instead of a regex search (most entries name no child).
_FAMILY_WORDS = ("son", "daughter", "child", "niece", "nephew", "sister", "brother")

_AGE_AFTER = re.compile(
    r"^\s*(?:\((\d{1,2})(?:\s*(?:yrs?|years?))?(?:\)|[,;]\s*(?i:dob|d\.o\.b|born)\b)"
    r"|,?\s*aged\s+(\d{1,2})\b"
    # '13-year-old', '14 yr old', '9 yrs'; not '2 years ago' or '2 yrs ago'
    r"|,?\s*(\d{1,2})[\s-]*(?:(?:yrs?|years?)[\s-]*old|yrs?\b(?![\s-]*ago)|yo)\b"
    # 'Liam HUNT, 9, was', 'Dean WEBB, 31.': a bare number between commas (or at the end);
    # v118aq: or before a date of birth in brackets ('Pt: Chloe X, 15 (DOB 14/08/2001)')
    r"|,\s*(\d{1,2})(?=\s*(?:[,;)]|\.(?:\s|$)|$|\(\s*(?i:dob|d\.o\.b|born)\b))"
    # v119av: the age in brackets after a date of birth ('Pt Kayleigh X DOB 03/2003 (14y)')
    r"|,?\s*(?i:dob|d\.o\.b\.?)[:\s]*\d{1,2}[/.-]\d{2,4}(?:[/.-]\d{2,4})?\s*\((\d{1,2})\s*(?i:y|yrs?|years?|yo)?\)"
    # 'Josh TATE is 8 years old'
    r"|,?\s*(?:is|was)\s+(?:only\s+|just\s+)?(\d{1,2})[\s-]*(?:years?|yrs?)[\s-]*old\b"
    # 'my daughter Amelia HART who is 13'
    r"|,?\s*who\s+is\s+(?:only\s+|just\s+)?(\d{1,2})\b(?!\s*(?:[:.]\d|am|pm|hrs|minutes|mins|days|weeks|months|miles|%))"
    # v120ay: a school year before the age in a referral ('Kacper X (Y3, 7)', '(Yr 10, 15)')
    r"|\s*\(\s*(?:Y|Yr|Year)\s*\d{1,2}\s*,\s*(\d{1,2})\s*\)"
    # v120ay: a bare age between the name and a lower-case word ('His son Tyler X 13 has come
    # home', 'Ava X 15 calling from'); not a time, a distance, a count of things or '5 mins ago'
    r"|\s+(\d{1,2})(?=\s+[a-z])(?!\s+(?:am|pm|hrs?|mins?|minutes|hours?|days?|weeks?|months?|years?|yrs?"
    r"|miles?|mph|times|x|percent|metres|meters|yards|feet|ft|children|kids|people|others|items|bags|doors|streets|houses|flats)\b))"
)


#: An age just before a name: 'her 13-year-old daughter Ella', 'a 14 yr old boy Tom', 'Boy, 9, Liam'.
_AGE_BEFORE = re.compile(
    r"\b(\d{1,2})[\s-]*(?:years?|yrs?)[\s-]*old\s+(?:[a-z]+\s+){0,2}$"
    r"|\b(?i:boy|girl|child|son|daughter|pupil|youth)\s*(?:,\s*|\(\s*)(\d{1,2})\s*[,)]\s*$"
)

#: '14', '3a': a house number
_HOUSE_NUMBER = re.compile(r"\d+[a-zA-Z]?")
#: a first name (with an age) and 'and' just before another named person: both share the surname
_FIRST_NAME_AND = re.compile(
    r"(?<![\w'\u2019])(?P<first>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\s*(?:\((?P<age>\d{1,2})\)\s*)?(?:and|&)\s+$"
)

#: Punctuation that ends a sentence: no role word before it names the person after it.
_SENTENCE_ENDS = frozenset({".", "!", "?"})

#: Quote marks that open a nickname after a role word ('suspect 'Kaz'').
_OPENING_QUOTES = frozenset({"'", '"', "\u2018", "\u201c"})

_AUXILIARIES = frozenset({"was", "is", "has", "had", "been", "being", "now", "later", "then", "also", "the"})


class PersonFinder:
    """Named persons (Firstname SURNAME, Mr SURNAME) with their roles and ages."""

    def __init__(self, nlp: Language, name: str, rules_dir: str | None = None) -> None:
        self.name = name
        self.rules_dir = rules_dir
        _, _, lexicon = load_rules_dir(rules_dir)
        self.version = lexicon.version
        self.not_surnames = {w.upper() for w in lexicon.not_surnames}
        self.place_words = {w.lower() for w in lexicon.place_words}
        self.person_verbs = {w.lower() for w in lexicon.person_verbs}
        self.professional_titles = set(lexicon.professional_titles)
        self.not_first_names = {w.lower() for w in lexicon.not_first_names}
        # family and gender words are no first names before a shared surname ('Mum and Jo KING')
        self.relation_words = {w.lower() for words in lexicon.gender_words.values() for w in words}
        self._lemmas = lemma_table() if uses_lookups(nlp) else None
        titles = "|".join(re.escape(t) for t in lexicon.titles)
        self.full_name = re.compile(
            rf"\b(?:(?P<title>{titles})\.?\s+)?"
            r"(?P<first>(?:[A-Z][a-z]+(?:-[A-Z][a-z]+)?|[A-Z]\.?)\s+)?"
            # v120az: a nickname in quotes after the first name ("Robert 'Robbie' FINCH")
            r"(?(first)(?:['\u2018\u2019\"][A-Z][a-z]+['\u2019\"]\s+)?)"
            # 'Kacey (7) RAWLINSON': a child's age between the first name and the surname
            r"(?:\((?P<inner_age>\d{1,2})\)\s+)?"
            # O'DOWD, D'SOUZA, McGUIRE as well as KERR and SMITH-JONES
            r"(?P<surname>(?:[A-Z]['\u2019]|Mc)?[A-Z]{2,}(?:[-'][A-Z]{2,})?)\b(?![a-z])"
        )
        self.kind = {role.id: role.kind for role in lexicon.roles}
        self.after = {role.id for role in lexicon.roles if role.position == "after"}
        self.matcher = PhraseSet(nlp.vocab, nlp.tokenizer, uses_lookups(nlp))
        for role in lexicon.roles:
            _add(self.matcher, role.id, role.patterns, "victims.yaml")

    @staticmethod
    def _just_after(doc: Doc, end: int, start: int, role_end: int) -> bool:
        """Role words at ``start`` follow a name ending at ``end``, with at most an age and
        'was/has been' between ('CRUMP (31) was arrested'), and name nobody else
        ('NOWAK (s/o PIKE in van)' says PIKE is the suspect)."""
        if not 0 <= start - end <= 5:
            return False
        if role_end < len(doc) and doc[role_end].is_upper and len(doc[role_end].text) > 1:
            return False
        if role_end + 1 < len(doc) and doc[role_end].is_title and doc[role_end + 1].is_upper:
            return False
        # 'victim Jade X, suspect 'Kaz' (believed ...)': a nickname in quotes is who it names
        if role_end + 1 < len(doc) and doc[role_end].text in _OPENING_QUOTES and doc[role_end + 1].is_title:
            return False
        return all(t.like_num or t.text in "()," or t.lower_ in _AUXILIARIES for t in doc[end:start])

    @staticmethod
    def _children_by_first_name(doc: Doc, text: str, persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Children named by first name and age after a family word ('her daughter Ruby (15)',
        'son Alfie (11)'): persons known by their first name (a relative, with their age)."""
        if not any(word in text for word in _FAMILY_WORDS):
            return []
        taken = {i for p in persons for i in range(p["start"], p["end"])}
        found = []
        for match in _CHILD_BY_FIRST_NAME.finditer(text):  # the doc's text, read once by the caller
            span = doc.char_span(match.start("first"), match.end("first"), alignment_mode="expand")
            if span is None or any(i in taken for i in range(span.start, span.end)):
                continue
            first = match.group("first")
            found.append(
                {
                    "name": first,
                    "surname": "",
                    "first": first,
                    "start": span.start,
                    "end": span.end,
                    "start_char": match.start("first"),
                    "end_char": match.end("first"),
                    "roles": ["relative"],
                    "age": int(match.group("age") or match.group("aged")),
                }
            )
        return found

    def _sharing_surname(
        self, doc: Doc, text: str, start: int, surname: str, roles: list[str], age_given: str | None
    ) -> list[dict[str, Any]]:
        """A first name joined by 'and' to a named person, with ages given ('Tyler (9) and
        Kacey (7) RAWLINSON': children listed): a person of the same surname, with the same
        roles. Not a couple named bare ('Couple Sam & Leanne X': which one it happened to is
        not said, and the first named would become the victim by default)."""
        listed = _FIRST_NAME_AND.search(text, max(0, start - 30), start)
        if listed is None or not (age_given or listed.group("age")):
            return []
        first = listed.group("first")
        if first.lower() in self.relation_words or not self._could_be_first_name(first):
            return []
        span = doc.char_span(listed.start("first"), listed.end("first"), alignment_mode="expand")
        if span is None:
            return []
        age = listed.group("age")
        return [
            {
                "name": f"{first} {surname}",
                "surname": surname,
                "first": first,
                "start": span.start,
                "end": span.end,
                "start_char": listed.start("first"),
                "end_char": listed.end("first"),
                "roles": list(roles),
                "age": int(age) if age else None,
            }
        ]

    def _could_be_first_name(self, first: str) -> bool:
        """Not a sentence-initial word: not listed, and not an inflected English word
        ('Circulated', 'Attended': the lookup table knows them)."""
        lower = first.lower()
        if lower in self.not_first_names:
            return False
        # a Latin plural's lemma is no inflection ('Maria' is not a form of 'mare')
        return self._lemmas is None or self._lemmas.get(lower, lower) == lower or lower.endswith("a")

    def __call__(self, doc: Doc) -> Doc:
        text = doc.user_data.get(TEXT)
        if text is None:
            text = doc.text
        found = self.matcher(doc)
        roles = [(self.kind[r], s, e) for r, s, e in found if r not in self.after]
        after = [(self.kind[r], s, e) for r, s, e in found if r in self.after]
        persons: list[dict[str, Any]] = []
        role_tokens = {i for _, s, e in roles for i in range(s, e)}
        for match in self.full_name.finditer(text):
            surname = match.group("surname")
            if surname in self.not_surnames or surname.split("-")[0] in self.not_surnames:
                continue
            if not (match.group("title") or match.group("first")):
                continue
            before = text[max(0, match.start() - 40) : match.start()].split()
            # 'at Asda HARROWFORD' is a place; 'Adult Social Care. Katie HAYES' is a person (the
            # place word ends a sentence or a clause).
            # ('belonging to Mr Ian CROFT': a title and a first name make a person)
            if (
                before
                and not (match.group("title") and match.group("first"))
                and before[-1][-1] not in ".,;:"
                and before[-1].lower() in self.place_words
                and not (len(before) > 1 and before[-2].lower().strip(",.") in self.person_verbs)
            ):
                continue
            first = (match.group("first") or "").strip()
            if any(word in self.place_words for word in first.lower().split()):
                continue
            # '14 Rowan KELSBY': a house number before a word and a town is an address
            if first and not match.group("title") and before and _HOUSE_NUMBER.fullmatch(before[-1]):
                continue
            if first and not match.group("title") and not self._could_be_first_name(first):
                continue
            span = doc.char_span(match.start(), match.end(), alignment_mode="expand")
            if span is None:
                continue
            age_match = _AGE_AFTER.match(text[match.end() : match.end() + 30]) or _AGE_BEFORE.search(
                text[max(0, match.start() - 40) : match.start()]
            )
            age = next((int(g) for g in age_match.groups() if g), None) if age_match else None
            if match.group("inner_age"):
                if not first:
                    continue
                age = int(match.group("inner_age"))
            # 'IP Jo X', 'IP - Jo X', 'susp is PIKE', 'RP neighbour Mrs X' (a role word between);
            # not 'IP states Adam FIELD came round' (a verb between: the name is what the IP
            # said, not the IP)
            named_before = {
                kind
                for kind, s, e in roles
                if e == span.start
                # 'thinks it's her ex Jamie NORTH': a role's wildcard ran into the first name
                or s < span.start < e <= span.end
                or (
                    span.start - e == 1
                    # (not a full stop: 'an argument about school. Kyle X' names no school)
                    and (
                        (doc[e].is_punct and doc[e].text not in _SENTENCE_ENDS)
                        or doc[e].lower_ in _AUXILIARIES
                        or e in role_tokens
                    )
                )
            }
            person_roles = sorted(
                named_before
                | {
                    kind
                    for kind, s, e in roles
                    # 'Lynne FOSTER, Tenancy Officer'; not 'IP - Laura X. Referral from ...',
                    # nor 'Victim Leanne X (IDVA referral)' (who referred her is no job of hers)
                    if "victim" not in named_before
                    and s >= span.end
                    and s - span.end <= 1
                    and kind == "professional"
                    and not any(t.text in (".", "!", "?", ";") for t in doc[span.end : s])
                }
                | ({"professional"} if match.group("title") in self.professional_titles else set())
                | {kind for kind, s, e in after if self._just_after(doc, span.end, s, e)}
            )
            if first and not match.group("title"):
                persons.extend(
                    self._sharing_surname(
                        doc, text, match.start(), surname, person_roles, match.group("inner_age")
                    )
                )
            persons.append(
                {
                    "name": " ".join(p for p in (first, surname) if p),
                    "surname": surname,
                    "first": first,
                    "start": span.start,
                    "end": span.end,
                    "start_char": match.start(),
                    "end_char": match.end(),
                    "roles": person_roles,
                    "age": age,
                }
            )
        persons.extend(self._children_by_first_name(doc, text, persons))
        doc.user_data[PERSONS] = persons
        doc.user_data["crimedetect.roles"] = [{"kind": kind, "start": s, "end": e} for kind, s, e in roles]
        # role words that name the person before them ('MARSH arrested'), for bare surnames
        doc.user_data["crimedetect.roles_after"] = [
            {"kind": kind, "start": s, "end": e} for kind, s, e in after
        ]
        return doc


@Language.factory("crimedetect_victims", default_config={"rules_dir": None})
def create_person_finder(nlp: Language, name: str, rules_dir: str | None) -> PersonFinder:
    """Registered factory ``crimedetect_victims``."""
    return PersonFinder(nlp, name, rules_dir)
