"""Unit tests of the rules stage: tokenizer, lemmas, rule-file validation, config-built vs
code-built pipelines, the phrase matcher against spaCy's Matcher, the detector interface,
counting, quality metrics, the keyword baseline and the CLI."""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import spacy
import yaml
from spacy.matcher import Matcher
from typer.testing import CliRunner

from crimedetect.cli import app
from crimedetect.contract import Audit, Disclosure, Record
from crimedetect.detect import Detector
from crimedetect.rules import RuleDetector, keyword_baseline
from crimedetect.rules.counting import _record_folds, fold, occasions
from crimedetect.rules.extract import Candidate, Mention
from crimedetect.rules.language import compile_pattern, expand_patterns, make_police_tokenizer
from crimedetect.rules.matching import PhraseSet, TypoIndex, within_one
from crimedetect.rules.pipeline import build_pipeline, copy_rules, get_pipeline
from crimedetect.rules.quality import evaluate, part
from crimedetect.rules.schema import (
    CountingSettings,
    RuleFileError,
    default_rules_dir,
    load_counting,
    load_rule_file,
    load_rules_dir,
)

runner = CliRunner()


def _record(record_id: str, *texts: str, day: str = "2017-06-01") -> Record:
    return Record.model_validate(
        {
            "record_id": record_id,
            "entries": [{"at": f"{day}T1{i}:00:00Z", "text": t} for i, t in enumerate(texts)],
        }
    )


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return get_pipeline()


@pytest.fixture(scope="module")
def detector() -> RuleDetector:
    return RuleDetector()


# ------------------------------------------------------------------ tokenizer and lemmas
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("A/O at 2140hrs", ["A/O", "at", "2140", "hrs"]),
        ("s/o left, IP/RP called", ["s/o", "left", ",", "IP/RP", "called"]),
        ("calling her a 'sl*g'", ["calling", "her", "a", "'", "sl*g", "'"]),
        ("u/k male", ["u/k", "male"]),
    ],
)
def test_police_tokenizer_keeps_shorthand(nlp: spacy.language.Language, text: str, tokens: list[str]) -> None:
    assert [t.text for t in nlp.make_doc(text)] == tokens


def test_lemmas_ignore_case(nlp: spacy.language.Language) -> None:
    doc = nlp("He PUNCHED her. Punched again. Stolen bikes.")
    assert [t.lemma_ for t in doc if t.lower_ in ("punched", "stolen", "bikes")] == [
        "punch",
        "punch",
        "steal",
        "bike",
    ]


def test_sentences_split_on_full_stops(nlp: spacy.language.Language) -> None:
    doc = nlp("No injuries. He punched her! Then left?")
    assert [s.text for s in doc.sents] == ["No injuries.", "He punched her!", "Then left?"]


# ------------------------------------------------------------------ rule files
def test_packaged_rule_files_validate() -> None:
    offences, context, victims = load_rules_dir(None)
    assert offences.rules and context.rules and victims.roles
    assert len({r.id for r in offences.rules}) == len(offences.rules)


def _edited_rule_file(tmp_path: Path, name: str, edit: Callable[[dict], object]) -> Path:
    """A copy of the packaged rules directory with ``edit`` applied to rule file ``name``'s
    data; the copied file's path (its parent is the rules directory)."""
    path = Path(shutil.copytree(default_rules_dir(), tmp_path / "rules")) / name
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_bad_category_is_named_with_file_rule_and_field(tmp_path: Path) -> None:
    path = _edited_rule_file(
        tmp_path, "offence_patterns.yaml", lambda d: d["rules"][1].update(category="violence")
    )
    with pytest.raises(RuleFileError) as info:
        load_rule_file(path)
    message = str(info.value)
    rule_id = yaml.safe_load(path.read_text())["rules"][1]["id"]
    assert "offence_patterns.yaml" in message and rule_id in message and "category" in message


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        # 'her|him|<name>' would silently match the literal word '<name>'
        ("punch|kick her|him|<name>", "special slot"),
        # '=' marks a whole slot as exact words; after a '|' it is a dead alternative
        ("set|=set fire to", "inside alternatives"),
        ("=ll|=d kill", "inside alternatives"),
        # a gap wider than MAX_GAP reaches across sentences
        ("woke *30 underwear missing", "wider than"),
    ],
)
def test_unsound_slot_is_rejected(tmp_path: Path, phrase: str, message: str) -> None:
    path = _edited_rule_file(
        tmp_path, "offence_patterns.yaml", lambda d: d["rules"][0].update(patterns=[phrase])
    )
    with pytest.raises(RuleFileError, match=message):
        load_rule_file(path)


