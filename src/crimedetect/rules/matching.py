"""A fast, anchor-indexed phrase matcher for the rule files' phrase patterns.

spaCy's ``Matcher`` evaluates set predicates (``{"LEMMA": {"IN": [...]}}``) in Python for
every token and every pattern that could start there; with a few hundred alternatives-heavy
patterns that costs ~20 ms per 150-word record. Phrase patterns here are instead compiled
to slots and indexed by the words of their first slot, so each token costs one dictionary
look-up and only patterns anchored at that token are tried. Raw spaCy token patterns (lists
of dicts, for what phrases cannot say) still go through a spaCy ``Matcher``.

Matching works on the token attribute arrays of a ``Doc`` (``LEMMA``, ``LOWER`` hashes), so a
pass over a document never creates ``Token`` objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from spacy.attrs import IS_DIGIT, IS_PUNCT, IS_TITLE, LEMMA, LIKE_NUM, LOWER, ORTH
from spacy.matcher import Matcher
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.vocab import Vocab

from crimedetect.rules.language import QUOTES, TOKEN_ARRAYS, expand_patterns, lemma_table, lemmatise

ANY = "any"

#: The bit of :attr:`TokenArrays.flags` each token-class slot tests.
_FLAG = {"num": 1, "name": 2, "word": 4, "digit": 8}


@dataclass(frozen=True)
class Slot:
    """One pattern position: words by lemma or lower case, any token, or a gap of 0..n tokens."""

    attr: str  # "lemma", "lower", "num" (a number), "digit" (digits only), "name" (title case),
    # "word" (no punctuation) or "any"
    values: frozenset[int]
    optional: bool = False
    gap: int = 0  # >0: this slot is a run of 0..gap arbitrary tokens


def compile_phrase(pattern: str, tokenizer: Tokenizer, vocab: Vocab, lookup: bool = True) -> list[Slot]:
    """A phrase in the rule-file language as slots (see :mod:`crimedetect.rules.schema`)."""
    table = lemma_table() if lookup else None
    strings = vocab.strings
    slots: list[Slot] = []
    for raw in pattern.split():
        optional = len(raw) > 1 and raw.endswith("?")
        word = raw[:-1] if optional else raw
        if re.fullmatch(r"\*\d*", word):
            slots.append(Slot(ANY, frozenset(), gap=int(word[1:] or 1)))
            continue
        if word in ("<num>", "<digit>", "<name>", "<word>"):
            slots.append(Slot(word[1:-1], frozenset(), optional))
            continue
        if word == "'":
            slots.append(Slot("lower", frozenset(strings.add(q) for q in QUOTES), optional))
            continue
        if word.startswith("="):
            values = frozenset(strings.add(w) for w in word[1:].lower().split("|") if w)
            slots.append(Slot("lower", values, optional))
            continue
        if "|" in word:
            values = frozenset(strings.add(lemmatise(w, table)) for w in word.split("|") if w)
            slots.append(Slot("lemma", values, optional))
            continue
        pieces = [t.text for t in tokenizer(word)]
        if len(pieces) > 1 and optional:
            raise ValueError(f"optional slot {raw!r} splits into several tokens")
        for piece in pieces:
            slots.append(Slot("lemma", frozenset({strings.add(lemmatise(piece, table))}), optional))
    if not slots or slots[0].attr in (ANY, "name", "word") or slots[0].optional:
        raise ValueError(f"phrase {pattern!r} must start with a required word")
    return slots


class TokenArrays(NamedTuple):
    """What phrase matching reads of a doc's tokens, as plain lists (no Token objects)."""

    lemmas: list[int]  # LEMMA hashes
    lowers: list[int]  # LOWER hashes
    flags: list[int]  # bits: 1 like a number, 2 title case (a name: 'kicked Aaron'), 4 not punctuation
    words: frozenset[int]  # every lemma and lower-case form in the doc


