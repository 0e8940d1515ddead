"""spaCy building blocks registered by name: the police tokenizer, the lookup lemmatizer and
the phrase-pattern compiler every rule file goes through.

The tokenizer keeps police shorthand whole (``s/o``, ``A/O``, ``IP/RP``, ``u/k``, ``sl*g``) and
splits times such as ``2140hrs`` into ``2140`` + ``hrs``. The lemmatizer is spaCy's English
lookup table from ``spacy-lookups-data``, applied to the lower-cased text so that ``PUNCHED``
and ``Punched`` both lemmatise to ``punch`` (spaCy's own lookup mode is case-sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy
import spacy
from spacy.attrs import IS_PUNCT, LEMMA, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_suffix_regex

#: Shorthand kept as one token: two short words around a slash, or a word starred out.
SHORTHAND = r"^(?:[A-Za-z]{1,3}/[A-Za-z]{1,3}|[A-Za-z]+\*+[A-Za-z]*)$"
#: Times written with 'hrs' attached.
TIME_SUFFIX = r"(?<=[0-9])(?:hrs|hr|hours)$"

QUOTES = ("'", '"', "\u2018", "\u2019", "\u201c", "\u201d", "`")


@spacy.registry.tokenizers("crimedetect.police_tokenizer.v1")
def create_police_tokenizer() -> Callable[[Language], Tokenizer]:
    """A tokenizer factory: English defaults plus police shorthand."""
    return make_police_tokenizer


def make_police_tokenizer(nlp: Language) -> Tokenizer:
    """English tokenizer rules with shorthand kept whole and ``2140hrs`` split."""
    defaults = nlp.Defaults
    suffixes = [TIME_SUFFIX, *defaults.suffixes]
    # Keep a slash between letters (s/o, A/O): drop it from the infixes.
    infixes = [rule.replace(":<>=/", ":<>=") for rule in defaults.infixes]
    return Tokenizer(
        nlp.vocab,
        rules=defaults.tokenizer_exceptions,
        prefix_search=spacy.util.compile_prefix_regex(defaults.prefixes).search,
        suffix_search=compile_suffix_regex(suffixes).search,
        infix_finditer=compile_infix_regex(infixes).finditer,
        token_match=re.compile(SHORTHAND).match,
        url_match=defaults.url_match,
    )


_LEMMA_TABLES: dict[str, Any] = {}
#: ``doc.user_data`` key: the token arrays phrase matching reads, kept for the next matcher
#: (see :func:`crimedetect.rules.matching.token_arrays`); setting lemmas drops them.
TOKEN_ARRAYS = "crimedetect.token_arrays"


def lemma_table(lang: str = "en") -> Any:
    """spaCy's lookup lemma table (a ``spacy.lookups.Table``), loaded once per process."""
    if lang not in _LEMMA_TABLES:
        from spacy.lookups import load_lookups

        _LEMMA_TABLES[lang] = load_lookups(lang, ["lemma_lookup"]).get_table("lemma_lookup")
    return _LEMMA_TABLES[lang]


def lemmatise(word: str, table: Any) -> str:
    """The lemma of one word: the lookup table on its lower case, else the lower case.
    With ``table=None`` (lookups switched off) the lemma is the lower case."""
    lower = word.lower()
    return lower if table is None else table.get(lower, lower)


def uses_lookups(nlp: Language) -> bool:
    """Whether the pipeline's lemmatizer uses the lookup table (patterns must agree)."""
    if "crimedetect_lemmatizer" in nlp.pipe_names:
        return bool(nlp.get_pipe("crimedetect_lemmatizer").lookup)
    return True


class LookupLemmatizer:
    """Sets ``token.lemma_`` from the lookup table, case-insensitively; caches per vocab."""

    def __init__(self, nlp: Language, name: str, lang: str, lookup: bool = True) -> None:
        self.name = name
        self.lang = lang
        self.lookup = lookup
        self._cache: dict[int, int] = {}
        self._strings = nlp.vocab.strings
        self._table: Any = None

    def __call__(self, doc: Doc) -> Doc:
        if self._table is None and self.lookup:
            self._table = lemma_table(self.lang)
        if not len(doc):
            return doc
        cache = self._cache
        strings = self._strings
        lowers = doc.to_array([LOWER]).tolist()
        lemmas = []
        for lower in lowers:
            lemma = cache.get(lower)
            if lemma is None:
                lemma = strings.add(lemmatise(strings[lower], self._table))
                cache[lower] = lemma
            lemmas.append(lemma)
        doc.from_array([LEMMA], numpy.asarray(lemmas, dtype="uint64").reshape(-1, 1))
        doc.user_data.pop(TOKEN_ARRAYS, None)
        return doc


@Language.factory("crimedetect_lemmatizer", default_config={"lang": "en", "lookup": True})
def create_lookup_lemmatizer(nlp: Language, name: str, lang: str, lookup: bool) -> LookupLemmatizer:
    """Registered factory ``crimedetect_lemmatizer``: case-insensitive lookup lemmas
    (``lookup = false``: the lower-case word, to measure what the table adds)."""
    return LookupLemmatizer(nlp, name, lang, lookup)