def test_undeclared_qualifier_is_rejected(tmp_path: Path) -> None:
    path = _edited_rule_file(
        tmp_path, "context_rules.yaml", lambda d: d["rules"][0].update(qualifier="maybe")
    )
    with pytest.raises(RuleFileError, match="maybe"):
        load_rule_file(path)


def test_context_rule_may_name_offence_rules_that_exist(tmp_path: Path) -> None:
    """``applies_to`` may name an offence rule id; one not in offence_patterns.yaml is refused."""
    _, context, _ = load_rules_dir(None)
    assert "harassment.controlling" in context.rule_targets()
    path = _edited_rule_file(
        tmp_path, "context_rules.yaml", lambda d: d["rules"][0].update(applies_to=["harassment.no_such_rule"])
    )
    with pytest.raises(RuleFileError, match="harassment.no_such_rule"):
        load_rules_dir(str(path.parent))


def test_per_child_codes_must_be_hocr_codes(tmp_path: Path) -> None:
    """``victims.yaml`` per_child_codes (offences counted once per listed child) are HOCR codes."""
    _, _, victims = load_rules_dir(None)
    assert "11A" in victims.per_child_codes
    path = _edited_rule_file(tmp_path, "victims.yaml", lambda d: d.update(per_child_codes=["11Z"]))
    with pytest.raises(RuleFileError, match="11Z"):
        load_rule_file(path)


def test_lexicon_words_are_lower_case_and_keys_known(tmp_path: Path) -> None:
    """``victims.yaml`` lexicons: an unknown word set is refused, as is a word in capitals
    (tokens are compared lower-cased; officer titles alone may be written as in the text)."""
    unknown = _edited_rule_file(
        tmp_path / "key", "victims.yaml", lambda d: d["lexicons"].update(aunt_words=["aunt"])
    )
    with pytest.raises(RuleFileError, match="aunt_words"):
        load_rule_file(unknown)
    capital = _edited_rule_file(
        tmp_path / "case", "victims.yaml", lambda d: d["lexicons"]["kin_words"].append("Aunt")
    )
    with pytest.raises(RuleFileError, match="kin_words: 'Aunt'"):
        load_rule_file(capital)


def test_a_word_added_to_a_lexicon_changes_the_reader(tmp_path: Path) -> None:
    """The reader's words are data: an officer title an analyst adds to a copied rules
    directory ('SPC', a special constable) makes the officer kicked the victim."""
    config = copy_rules(tmp_path)
    record = _record("L-1", "Dean SMITH arrested after he kicked SPC 4411 in the leg.")
    assert [d.victim for d in RuleDetector(str(config)).detect([record])[0]] == [None]
    path = tmp_path / "rules" / "victims.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["lexicons"]["officer_titles"].append("SPC")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert [d.victim for d in RuleDetector(str(config)).detect([record])[0]] == ["SPC 4411"]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "victims.yaml"
    path.write_text("version: '1'\ntitles: [Mr\nroles: []\n")
    with pytest.raises(RuleFileError, match=r"victims.yaml line \d+"):
        load_rule_file(path)


def test_counting_settings_reject_unknown_category() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        CountingSettings(version="1", subsumed_by={"theft": ["shoplifting"]})
    with pytest.raises(ValueError, match="unknown category"):
        CountingSettings.model_validate(
            {"version": "1", "sentence_subsumed_by": {"theft": [{"category": "ccb"}]}}
        )
    with pytest.raises(ValueError, match="unknown category"):
        CountingSettings(version="1", repeat_occasion_categories=["theft", "fuel_theft"])


# ------------------------------------------------------------------ config vs code
def test_config_built_pipeline_equals_code_built(nlp: spacy.language.Language) -> None:
    code = spacy.blank("en")
    code.tokenizer = make_police_tokenizer(code)
    code.add_pipe("crimedetect_lemmatizer")
    code.add_pipe("crimedetect_sentences")
    code.add_pipe("crimedetect_offences")
    code.add_pipe("crimedetect_context")
    code.add_pipe("crimedetect_victims")
    assert code.pipe_names == nlp.pipe_names
    for name in nlp.pipe_names:
        assert code.config["components"][name] == nlp.config["components"][name]
    text = "RP Leanne HOLLIS states her husband punched her, no injuries. She is not scared of him."
    built, coded = nlp(text), code(text)
    for key in ("offences", "cues"):
        assert [(s.start, s.end, s.label_, s.id_) for s in built.spans[key]] == [
            (s.start, s.end, s.label_, s.id_) for s in coded.spans[key]
        ]
    assert built.user_data == coded.user_data