def token_arrays(doc: Doc) -> TokenArrays:
    """The doc's token arrays, read once and kept in ``doc.user_data`` for the next matcher:
    the offence, context and victim components all match on the same doc. They read lemmas
    but never change them; the lemmatizer, which sets them, drops the kept arrays."""
    found = doc.user_data.get(TOKEN_ARRAYS)
    if found is not None and len(found.lemmas) == len(doc):
        return found
    array = doc.to_array([LEMMA, LOWER, LIKE_NUM, IS_TITLE, IS_PUNCT, IS_DIGIT])
    lemmas = array[:, 0].tolist()
    lowers = array[:, 1].tolist()
    number, title, punct, digit = array[:, 2], array[:, 3], array[:, 4], array[:, 5]
    flags = (
        number * _FLAG["num"] | title * _FLAG["name"] | (1 - punct) * _FLAG["word"] | digit * _FLAG["digit"]
    ).tolist()
    found = TokenArrays(lemmas, lowers, flags, frozenset(lemmas).union(lowers))
    doc.user_data[TOKEN_ARRAYS] = found
    return found


#: (rule id, slots, the word sets a match needs besides its first, the plain tail or None).
#: The plain tail is set when every slot after the first is one required word slot
#: (lemma or lower case): ``((is_lemma, values), ...)``, matched without recursion.
_Entry = tuple[
    str, tuple[Slot, ...], tuple[frozenset[int], ...], tuple[tuple[bool, frozenset[int]], ...] | None
]

#: A pattern indexed by its second word: (rule id, the rest of its plain tail after that
#: word, or None where :meth:`PhraseSet._ends` follows its slots, the slots, the needs).
_Plain = tuple[tuple[bool, frozenset[int]], ...]
_Next = tuple[str, _Plain | None, tuple[Slot, ...], tuple[frozenset[int], ...]]

#: The patterns sharing a first word, compiled for matching: (rule ids of one-word patterns,
#: the patterns whose second slot is one required word, by that word's lemma and by its lower
#: case, and the rest as (rule id, slots, needs): a gap, an optional or any word second).
_Group = tuple[
    tuple[str, ...],
    dict[int, list[_Next]],
    dict[int, list[_Next]],
    tuple[tuple[str, tuple[Slot, ...], tuple[frozenset[int], ...]], ...],
]


def _compile_group(entries: list[_Entry]) -> _Group:
    """One first word's patterns, indexed by their second word where it is one required word."""
    singles: list[str] = []
    by_lemma: dict[int, list[_Next]] = {}
    by_lower: dict[int, list[_Next]] = {}
    others: list[tuple[str, tuple[Slot, ...], tuple[frozenset[int], ...]]] = []
    for rule_id, slots, needs, plain in entries:
        if len(slots) == 1:
            singles.append(rule_id)
            continue
        second = slots[1]
        if second.attr not in ("lemma", "lower") or second.optional or second.gap:
            others.append((rule_id, slots, needs))
            continue
        index = by_lemma if second.attr == "lemma" else by_lower
        entry = (rule_id, plain[1:] if plain is not None else None, slots, needs)
        for value in second.values:
            index.setdefault(value, []).append(entry)
    return tuple(singles), by_lemma, by_lower, tuple(others)


_KNOWN_WORDS: dict[int, frozenset[str]] = {}
_SUFFIXES = ("s", "es", "d", "ed", "ing", "en", "n", "er")


def _known_words(table: Any) -> frozenset[str]:
    """Every word and lemma of the lookup table (real words are never typos), once per process."""
    key = id(table)
    if key not in _KNOWN_WORDS:
        _KNOWN_WORDS[key] = frozenset(str(v) for v in table.values())
    return _KNOWN_WORDS[key]


def _deletes(word: str) -> set[str]:
    """The word and each string one deletion away (SymSpell keys for distance 1)."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _edits(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    out.update(a + c + b[1:] for a, b in splits if b for c in letters)
    out.update(a + c + b for a, b in splits for c in letters)
    out.discard(word)
    return out


def within_one(a: str, b: str) -> bool:
    """Whether the optimal-string-alignment (Damerau-Levenshtein) distance is at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :] or (a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :])
    return a[i + 1 :] == b[i:] if la > lb else a[i:] == b[i + 1 :]