def split_alternatives(pattern: str, tokenizer: Tokenizer) -> list[str]:
    """The phrase, plus one phrase for each alternative the tokenizer splits, with its pieces
    as slots of their own (``=didnt|wont`` also gives ``=did =nt``; ``x-ray|xray`` gives
    ``x - ray``).

    A slot matches one token, and the tokenizer splits 'didnt', 'cannot', 'gonna' (unless
    shouted: 'DIDNT' stays whole) and every hyphenated word, so such an alternative alone
    would never match. Alternatives split the same way in both matchers (``PhraseSet`` and
    :func:`compile_pattern`)."""
    variants: list[list[str]] = [[]]
    for raw in pattern.split():
        optional = len(raw) > 1 and raw.endswith("?")
        word = raw[:-1] if optional else raw
        options = [raw]
        if "|" in word or (word.startswith("=") and len(word) > 1):
            exact = word.startswith("=")
            for alternative in word.lstrip("=").lower().split("|"):
                pieces = [t.text for t in tokenizer(alternative)] if alternative else []
                if len(pieces) > 1:
                    options.append(" ".join(("=" if exact else "") + piece for piece in pieces))
        variants = [v + [o] for v in variants for o in options]
    return [" ".join(v) for v in variants]


def expand_patterns(
    patterns: list[str | list[dict[str, Any]]], tokenizer: Tokenizer
) -> list[str | list[dict[str, Any]]]:
    """A rule's patterns with every phrase's split alternatives expanded
    (:func:`split_alternatives`); raw token patterns as they are."""
    return [q for p in patterns for q in (split_alternatives(p, tokenizer) if isinstance(p, str) else [p])]


def compile_pattern(
    pattern: str | list[dict[str, Any]], tokenizer: Tokenizer, lookup: bool = True
) -> list[dict[str, Any]]:
    """A phrase (see :mod:`crimedetect.rules.schema`) as a spaCy ``Matcher`` token pattern.

    The rules match phrases with :class:`crimedetect.rules.matching.PhraseSet`, which is
    faster; this gives the same phrase to spaCy's ``Matcher``/``SpanRuler`` (the tests check
    both find the same spans) and passes raw token patterns through.
    """
    if not isinstance(pattern, str):
        return [dict(token) for token in pattern]
    table = lemma_table() if lookup else None
    tokens: list[dict[str, Any]] = []
    for slot in pattern.split():
        optional = len(slot) > 1 and slot.endswith("?")
        word = slot[:-1] if optional else slot
        if re.fullmatch(r"\*\d*", word):
            count = int(word[1:] or 1)
            tokens.append({"OP": "?"} if count == 1 else {"OP": f"{{0,{count}}}"})
            continue
        if word == "<num>":
            spec: dict[str, Any] = {"LIKE_NUM": True}
        elif word == "<digit>":
            spec = {"IS_DIGIT": True}
        elif word == "<name>":
            spec = {"IS_TITLE": True}
        elif word == "<word>":
            spec = {"IS_PUNCT": False}
        elif word == "'":
            spec = {"LOWER": {"IN": list(QUOTES)}}
        elif word.startswith("="):
            alternatives = [w for w in word[1:].lower().split("|") if w]
            spec = {"LOWER": alternatives[0] if len(alternatives) == 1 else {"IN": alternatives}}
        elif "|" in word:
            spec = {"LEMMA": {"IN": sorted({lemmatise(w, table) for w in word.split("|") if w})}}
        else:
            pieces = [t.text for t in tokenizer(word)]
            if len(pieces) > 1:
                tokens.extend({"LEMMA": lemmatise(piece, table)} for piece in pieces)
                continue
            spec = {"LEMMA": lemmatise(word, table)}
        if optional:
            spec["OP"] = "?"
        tokens.append(spec)
    return tokens


#: Token texts that end a sentence.
SENTENCE_ENDS = (".", "!", "?", "...", "\n", "\n\n")
#: ``doc.user_data`` key: each token's sentence as (start, end), set by the splitter.
SENTENCES = "crimedetect.sentences"


def token_sentences(starts: list[int]) -> list[tuple[int, int]]:
    """(start, end) of each token's sentence, from per-token sentence-start flags (1 = starts)."""
    bounds: list[int] = [i for i, s in enumerate(starts) if s == 1 or i == 0] + [len(starts)]
    out: list[tuple[int, int]] = []
    for k in range(len(bounds) - 1):
        out.extend([(bounds[k], bounds[k + 1])] * (bounds[k + 1] - bounds[k]))
    return out


class SentenceSplitter:
    """Sentence starts from the token texts, as spaCy's ``sentencizer`` sets them, but from
    the ORTH array in one pass (no Token objects): a sentence starts at the first
    non-punctuation token after a full stop, '!' or '?'. Each token's sentence bounds go into
    ``doc.user_data[SENTENCES]`` so that later steps need not rebuild them."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self._ends = {nlp.vocab.strings.add(text) for text in SENTENCE_ENDS}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            return doc
        array = doc.to_array([ORTH, IS_PUNCT]).tolist()
        starts = [0] * n
        starts[0] = 1
        seen_end = False
        ends = self._ends
        for i, (orth, punct) in enumerate(array):
            if seen_end and not punct:
                starts[i] = 1
                seen_end = False
            elif orth in ends:
                seen_end = True
        values = numpy.asarray([s if s else -1 for s in starts], dtype="int32").reshape(-1, 1)
        doc.from_array([SENT_START], values.astype("uint64"))
        doc.user_data[SENTENCES] = token_sentences(starts)
        return doc


@Language.factory("crimedetect_sentences")
def create_sentence_splitter(nlp: Language, name: str) -> SentenceSplitter:
    """Registered factory ``crimedetect_sentences``."""
    return SentenceSplitter(nlp, name)