def test_rules_dir_override_changes_patterns(tmp_path: Path) -> None:
    zorbing = {"id": "test.zorbing", "category": "public_order", "patterns": ["zorb"]}
    rules = _edited_rule_file(tmp_path, "offence_patterns.yaml", lambda d: d["rules"].append(zorbing)).parent
    overrides = {
        f"components.{c}.rules_dir": str(rules)
        for c in ("crimedetect_offences", "crimedetect_context", "crimedetect_victims")
    }
    custom = build_pipeline(None, overrides)
    doc = custom("He rolled the van into a zorb.")
    assert [s.id_ for s in doc.spans["offences"]] == ["test.zorbing"]


# ------------------------------------------------------------------ phrase matcher vs spaCy
SAMPLES = [
    "RP states her ex partner has punched her twice in the face and kicked him.",
    "He keeps messaging her, over 30 texts since Friday, and turned up at her work again.",
    "Window smashed, tyres slashed x4, £200 taken from the purse and the bag snatched off her shoulder.",
    "She said 'you're dead' and he threatened to kill her, she was terrified and he raised his fist.",
    "Not allowed to leave, the boss has their passports, paid £20 a week.",
]


def test_phrase_matcher_finds_what_spacy_matcher_finds(nlp: spacy.language.Language) -> None:
    offences, context, _ = load_rules_dir(None)
    rules = [(r.id, r.patterns) for r in offences.rules + offences.cues + context.rules]  # type: ignore[operator]
    ours = PhraseSet(nlp.vocab, nlp.tokenizer)
    theirs = Matcher(nlp.vocab)
    for rule_id, patterns in rules:
        ours.add(rule_id, patterns)
        expanded = expand_patterns(patterns, nlp.tokenizer)
        theirs.add(rule_id, [compile_pattern(p, nlp.tokenizer) for p in expanded])
    for text in SAMPLES:
        doc = nlp(text)
        found: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in theirs(doc):
            found.setdefault(nlp.vocab.strings[match_id], []).append((start, end))
        expected = set()
        for rule_id, spans in found.items():
            taken: list[tuple[int, int]] = []
            for start, end in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
                if all(end <= s or start >= e for s, e in taken):
                    taken.append((start, end))
            expected |= {(rule_id, s, e) for s, e in taken}
        assert set(ours(doc)) == expected, text


# ------------------------------------------------------------------ typo tolerance
@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("samshed", "smashed", True),  # transposition
        ("swolleen", "swollen", True),  # insertion
        ("punchd", "punched", True),  # deletion
        ("kocked", "kicked", True),  # substitution
        ("snashex", "smashed", False),  # two edits
        ("kicked", "kicked", True),
    ],
)
def test_within_one_is_damerau_levenshtein_one(a: str, b: str, close: bool) -> None:
    assert within_one(a, b) is close
    assert within_one(b, a) is close


def test_typo_index_corrects_only_unambiguous_long_words() -> None:
    index = TypoIndex({"smashed": "smash", "stabbed": "stab", "stabber": "stabber"}, min_length=6)
    assert index.correct("samshed") == "smashed"
    assert index.correct("stabbex") is None  # one edit from two indexed words
    assert index.correct("smshd") is None  # two edits
    assert index.correct("stab") is None  # shorter than min_length - 1


def _typo_pipeline(tmp_path: Path, enabled: bool) -> spacy.language.Language:
    typos = {"enabled": enabled, "min_length": 6}
    rules = _edited_rule_file(
        tmp_path / str(enabled), "offence_patterns.yaml", lambda d: d.update(typos=typos)
    ).parent
    overrides = {
        f"components.{c}.rules_dir": str(rules)
        for c in ("crimedetect_offences", "crimedetect_context", "crimedetect_victims")
    }
    return build_pipeline(None, overrides)