class TypoIndex:
    """A SymSpell-style deletion index over pattern words and their inflections.

    ``correct(word)`` returns the one indexed word within Damerau-Levenshtein distance 1, or
    None when there is none or several (an ambiguous typo is left alone)."""

    def __init__(self, words: dict[str, str], min_length: int) -> None:
        self.words = words  # surface form -> lemma
        self.min_length = min_length
        self._deletes: dict[str, list[str]] = {}
        for word in words:
            for key in _deletes(word):
                self._deletes.setdefault(key, []).append(word)

    def correct(self, word: str) -> str | None:
        if len(word) < self.min_length - 1:
            return None
        found = {c for key in _deletes(word) for c in self._deletes.get(key, ()) if within_one(word, c)}
        return found.pop() if len(found) == 1 else None


class PhraseSet:
    """Rules (id -> phrase or raw patterns) compiled for fast matching on a ``Doc``."""

    def __init__(self, vocab: Vocab, tokenizer: Tokenizer, lookup: bool = True) -> None:
        self.vocab = vocab
        self.tokenizer = tokenizer
        self.lookup = lookup
        self._by_lemma: dict[int, list[_Entry]] = {}
        self._by_lower: dict[int, list[_Entry]] = {}
        self._by_num: list[_Entry] = []
        self._raw = Matcher(vocab, validate=True)
        self._has_raw = False
        # For each raw pattern, the word sets a document must hold (as lower-case forms or
        # lemmas) for it to match at all: one set per required token with literal values.
        self._raw_needs: list[tuple[frozenset[int], ...]] = []
        self._compiled: tuple[dict[int, _Group], dict[int, _Group], _Group | None] | None = None
        self.typo_min_length = 0  # >0: typo tolerance on (see enable_typos)
        self._typos: TypoIndex | None = None
        self._typo_cache: dict[int, tuple[int, int] | None] = {}
        self._typo_clean: set[int] = set()  # lower cases known to need no correction
        self._surface: set[str] = set()  # the words as written in the phrases

    def enable_typos(self, min_length: int = 6) -> None:
        """Match misspelt tokens to pattern words of ``min_length`` letters or more."""
        self.typo_min_length = min_length
        self._typos = None
        self._typo_cache = {}
        self._typo_clean = set()

    def _typo_index(self) -> TypoIndex:
        """Built on first use, after every pattern was added: pattern words and inflections."""
        strings = self.vocab.strings
        table = lemma_table() if self.lookup else None
        lemmas: set[str] = set()
        lowers: set[str] = set()
        entries = [e for group in self._by_lemma.values() for e in group]
        entries += [e for group in self._by_lower.values() for e in group] + self._by_num
        for _, slots, _, _ in entries:
            for slot in slots:
                if slot.attr == "lemma":
                    lemmas.update(strings[v] for v in slot.values)
                elif slot.attr == "lower":
                    lowers.update(strings[v] for v in slot.values)
        words: dict[str, str] = {}
        for word in lowers | self._surface:
            words[word] = lemmatise(word, table)
        for lemma in lemmas:
            words[lemma] = lemma
            stems = {lemma, lemma[:-1]} | ({lemma + lemma[-1]} if lemma[-1:] not in "aeiouwy" else set())
            for stem in stems:
                for suffix in _SUFFIXES:
                    form = stem + suffix
                    if table is not None and table.get(form) == lemma:
                        words[form] = lemma
        words = {w: lem for w, lem in words.items() if w.isalpha() and len(w) >= self.typo_min_length}
        return TypoIndex(words, self.typo_min_length)

    def _ambiguous(self, word: str, form: str, table: Any) -> bool:
        """Whether another real word is as close to ``word`` as the pattern word ``form``
        ('wanring': warning or wanking?). Rare (once per corrected word), so a plain scan."""
        if table is None:
            return False
        known = _known_words(table)
        lemma = self._typos.words[form] if self._typos else form
        for edit in _edits(word):
            if edit != form and (edit in table or edit in known) and lemmatise(edit, table) != lemma:
                return True
        return False

    def _correct_typos(self, doc: Doc, lemmas: list[int], lowers: list[int]) -> bool:
        """Replace, in place, the lemma and lower of each misspelt token by its pattern word's;
        whether any was replaced."""
        corrected = False
        strings = self.vocab.strings
        by_lemma, by_lower = self._by_lemma, self._by_lower
        cache = self._typo_cache
        clean = self._typo_clean
        orths: list[int] | None = None
        for i in [i for i, lower in enumerate(lowers) if lower not in clean]:
            lower = lowers[i]
            if lemmas[i] in by_lemma or lower in by_lower:
                continue
            hit = cache.get(lower, False)
            if hit is False:
                hit = None
                word = strings[lower]
                if len(word) >= self.typo_min_length - 1 and word.isalpha() and word.isascii():
                    if self._typos is None:
                        self._typos = self._typo_index()
                    table = lemma_table() if self.lookup else None
                    known = table is not None and (word in table or word in _known_words(table))
                    form = None if known else self._typos.correct(word)
                    if form is not None and self._ambiguous(word, form, table):
                        form = None
                    if form is not None and form != word:
                        hit = (strings.add(self._typos.words[form]), strings.add(form))
                cache[lower] = hit
            if hit is None:
                clean.add(lower)
                continue
            if orths is None:
                orths = doc.to_array([ORTH]).tolist()
            if strings[orths[i]].islower():  # never a name or acronym in capitals
                lemmas[i], lowers[i] = hit
                corrected = True
        return corrected

    def add(self, rule_id: str, patterns: list[str | list[dict[str, Any]]]) -> None:
        """Add a rule's patterns; raises ValueError on a bad one."""
        self._compiled = None
        for pattern in expand_patterns(patterns, self.tokenizer):
            if isinstance(pattern, str):
                self._surface.update(re.findall(r"[a-z]+", pattern.lower()))
                slots = tuple(compile_phrase(pattern, self.tokenizer, self.vocab, self.lookup))
                # The words a match needs besides its first: a document lacking one is skipped.
                needs = tuple(s.values for s in slots[1:] if s.values and not s.optional and not s.gap)
                tail = slots[1:]
                plain = (
                    tuple((s.attr == "lemma", s.values) for s in tail)
                    if all(s.attr in ("lemma", "lower") and not s.optional and not s.gap for s in tail)
                    else None
                )
                entry = (rule_id, slots, needs, plain)
                if slots[0].attr == "num":
                    self._by_num.append(entry)
                    continue
                index = self._by_lemma if slots[0].attr == "lemma" else self._by_lower
                for value in slots[0].values:
                    index.setdefault(value, []).append(entry)
            else:
                self._raw.add(rule_id, [[dict(token) for token in pattern]])
                self._has_raw = True
                self._raw_needs.append(self._raw_pattern_needs(pattern))

    def _raw_pattern_needs(self, pattern: list[dict[str, Any]]) -> tuple[frozenset[int], ...]:
        """The word sets a document must hold for a raw token pattern to match: for each
        required token (no ``OP``, or ``+``) that names literal words (``LOWER``, ``LEMMA``,
        ``ORTH``, ``TEXT`` as a string or ``IN`` list), those words' hashes as written and
        lower-cased. A token matches its word only if the document holds it, so a document
        lacking one of the sets cannot match the pattern (see __call__)."""
        strings = self.vocab.strings
        needs: list[frozenset[int]] = []
        for token in pattern:
            if token.get("OP", "+") != "+":
                continue
            values: list[str] = []
            for key, value in token.items():
                if key.upper() in ("LOWER", "LEMMA", "ORTH", "TEXT"):
                    if isinstance(value, str):
                        values.append(value)
                    elif isinstance(value, dict) and set(value) == {"IN"}:
                        values.extend(value["IN"])
            if values:
                needs.append(frozenset(strings.add(w) for v in values for w in (v, v.lower())))
        return tuple(needs)

    def _raw_could_match(self, present: frozenset[int]) -> bool:
        """Whether some raw pattern finds every word it needs among ``present``."""
        return any(all(not present.isdisjoint(words) for words in needs) for needs in self._raw_needs)

    @staticmethod
    def _ends(
        slots: tuple[Slot, ...], k: int, i: int, lemmas: list[int], lowers: list[int], nums: list[int], n: int
    ) -> int:
        """The furthest end of a match of slots[k:] starting at token i, or -1.

        Follows every way a partial match can go at once (the set of token positions it can
        have reached after each slot), so gaps and optional words cost no recursion."""
        first = slots[k] if k < len(slots) else None
        if first is not None and not first.gap and not first.optional and first.attr in ("lemma", "lower"):
            # most tries fail on the very next word: say so before building position sets
            if i >= n or (lemmas[i] if first.attr == "lemma" else lowers[i]) not in first.values:
                return -1
        positions = {i}
        for slot in slots[k:]:
            if slot.gap:
                positions = {p + skip for p in positions for skip in range(slot.gap + 1) if p + skip <= n}
                continue
            attr, values = slot.attr, slot.values
            reached = set(positions) if slot.optional else set()
            for p in positions:
                if p < n:
                    if attr in _FLAG:
                        hit = nums[p] & _FLAG[attr]
                    else:
                        hit = attr == ANY or (lemmas[p] if attr == "lemma" else lowers[p]) in values
                    if hit:
                        reached.add(p + 1)
            if not reached:
                return -1
            positions = reached
        return max(positions)

    def _compile(self) -> tuple[dict[int, _Group], dict[int, _Group], _Group | None]:
        """The pattern index by first word, compiled on first use after the last ``add``."""
        self._compiled = (
            {value: _compile_group(entries) for value, entries in self._by_lemma.items()},
            {value: _compile_group(entries) for value, entries in self._by_lower.items()},
            _compile_group(self._by_num) if self._by_num else None,
        )
        return self._compiled

    def __call__(self, doc: Doc) -> list[tuple[str, int, int]]:
        """(rule id, start, end) matches, the longest per rule where matches overlap, in order."""
        arrays = token_arrays(doc)
        lemmas, lowers, nums, words = arrays
        n = len(lemmas)
        # Raw patterns run through spaCy's Matcher only when the document, as written (before
        # typo correction), holds every word one of them needs.
        run_raw = self._has_raw and self._raw_could_match(words)
        if self.typo_min_length:
            lemmas, lowers = list(lemmas), list(lowers)  # corrected here, not in the shared arrays
            if self._correct_typos(doc, lemmas, lowers):
                words = frozenset(lemmas).union(lowers)
        found: dict[str, list[tuple[int, int]]] = {}
        groups_by_lemma, groups_by_lower, num_group = self._compiled or self._compile()
        lemma_group, lower_group = groups_by_lemma.get, groups_by_lower.get
        disjoint = words.isdisjoint
        # One look-up per token and attribute finds the few groups of patterns starting there.
        for i in range(n):
            by_lemma, by_lower = lemma_group(lemmas[i]), lower_group(lowers[i])
            number = num_group if num_group is not None and nums[i] & _FLAG["num"] else None
            if by_lemma is None and by_lower is None and number is None:
                continue
            for group in (by_lemma, by_lower, number):
                if group is None:
                    continue
                singles, second_lemma, second_lower, others = group
                for rule_id in singles:
                    found.setdefault(rule_id, []).append((i, i + 1))
                if i + 1 < n:
                    for nexts in (second_lemma.get(lemmas[i + 1]), second_lower.get(lowers[i + 1])):
                        if not nexts:
                            continue
                        for rule_id, rest, slots, needs in nexts:
                            if rest is not None:  # plain words only: no gaps to follow
                                end = i + 2
                                for is_lemma, values in rest:
                                    if end >= n or (lemmas[end] if is_lemma else lowers[end]) not in values:
                                        end = -1
                                        break
                                    end += 1
                            elif needs and any(map(disjoint, needs)):
                                continue  # a document lacking a word the pattern needs
                            else:
                                end = self._ends(slots, 2, i + 2, lemmas, lowers, nums, n)
                            if end > i:
                                found.setdefault(rule_id, []).append((i, end))
                for rule_id, slots, needs in others:
                    if needs and any(map(disjoint, needs)):
                        continue
                    end = self._ends(slots, 1, i + 1, lemmas, lowers, nums, n)
                    if end > i:
                        found.setdefault(rule_id, []).append((i, end))
        if run_raw:
            strings = self.vocab.strings
            for match_id, start, end in self._raw(doc):
                found.setdefault(strings[match_id], []).append((start, end))
        result: list[tuple[str, int, int]] = []
        for rule_id, spans in found.items():
            if len(spans) == 1:
                result.append((rule_id, *spans[0]))
                continue
            spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
            taken: list[tuple[int, int]] = []
            for start, end in spans:
                if all(end <= s or start >= e for s, e in taken):
                    taken.append((start, end))
            result.extend((rule_id, s, e) for s, e in taken)
        result.sort(key=lambda m: (m[1], m[2], m[0]))
        return result
