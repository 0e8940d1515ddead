"""The fast phrase matcher (second-word index, gaps without recursion) against spaCy's own
``Matcher`` over every rule file, on the regression cases' entries and the synthetic sample."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest
import yaml
from spacy.matcher import Matcher

from crimedetect.rules.language import compile_pattern, expand_patterns
from crimedetect.rules.matching import PhraseSet
from crimedetect.rules.pipeline import build_pipeline
from crimedetect.rules.schema import load_rules_dir

ROOT = Path(__file__).resolve().parents[1]


def texts() -> list[str]:
    cases = yaml.safe_load((ROOT / "tests" / "data" / "rules_regression.yaml").read_text(encoding="utf-8"))
    found = [entry for case in cases["cases"] for entry in case["entries"]]
    sample = ROOT / "data" / "synthetic" / "records.jsonl"
    if sample.exists():
        with sample.open(encoding="utf-8") as handle:
            for line in islice(handle, 60):
                found.extend(entry["text"] for entry in json.loads(line)["entries"])
    return found


@pytest.mark.parametrize("group", ["offences", "context", "victims"])
def test_phrase_set_matches_as_spacy_matcher(group: str) -> None:
    nlp = build_pipeline()
    offences, context, victims = load_rules_dir(None)
    rules = {
        "offences": [(r.id, r.patterns) for r in [*offences.rules, *offences.cues]],
        "context": [(r.id, r.patterns) for r in context.rules],
        "victims": [(r.id, r.patterns) for r in victims.roles],
    }[group]
    ours = PhraseSet(nlp.vocab, nlp.tokenizer)
    theirs = Matcher(nlp.vocab)
    for rule_id, patterns in rules:
        ours.add(rule_id, patterns)
        expanded = expand_patterns(patterns, nlp.tokenizer)
        theirs.add(rule_id, [compile_pattern(p, nlp.tokenizer) for p in expanded])
    checked = 0
    ours_only = ["crimedetect_offences", "crimedetect_context", "crimedetect_victims"]
    for doc in nlp.pipe(texts(), disable=ours_only):
        spans: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in theirs(doc):
            spans.setdefault(nlp.vocab.strings[match_id], []).append((start, end))
        expected = set()
        for rule_id, found in spans.items():  # the longest per rule where matches overlap
            taken: list[tuple[int, int]] = []
            for start, end in sorted(found, key=lambda s: (-(s[1] - s[0]), s[0])):
                if all(end <= s or start >= e for s, e in taken):
                    taken.append((start, end))
            expected |= {(rule_id, s, e) for s, e in taken}
        assert set(ours(doc)) == expected, doc.text
        checked += bool(expected)
    assert checked > 50  # the texts exercise the patterns


def test_raw_pattern_runs_only_when_the_doc_holds_every_required_word() -> None:
    """The word filter in front of spaCy's Matcher skips docs that lack a required word and
    keeps those that hold them, whatever their case; optional tokens need nothing."""
    nlp = build_pipeline()
    phrases = PhraseSet(nlp.vocab, nlp.tokenizer)
    officer = {"LOWER": {"IN": ["officer", "officers"]}}
    pattern = [{"LOWER": "tenancy"}, officer, {"IS_PUNCT": True, "OP": "?"}]
    phrases.add("role.professional", [pattern])
    ours_only = ["crimedetect_offences", "crimedetect_context", "crimedetect_victims"]

    def spans(text: str) -> list[tuple[str, int, int]]:
        return list(phrases(nlp(text, disable=ours_only)))

    assert spans("Spoke to Jo HART, Tenancy Officer, at the flat.")
    assert spans("The TENANCY OFFICERS attended.")
    assert spans("The tenancy agreement was signed.") == []
    assert spans("An officer attended.") == []


@pytest.mark.parametrize(
    ("pattern", "text", "matched"),
    [
        ("he =didnt|wont touch", "he didnt touch her", "he didnt touch"),
        ("he =didnt|wont touch", "HE DIDNT TOUCH HER", "HE DIDNT TOUCH"),  # shouted: one token
        ("an x-ray|scan", "sent for an x-ray today", "an x-ray"),
        ("an x-ray|scan", "sent for an scan today", "an scan"),
        ("non-consensual|unwanted touching", "reports non-consensual touching", "non-consensual touching"),
        ("he =didnt|wont touch", "he did touch her", None),
    ],
)
def test_an_alternative_split_by_the_tokenizer_matches(pattern: str, text: str, matched: str | None) -> None:
    nlp = build_pipeline()
    phrases = PhraseSet(nlp.vocab, nlp.tokenizer)
    phrases.add("rule.x", [pattern])
    doc = nlp(text)  # tokens with lemmas
    found = [doc[start:end].text for _, start, end in phrases(doc)]
    assert found == ([matched] if matched else [])


def test_digit_slot_takes_digits_only_and_num_takes_words_too() -> None:
    """``<digit>`` is a number written in digits ('the no 12 bus'); ``<num>`` also takes 'one',
    so 'no one' (a negation) must not match ``no <digit>``."""
    nlp = build_pipeline()
    phrases = PhraseSet(nlp.vocab, nlp.tokenizer)
    phrases.add("number.digits", ["=no .? <digit>"])
    phrases.add("number.any", ["=no <num>"])
    ours_only = ["crimedetect_offences", "crimedetect_context", "crimedetect_victims"]

    def rules(text: str) -> set[str]:
        return {rule for rule, _, _ in phrases(nlp(text, disable=ours_only))}

    assert rules("threw a bottle at the no 12 bus") == {"number.digits", "number.any"}
    assert rules("lives at no. 7 with her mum") == {"number.digits"}
    assert rules("no one was hurt") == {"number.any"}