def test_typo_setting_in_rule_file_switches_tolerance(tmp_path: Path) -> None:
    text = "Youths samshed the windows of his house. Mr SAMSHED was not home."
    on = _typo_pipeline(tmp_path, True)(text)
    off = _typo_pipeline(tmp_path, False)(text)
    assert [s.text for s in on.spans["offences"]] == ["samshed the windows"]
    assert [s.text for s in off.spans["offences"]] == []
    # the correction is for matching only: the document keeps what was written
    assert [t.lemma_ for t in on if t.text == "samshed"] == ["samshed"]


def test_typo_setting_is_validated(tmp_path: Path) -> None:
    typos = {"enabled": True, "min_length": 1}
    path = _edited_rule_file(tmp_path, "offence_patterns.yaml", lambda d: d.update(typos=typos))
    with pytest.raises(RuleFileError, match="min_length"):
        load_rules_dir(str(path.parent))


def test_phrase_must_start_with_a_word(nlp: spacy.language.Language) -> None:
    phrases = PhraseSet(nlp.vocab, nlp.tokenizer)
    with pytest.raises(ValueError, match="required word"):
        phrases.add("x.y", ["* punch"])


# ------------------------------------------------------------------ the detector
def test_detector_implements_the_interface(detector: RuleDetector) -> None:
    assert isinstance(detector, Detector)
    assert detector.name == "rules"
    assert detector.version.startswith("o")


def test_disclosures_carry_evidence_and_trace(detector: RuleDetector) -> None:
    record = _record(
        "T-1",
        "RP Leanne HOLLIS states her husband Craig HOLLIS has punched her in the face.",
        "On scene. IP has swelling and bruising to her cheek. She does not want police action.",
    )
    (found,) = detector.detect([record])
    assert len(found) == 1
    disclosure = found[0]
    assert isinstance(disclosure, Disclosure)
    assert disclosure.category == "violence_with_injury"
    assert disclosure.victim == "Leanne HOLLIS"
    assert disclosure.by == ["rules"]
    assert 0.0 < disclosure.score <= 1.0
    extra = disclosure.model_extra or {}
    assert extra["first_entry"] == 0
    assert extra["hocr_code"] == "8N"
    assert "violence.strike_person" in extra["rule_ids"]
    assert {"injury", "victim_declines"} <= set(extra["cues"])
    for evidence in disclosure.evidence:
        assert record.entries[evidence.entry].text[evidence.start : evidence.end] == evidence.text


@pytest.mark.parametrize(
    ("first", "expected_entry"),
    [
        (
            "Warrant at 4 Mill Lane. Two males in the loft. Treated as potential victims of modern slavery.",
            1,
        ),
        ("Warrant at 4 Mill Lane. Male says the boss took his passport and he is not allowed to leave.", 0),
    ],
)
def test_suspicion_does_not_start_the_clock(detector: RuleDetector, first: str, expected_entry: int) -> None:
    record = _record(
        "T-MS",
        first,
        "Interview with interpreter. Artur NOWAK says the boss has his passport, takes his wages "
        "and he is not allowed to leave the house.",
    )
    (found,) = detector.detect([record])
    slavery = [d for d in found if d.category == "modern_slavery"]
    assert slavery, found
    assert (slavery[0].model_extra or {})["first_entry"] == expected_entry


def test_results_keep_input_order_and_empty_records(detector: RuleDetector) -> None:
    records = [
        _record("A", "Lost property reported, no crime."),
        _record("B", "Her bike has been stolen from the racks."),
        _record("C", "He smashed her car window."),
    ]
    found = detector.detect(records)
    assert [[d.category for d in f] for f in found] == [[], ["theft"], ["criminal_damage_arson"]]


def test_detector_pickles_and_rebuilds_lazily(detector: RuleDetector) -> None:
    record = _record("P", "He kicked her in the ribs.")
    clone = pickle.loads(pickle.dumps(detector))
    assert clone._nlp is None
    assert [d.model_dump() for d in clone.detect([record])[0]] == [
        d.model_dump() for d in detector.detect([record])[0]
    ]


