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
from typing import Any

from spacy.attrs import IS_TITLE, LEMMA, LIKE_NUM, LOWER, ORTH, SPACY
from spacy.matcher import Matcher
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.vocab import Vocab

from crimedetect.rules.language import QUOTES, lemma_table, lemmatise

ANY = "any"


@dataclass(frozen=True)
class Slot:
    """One pattern position: words by lemma or lower case, any token, or a gap of 0..n tokens."""

    attr: str  # "lemma", "lower", "num" (a number), "name" (title case) or "any"
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
        if word in ("<num>", "<name>"):
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
    if not slots or slots[0].attr in (ANY, "name") or slots[0].optional:
        raise ValueError(f"phrase {pattern!r} must start with a required word")
    return slots


def doc_text(doc: Doc) -> str:
    """``doc.text`` rebuilt from the ORTH and SPACY arrays (no Token objects)."""
    strings = doc.vocab.strings
    return "".join(
        strings[orth] + (" " if space else "") for orth, space in doc.to_array([ORTH, SPACY]).tolist()
    )


_Entry = tuple[str, tuple[Slot, ...], tuple[frozenset[int], ...]]

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
        self.typo_min_length = 0  # >0: typo tolerance on (see enable_typos)
        self._typos: TypoIndex | None = None
        self._typo_cache: dict[int, tuple[int, int] | None] = {}
        self._surface: set[str] = set()  # the words as written in the phrases

    def enable_typos(self, min_length: int = 6) -> None:
        """Match misspelt tokens to pattern words of ``min_length`` letters or more."""
        self.typo_min_length = min_length
        self._typos = None
        self._typo_cache = {}

    def _typo_index(self) -> TypoIndex:
        """Built on first use, after every pattern was added: pattern words and inflections."""
        strings = self.vocab.strings
        table = lemma_table() if self.lookup else None
        lemmas: set[str] = set()
        lowers: set[str] = set()
        entries = [e for group in self._by_lemma.values() for e in group]
        entries += [e for group in self._by_lower.values() for e in group] + self._by_num
        for _, slots, _ in entries:
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

    def _correct_typos(self, doc: Doc, lemmas: list[int], lowers: list[int]) -> None:
        """Replace, in place, the lemma and lower of each misspelt token by its pattern word's."""
        strings = self.vocab.strings
        by_lemma, by_lower = self._by_lemma, self._by_lower
        cache = self._typo_cache
        orths: list[int] | None = None
        for i, lower in enumerate(lowers):
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
                continue
            if orths is None:
                orths = doc.to_array([ORTH]).tolist()
            if strings[orths[i]].islower():  # never a name or acronym in capitals
                lemmas[i], lowers[i] = hit

    def add(self, rule_id: str, patterns: list[str | list[dict[str, Any]]]) -> None:
        """Add a rule's patterns; raises ValueError on a bad one."""
        for pattern in patterns:
            if isinstance(pattern, str):
                self._surface.update(re.findall(r"[a-z]+", pattern.lower()))
                slots = tuple(compile_phrase(pattern, self.tokenizer, self.vocab, self.lookup))
                # The words a match needs besides its first: a document lacking one is skipped.
                needs = tuple(s.values for s in slots[1:] if s.values and not s.optional and not s.gap)
                entry = (rule_id, slots, needs)
                if slots[0].attr == "num":
                    self._by_num.append(entry)
                    continue
                index = self._by_lemma if slots[0].attr == "lemma" else self._by_lower
                for value in slots[0].values:
                    index.setdefault(value, []).append(entry)
            else:
                self._raw.add(rule_id, [[dict(token) for token in pattern]])
                self._has_raw = True

    @staticmethod
    def _ends(
        slots: tuple[Slot, ...], k: int, i: int, lemmas: list[int], lowers: list[int], nums: list[int], n: int
    ) -> int:
        """The furthest end of a match of slots[k:] starting at token i, or -1."""
        if k == len(slots):
            return i
        slot = slots[k]
        best = -1
        if slot.gap:
            for skip in range(slot.gap, -1, -1):
                if i + skip <= n:
                    end = PhraseSet._ends(slots, k + 1, i + skip, lemmas, lowers, nums, n)
                    if end > best:
                        best = end
            return best
        if i < n:
            if slot.attr == "num":
                hit = bool(nums[i] & 1)
            elif slot.attr == "name":
                hit = bool(nums[i] & 2)
            else:
                hit = slot.attr == ANY or (lemmas[i] if slot.attr == "lemma" else lowers[i]) in slot.values
            if hit:
                best = PhraseSet._ends(slots, k + 1, i + 1, lemmas, lowers, nums, n)
        if slot.optional:
            best = max(best, PhraseSet._ends(slots, k + 1, i, lemmas, lowers, nums, n))
        return best

    def __call__(self, doc: Doc) -> list[tuple[str, int, int]]:
        """(rule id, start, end) matches, the longest per rule where matches overlap, in order."""
        array = doc.to_array([LEMMA, LOWER, LIKE_NUM, IS_TITLE])
        lemmas = array[:, 0].tolist()
        lowers = array[:, 1].tolist()
        # bit 1: like a number; bit 2: title case (a name: 'kicked Aaron')
        nums = (array[:, 2] | (array[:, 3] << 1)).tolist()
        n = len(lemmas)
        if self.typo_min_length:
            self._correct_typos(doc, lemmas, lowers)
        found: dict[str, list[tuple[int, int]]] = {}
        by_lemma, by_lower = self._by_lemma, self._by_lower
        # One set look-up per token finds the few tokens that can start a pattern.
        if self._by_num:
            starts = [i for i in range(n) if lemmas[i] in by_lemma or lowers[i] in by_lower or nums[i] & 1]
        else:
            starts = [i for i in range(n) if lemmas[i] in by_lemma or lowers[i] in by_lower]
        present: set[int] = set()
        if starts:
            present.update(lemmas)
            present.update(lowers)
        viable: dict[int, bool] = {}
        for i in starts:
            for group in (
                by_lemma.get(lemmas[i]),
                by_lower.get(lowers[i]),
                self._by_num if nums[i] & 1 else None,
            ):
                if not group:
                    continue
                for rule_id, slots, needs in group:
                    key = id(slots)
                    ok = viable.get(key)
                    if ok is None:
                        ok = viable[key] = all(not need.isdisjoint(present) for need in needs)
                    if not ok:
                        continue
                    end = self._ends(slots, 1, i + 1, lemmas, lowers, nums, n) if len(slots) > 1 else i + 1
                    if end > i:
                        found.setdefault(rule_id, []).append((i, end))
        if self._has_raw:
            strings = self.vocab.strings
            for match_id, start, end in self._raw(doc):
                found.setdefault(strings[match_id], []).append((start, end))
        result: list[tuple[str, int, int]] = []
        for rule_id, spans in found.items():
            spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
            taken: list[tuple[int, int]] = []
            for start, end in spans:
                if all(end <= s or start >= e for s, e in taken):
                    taken.append((start, end))
            result.extend((rule_id, s, e) for s, e in taken)
        result.sort(key=lambda m: (m[1], m[2], m[0]))
        return result