@pytest.mark.slow
def test_worker_processes_give_the_same_result() -> None:
    texts = [
        "He punched her, she has a cut lip.",
        "Her bag was snatched.",
        "No offences.",
        "He keeps texting her.",
    ]
    records = [_record(f"W-{i}", texts[i % 4]) for i in range(24)]
    one = RuleDetector(batch_size=4).detect(records)
    with RuleDetector(n_process=2, batch_size=4) as parallel:
        here = parallel._detect_here
        shares: list[int] = []  # the chunks this process detects itself, from the back

        def counted(chunk: list[Record]) -> list[list[Disclosure]]:
            shares.append(len(chunk))
            return here(chunk)

        parallel._detect_here = counted  # type: ignore[method-assign]
        two = parallel.detect(records)
        again = parallel.detect(records[::-1])[::-1]  # the same worker pool, reused
    assert parallel._pool is None  # closed on leaving the block
    assert 0 < sum(shares) < 2 * len(records)  # the worker and this process both detected
    dumped = [[d.model_dump() for d in f] for f in one]
    assert (
        dumped == [[d.model_dump() for d in f] for f in two] == [[d.model_dump() for d in f] for f in again]
    )


def test_counting_edition_keeps_stalking_in_addition(detector: RuleDetector) -> None:
    record = _record(
        "E",
        "For 3 weeks her ex has kept ringing and texting her every day.",
        "Tonight he slapped her. No injuries.",
    )
    categories = sorted(d.category for d in detector.detect([record])[0])
    assert categories == ["stalking_harassment", "violence_without_injury"]
    assert (detector.detect([record])[0][0].model_extra or {})["edition"] == "2017/18"


def test_fold_principal_crime_and_edition_switch() -> None:
    settings = CountingSettings(version="t", subsumed_by={"criminal_damage_arson": ["theft"]})
    counted, folded = fold({"theft", "criminal_damage_arson"}, set(), settings)
    assert counted == {"theft"} and folded == {"criminal_damage_arson": "theft"}
    with_edition, _ = fold({"stalking_harassment", "violence_with_injury"}, {"stalking_harassment"}, settings)
    assert with_edition == {"stalking_harassment", "violence_with_injury"}
    strict, folded = fold({"stalking_harassment", "violence_with_injury"}, set(), settings)
    assert strict == {"violence_with_injury"} and folded == {"stalking_harassment": "violence_with_injury"}


def _candidate(category: str, entry: int, sentence_text: str) -> Candidate:
    mention = Mention("r", category, entry, 0, 1, "x", 0, 1, (0, 1))
    return Candidate(category, "Jo X", mention, "r", None, 0.9, [], sentence_text=sentence_text)


def test_occasions_split_a_crime_dated_to_an_earlier_day_told_later() -> None:
    """v113v: a rape told in the DASH as 'last Friday' is not tonight's assault's incident;
    dated crimes told in the opening entry, or undated ones, stay one incident."""
    settings = CountingSettings(version="t", separate_occasion=[r"\blast friday\b"])
    tonight = [_candidate("violence_without_injury", 0, "He pushed her tonight.")]
    dash = [_candidate("rape", 1, "She said last Friday he raped her.")]
    by_category = {"violence_without_injury": tonight, "rape": dash}
    assert occasions(by_category, settings) == [{"violence_without_injury"}, {"rape"}]
    # ... taking with it what is first told no earlier than it ('Q on sexual abuse')
    label = [_candidate("other_sexual_offence", 1, "Q on sexual abuse.")]
    split = occasions({**by_category, "other_sexual_offence": label}, settings)
    assert split == [{"violence_without_injury"}, {"rape", "other_sexual_offence"}]
    same_entry = {**by_category, "rape": [_candidate("rape", 0, "Last Friday he raped her.")]}
    assert occasions(same_entry, settings) == [{"violence_without_injury", "rape"}]
    # a review restating it need not repeat the day; undated where first told, no split
    restated = {**by_category, "rape": [*dash, _candidate("rape", 2, "Rape disclosed.")]}
    assert occasions(restated, settings) == [{"violence_without_injury"}, {"rape"}]
    undated = {**by_category, "rape": [_candidate("rape", 1, "He raped her."), *dash]}
    assert occasions(undated, settings) == [{"violence_without_injury", "rape"}]
    with pytest.raises(ValueError, match="separate_occasion"):
        CountingSettings(version="t", separate_occasion=["(unclosed"])


def test_record_folds_take_harassing_messages_into_grooming_of_the_same_child() -> None:
    """v117c: record-wide, harassment by messages (8L) beside grooming (88A) of the same
    victim is the grooming; stalking (8Q), another victim or another sexual offence is not."""
    settings = CountingSettings.model_validate(
        {
            "version": "t",
            "record_subsumed_by": {
                "stalking_harassment": [
                    {"category": "other_sexual_offence", "hocr_code": "88A", "own_hocr_codes": ["8L", "8R"]}
                ]
            },
        }
    )

    def candidate(category: str, code: str, victim: str = "Jo X", entry: int = 0) -> Candidate:
        mention = Mention("r", category, entry, 0, 1, "x", 0, 1, (0, 1))
        return Candidate(category, victim, mention, "r", code, 0.9, [])

    grooming = candidate("other_sexual_offence", "88A", entry=1)
    messages = candidate("stalking_harassment", "8L")
    stalking = candidate("stalking_harassment", "8Q")
    other_victim = candidate("stalking_harassment", "8L", victim="Al Y")
    found = [grooming, messages, stalking, other_victim]
    folded = _record_folds(found, [c.category for c in found], settings)
    harassment = "stalking_harassment"
    assert folded == ["other_sexual_offence", "other_sexual_offence", harassment, harassment]
    image = candidate("other_sexual_offence", "88E", entry=1)
    assert _record_folds([image, messages], [image.category, harassment], settings)[1] == harassment
    fold = {"category": "other_sexual_offence", "hocr_code": "88A", "own_hocr_codes": ["8L"]}
    with pytest.raises(ValueError, match="unknown category"):
        CountingSettings.model_validate({"version": "t", "record_subsumed_by": {"ccb": [fold]}})
    for bad, message in (({"own_hocr_codes": ["8ZZ"]}, "unknown HOCR code"), ({"hocr_code": "8L"}, "not a")):
        with pytest.raises(ValueError, match=message):
            CountingSettings.model_validate(
                {"version": "t", "record_subsumed_by": {"stalking_harassment": [{**fold, **bad}]}}
            )


# ------------------------------------------------------------------ quality and baseline
def test_quality_counts_record_category_pairs() -> None:
    records = [_record("Q-1", "x"), _record("Q-2", "y")]
    audits = {
        "Q-1": Audit.model_validate(
            {"record_id": "Q-1", "crimes": [{"category": "theft"}, {"category": "robbery"}]}
        ),
        "Q-2": Audit.model_validate({"record_id": "Q-2", "crimes": []}),
    }
    scores = evaluate(records, audits, [{"theft"}, {"burglary"}], [1, 1])["all"]
    assert scores.micro() == pytest.approx((0.5, 0.5, 0.5))
    assert scores.category("theft")[:3] == (1.0, 1.0, 1.0)
    assert scores.count_accuracy() == 0.0


def test_held_out_split_is_stable_and_about_a_third() -> None:
    ids = [f"DV-{i:05d}" for i in range(900)]
    held = sum(part(i) == "held_out" for i in ids)
    assert 240 < held < 360
    assert [part(i) for i in ids] == [part(i) for i in ids]


def test_keyword_baseline_is_plain_regex() -> None:
    found = keyword_baseline([_record("K", "No assault disclosed, nothing stolen.")])
    assert {"violence_without_injury", "theft"} <= found[0]


def test_rules_beat_keywords_on_dev(dev_dir: Path) -> None:
    from crimedetect.rules.quality import run

    results, _ = run(dev_dir)
    assert results["rules"]["all"].micro()[2] > results["keyword"]["all"].micro()[2]


@pytest.mark.parametrize(("prefixes", "n"), [(["BL-A-"], 50), (["BL-A-", "BL-C-"], 110)])
def test_quality_scores_chosen_batches_and_prints_one_part(
    prefixes: list[str], n: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from crimedetect.rules.quality import main

    blind = Path(__file__).resolve().parents[1] / "data" / "blind"
    main(["--dev", str(blind), "--id-prefix", *prefixes, "--part", "all"])
    out = capsys.readouterr().out
    assert f"### all ({n} records)" in out
    assert "### development" not in out and "### held_out" not in out


# ------------------------------------------------------------------ CLI
def test_cli_rules_validate_ok() -> None:
    result = runner.invoke(app, ["rules", "validate"])
    assert result.exit_code == 0, result.output


def test_cli_rules_validate_reports_bad_file(tmp_path: Path) -> None:
    path = _edited_rule_file(
        tmp_path, "context_rules.yaml", lambda d: d["rules"][0].update(direction="sideways")
    )
    result = runner.invoke(app, ["rules", "validate", "--rules-dir", str(path.parent)])
    assert result.exit_code == 1
    assert "direction" in result.output


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_cli_explain_and_report(tmp_path: Path) -> None:
    records = _write_jsonl(
        tmp_path / "records.jsonl",
        [
            {
                "record_id": "X-1",
                "entries": [{"at": "2017-01-01T10:00:00Z", "text": "He punched her, no injuries."}],
            },
            {"record_id": "X-2", "entries": [{"at": "2017-01-01T10:00:00Z", "text": "Her bike was stolen."}]},
            {"record_id": "X-3", "entries": []},
        ],
    )
    audits = _write_jsonl(
        tmp_path / "audits.jsonl",
        [
            {"record_id": "X-1", "crimes": [{"category": "violence_without_injury"}]},
            {"record_id": "X-2", "crimes": []},
        ],
    )
    explained = runner.invoke(app, ["explain", "X-1", "--records", str(records)])
    assert explained.exit_code == 0, explained.output
    flat = "".join(ch for ch in explained.output if not ch.isspace() and ch != "\u2502")
    assert "violence_without_injury" in flat and "punched her" in explained.output
    missing = runner.invoke(app, ["explain", "NOPE", "--records", str(records)])
    assert missing.exit_code == 2
    out = tmp_path / "summary.jsonl"
    reported = runner.invoke(
        app, ["rules", "report", "--records", str(records), "--audits", str(audits), "--out", str(out)]
    )
    assert reported.exit_code == 1  # X-3 has no entries: a rejected line
    rows = {r["rule_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["violence.strike_person"]["hits"] == 1
    assert rows["theft.stolen"]["false_hits"] == 1


def test_word_cut_at_the_window_end_is_no_first_person(detector: RuleDetector) -> None:
    """v18f: 'me' read from a word cut by the 12-character window after the offence words
    ('(lock snapping me|thod)') made the officer writing the entry the victim."""
    record = Record.model_validate(
        {
            "record_id": "X-ME",
            "entries": [
                {"at": "2017-06-01T10:00:00Z", "text": "RP Ann LEE found the lock of her back door damaged."},
                {
                    "at": "2017-06-01T12:00:00Z",
                    "author": "PC 4471",
                    "text": "Door cylinder snapped (lock snapping method), bolt held.",
                },
            ],
        }
    )
    victims = {str(d.victim) for d in detector.detect([record])[0]}
    assert "PC 4471" not in victims


@pytest.mark.parametrize(
    ("text", "victims"),
    [
        # v112v: a participle spelt as its verb ('was hit') is passive: the child named before
        # it is who it was done to, not its doer
        (
            "Son Dan KAY (15) says his stepdad Colin HART punched him. His sister Zoe (9) was hit too.",
            {"Dan KAY", "Zoe"},
        ),
        # v112v: a name opening a clause after a semicolon is the next clause's subject, and
        # one brought in by 'by' did something: neither is the victim
        (
            "Pupil Ben ROSS (13) was pressured by Jay FOX (15) into sending a naked photo; Jay shared it.",
            {"Ben ROSS"},
        ),
    ],
)
def test_victims_read_from_clause_shape(detector: RuleDetector, text: str, victims: set[str]) -> None:
    found = {str(d.victim) for d in detector.detect([_record("X-V", text)])[0]}
    assert found == victims


def test_person_finder_names_and_roles(nlp: spacy.language.Language) -> None:
    """v112v: 'Maria' is a first name (its lemma is no inflection), 'Arrest' is no first name,
    and a role word names a person only across punctuation, 'is' or another role word."""
    doc = nlp("IP states Adam FIELD came round. RP neighbour Mrs Jo HILL rang. Arrest COX. Maria LUCA seen.")
    persons = {p["name"]: set(p["roles"]) for p in doc.user_data["crimedetect.persons"]}
    assert "Arrest COX" not in persons and "Maria LUCA" in persons
    assert "victim" not in persons["Adam FIELD"]
    assert "reporter" in persons["Jo HILL"]


def test_first_person_is_the_caller_in_a_call_takers_note_only(detector: RuleDetector) -> None:
    """v114v: 'smashing up my car' in the call taker's note is the caller's car (a second
    victim); an officer writing 'my' stays the officer."""
    caller = (
        "Caller Mrs Linda HOYLE says IP Abbie LOCKWOOD is at her door. Her son is outside smashing up my car."
    )

    def victims(author: str) -> set[str]:
        record = Record.model_validate(
            {
                "record_id": "X-MY",
                "entries": [{"at": "2017-06-01T10:00:00Z", "author": author, "text": caller}],
            }
        )
        return {c.victim for c in detector.trace([record])[0].candidates}

    assert victims("call handler") == {"Linda HOYLE"}
    assert victims("PC 4471") == {"PC 4471"}


@pytest.mark.parametrize(
    ("text", "officer_is_victim"),
    [
        # v118ar: an account the officer relays, slipping into the teller's words, is the IP's
        (
            "Statement from IP Dean MOSS. He adds that once he was down the man went through my pockets.",
            False,
        ),
        ("IP Amy COLE seen. She was too scared to say at the time: he put his hand up my top.", False),
        # ... not a verb with its own object ('told me to leave'), nor the officer's own 'I explained'
        ("Male Dean MOSS told me to go away and then pushed me in the chest.", True),
        ("I explained he was under arrest and he then kicked me in the leg.", True),
    ],
)
def test_first_person_in_an_account_an_officer_relays(
    detector: RuleDetector, text: str, officer_is_victim: bool
) -> None:
    record = Record.model_validate(
        {
            "record_id": "X-REL",
            "entries": [{"at": "2017-06-01T10:00:00Z", "author": "PC 4471", "text": text}],
        }
    )
    victims = {c.victim for c in detector.trace([record])[0].candidates}
    assert victims and ("PC 4471" in victims) is officer_is_victim


def test_person_finder_titled_name_and_role_running_into_it(nlp: spacy.language.Language) -> None:
    """v114v: 'to Mr Ian X' is a person (not an address), and a role phrase whose wildcard
    takes in the first name ('thinks it's her ex Jamie X') still names that person."""
    doc = nlp("Car belonging to Mr Ian CROFT. Thinks it's her ex Jamie NORTH. Seen on Canal Path OSTON.")
    persons = {p["name"]: set(p["roles"]) for p in doc.user_data["crimedetect.persons"]}
    assert "Ian CROFT" in persons and "Path OSTON" not in persons
    assert "suspect" in persons["Jamie NORTH"]


def test_person_finder_first_names_sharing_a_surname(nlp: spacy.language.Language) -> None:
    """v115v: 'Mia (8) and Leo (6) FARRELL' names two children of one surname, with their ages;
    a couple named bare ('Couple Sam & Leanne X') or a family word ('Mum and Jo X') names one."""
    doc = nlp(
        "Both children, Mia (8) and Leo (6) FARRELL, seen. Couple Sam & Leanne CORBETT argued. "
        "Mum and Jo KING home."
    )
    persons = {p["name"]: p["age"] for p in doc.user_data["crimedetect.persons"]}
    assert persons.get("Mia FARRELL") == 8 and persons.get("Leo FARRELL") == 6
    assert "Leanne CORBETT" in persons and "Sam CORBETT" not in persons
    assert "Jo KING" in persons and "Mum KING" not in persons


def test_folds_into_reads_the_counting_table_without_building_the_pipeline() -> None:
    """The ensemble's principal-crime table comes from counting.yaml; a scan whose rules run
    in workers asks for it in the main process, which need not load spaCy for it."""
    detector = RuleDetector()
    folds = detector.folds_into
    assert detector._nlp is None
    assert "violence_with_injury" in folds["violence_without_injury"]
    assert folds == load_counting(None).subsumed_by


def test_person_finder_clause_word_before_a_ward_role(nlp: spacy.language.Language) -> None:
    """v116v: 'When HCA Rosa X' opens a clause with a ward role: neither 'When HCA' nor 'HCA'
    is a person, Rosa X is."""
    doc = nlp("When HCA Rosa LEE stepped in he scratched her arm. RGN Paul AMOS saw it.")
    persons = {p["name"] for p in doc.user_data["crimedetect.persons"]}
    assert "When HCA" not in persons and "Rosa LEE" in persons and "Paul AMOS" in persons


def test_person_finder_account_from_and_venue_words(nlp: spacy.language.Language) -> None:
    """v117v: 'Account from Ethan X' names a person (what they gave, not an address); a venue
    word before a town in capitals ('Bargain Stop OSTON') and a sentence-opening word before a
    surname ('Custody DOYLE') are no first names."""
    doc = nlp("Account from Ethan PYE (15) taken. Staff at Bargain Stop OSTON rang. Custody DOYLE booked in.")
    persons = {p["name"]: p["age"] for p in doc.user_data["crimedetect.persons"]}
    assert persons.get("Ethan PYE") == 15
    assert "Stop OSTON" not in persons and "Custody DOYLE" not in persons
