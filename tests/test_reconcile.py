"""Reconcile: matching disclosures to crime records and the findings it gives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from crimedetect.contract import Crime, Disclosure, Evidence, Record
from crimedetect.hocr import severity_rank
from crimedetect.io import load_all
from crimedetect.reconcile import (
    ConfigError,
    CrimeIndex,
    finding_quality,
    judge_cancellation,
    load_avi,
    load_settings,
    oracle_disclosures,
    parse_victim,
    reconcile,
    victim_match,
)


def make_record(
    *entries: tuple[str, str], record_id: str = "INC-1", linked: list[str] | None = None
) -> Record:
    return Record(
        record_id=record_id,
        linked_record_ids=linked or [],
        entries=[{"at": at, "text": text, "author": "PC 1"} for at, text in entries],
    )


def disclosure(
    category: str, victim: str | None = None, entry: int = 0, score: float = 0.9, **extra
) -> Disclosure:
    return Disclosure(
        category=category,
        victim=victim,
        score=score,
        by=["rules"],
        evidence=[Evidence(entry=entry, start=0, end=4, text="text")],
        first_entry=entry,
        **extra,
    )


def crime(crime_id: str, category: str | None, victim: str | None = None, **fields) -> Crime:
    fields.setdefault("record_ids", ["INC-1"])
    fields.setdefault("recorded_at", "2017-01-04T22:00:00Z")
    return Crime(crime_id=crime_id, category=category, victim=victim, **fields)


RECORD = make_record(
    ("2017-01-04T21:13:00Z", "RP states he slapped her and her sister."),
    ("2017-01-07T10:00:00Z", "PPU: he has sent over 40 texts since."),
)


def types(flag) -> Counter:
    return Counter({(f.type, f.category): f.count for f in flag.findings})


# --------------------------------------------------------------------------- victims


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Kelly MORRIS", "kelly morris", 3),
        ("Kelly MORRIS", "Kelly MORIS", 3),  # spelling
        ("Mrs Kelly Morris", "Kelly MORRIS", 3),  # title
        ("MORRIS", "Kelly MORRIS", 2),  # SURNAME only
        ("K MORRIS", "Kelly MORRIS", 3),  # initial
        ("IP", "Kelly MORRIS", 1),  # a role matches anyone, weakly
        (None, "Kelly MORRIS", 1),
        ("Dean MORRIS", "Kelly MORRIS", 0),  # same surname, another person
        ("Kelly MORRIS", "Jade FENWICK", 0),
    ],
)
def test_victim_match(a: str | None, b: str, expected: int) -> None:
    assert victim_match(parse_victim(a), parse_victim(b)) == expected


# --------------------------------------------------------------------------- AVI


@pytest.mark.parametrize(
    ("reason", "supported"),
    [
        ("Victim no longer wishes to proceed", False),
        ("victim uncontactable", False),
        ("IP failed to respond to 3 contact attempts - unable to confirm crime details", False),
        ("Victim retracted complaint and does not support prosecution", False),
        ("Suspect denies the offence, NFA", False),
        ("CCTV shows the property was never taken", True),
        ("AVI - doorbell camera footage shows damage caused accidentally by a grass cutter", True),
        ("Phone found where the owner left it in her car, mislaid", True),
        ("Duplicate of CR-17-000123", True),
        ("Victim withdrew. CCTV shows no offence took place", True),  # evidence beats withdrawal
        ("AVI", False),  # a bare label is not the information itself
        ("AVI - Doorbell camera footage shosw the damage was caused by a passing lorry", True),  # typo
        ("AVI: victim no longer wishes to proceed", False),  # labelled AVI, but it is not
        ("Vehicle taken by her partner with permission; confirmed by the driver", True),
        ("Laptop found at his mum's house by IP, no theft.", True),
        ("No independent witnesses, word against word", False),
        ("Van towed by the council from a bus lane, not stolen", True),
        ("Car repossessed by the finance company, confirmed with them", True),
        ("Owner thinks it may have been towed, unable to confirm", False),
        (None, False),
    ],
)
def test_judge_cancellation(reason: str | None, supported: bool) -> None:
    assert judge_cancellation(reason).supported is supported


def test_settings_files_validate_and_name_the_problem(tmp_path: Path) -> None:
    assert load_settings().min_finding_score == pytest.approx(0.5)
    assert load_avi().not_avi
    bad = tmp_path / "reconcile.yaml"
    text = (Path(__file__).parents[1] / "src/crimedetect/resources/reconcile.yaml").read_text()
    bad.write_text(text.replace("theft: [robbery, burglary]", "theft: [robbery, burglery]"))
    with pytest.raises(ConfigError, match=r"reconcile\.yaml: confusions"):
        load_settings(str(bad))
    bad_avi = tmp_path / "avi.yaml"
    bad_avi.write_text(
        "version: 1\nverifiable: [{id: x, pattern: '(unclosed'}]\nvalid_ground: []\nnot_avi: []\n"
    )
    with pytest.raises(ConfigError, match=r"avi\.yaml: verifiable\.0\.pattern"):
        load_avi(str(bad_avi))


# --------------------------------------------------------------------------- findings


def test_two_victims_one_crime_is_one_missing() -> None:
    flag = reconcile(
        RECORD,
        [
            disclosure("violence_without_injury", "Kelly MORRIS"),
            disclosure("violence_without_injury", "Amy MORRIS"),
        ],
        [crime("C1", "violence_without_injury", "Kelly MORRIS")],
    )
    assert types(flag) == Counter({("unrecorded", "violence_without_injury"): 1})
    assert flag.findings[0].victims == ["Amy MORRIS"]
    assert flag.crime_ids == ["C1"]


def test_surname_only_disclosure_matches_its_crime() -> None:
    flag = reconcile(
        RECORD,
        [disclosure("violence_without_injury", "MORRIS")],
        [crime("C1", "violence_without_injury", "Kelly MORRIS")],
    )
    assert flag.findings == []


def test_over_classification_matches_without_a_finding() -> None:
    # Recorded with injury, the text shows none: matched (not unrecorded), not reported by default.
    flag = reconcile(
        RECORD,
        [disclosure("violence_without_injury", "Kelly MORRIS")],
        [crime("C1", "violence_with_injury", "Kelly MORRIS")],
    )
    assert flag.findings == []


def test_misclassified_carries_disclosed_category_and_crime_id() -> None:
    flag = reconcile(
        RECORD,
        [disclosure("violence_with_injury", "Kelly MORRIS")],
        [crime("C1", "violence_without_injury", "Kelly MORRIS")],
    )
    [finding] = flag.findings
    assert (finding.type, finding.category, finding.crime_id) == (
        "misclassified",
        "violence_with_injury",
        "C1",
    )
    assert "less serious" in finding.detail


@pytest.mark.parametrize(
    ("beside", "slavery_score", "expected"),
    [
        ([], None, {("unrecorded", "other_notifiable"): 1}),  # drugs alone: unrecorded
        (["modern_slavery"], 0.9, {}),  # found with a victim of modern slavery: not flagged
        (["modern_slavery"], 0.2, {("unrecorded", "other_notifiable"): 1}),  # slavery not credible
    ],
)
def test_drugs_beside_modern_slavery_are_not_flagged_unrecorded(
    beside: list[str], slavery_score: float | None, expected: dict
) -> None:
    disclosures = [disclosure("other_notifiable", "State")]
    disclosures += [disclosure(c, "Duc LE", score=slavery_score or 0.9) for c in beside]
    crimes = [crime("C1", "modern_slavery", "Duc LE")] if beside else []
    assert types(reconcile(RECORD, disclosures, crimes)) == Counter(expected)


def test_drugs_beside_modern_slavery_still_match_a_recorded_drugs_crime() -> None:
    flag = reconcile(
        RECORD,
        [disclosure("other_notifiable", "State"), disclosure("modern_slavery", "Duc LE")],
        [crime("C1", "modern_slavery", "Duc LE"), crime("C2", "other_notifiable", "State")],
    )
    assert types(flag) == Counter() and flag.crime_ids == ["C1", "C2"]


@pytest.mark.parametrize(
    ("greater_by", "lesser_by", "greater_victim", "expected"),
    [
        # the model's burglary beside the rules' theft of the same victim: the force's theft
        # crime under-records the burglary, and the theft is part of it
        (["model"], ["rules"], None, {("misclassified", "burglary"): 1}),
        (["rules"], ["model"], "Kelly MORRIS", {("misclassified", "burglary"): 1}),
        # both the rules': their counting kept them apart (separate incidents), so they stay apart
        (["rules"], ["rules"], "Kelly MORRIS", {("unrecorded", "burglary"): 1}),
        # another victim's burglary is not the theft crime's
        (["model"], ["rules"], "Dean SHAW", {("unrecorded", "burglary"): 1}),
    ],
)
def test_a_lesser_crime_recorded_answers_the_greater_one_it_is_part_of(
    greater_by: list[str], lesser_by: list[str], greater_victim: str | None, expected: dict
) -> None:
    disclosures = [
        disclosure("burglary", greater_victim).model_copy(update={"by": greater_by}),
        disclosure("theft", "Kelly MORRIS").model_copy(update={"by": lesser_by}),
    ]
    flag = reconcile(RECORD, disclosures, [crime("C1", "theft", "Kelly MORRIS")])
    assert types(flag) == Counter(expected)
    if ("misclassified", "burglary") in expected:
        assert flag.findings[0].crime_id == "C1"


def test_a_crime_is_late_from_the_first_entry_telling_any_part_of_it() -> None:
    # The theft is told at entry 0 (4 Jan), the model's burglary only in entry 1 (7 Jan); the
    # theft crime recorded on 6 Jan is late for the burglary it under-records, and both
    # disclosures are in the findings' trace.
    disclosures = [
        disclosure("theft", "Kelly MORRIS", entry=0),
        disclosure("burglary", None, entry=1).model_copy(update={"by": ["model"]}),
    ]
    flag = reconcile(
        RECORD, disclosures, [crime("C1", "theft", "Kelly MORRIS", recorded_at="2017-01-06T09:00:00Z")]
    )
    assert types(flag) == Counter({("misclassified", "burglary"): 1, ("late", "burglary"): 1})
    assert all(sorted(f.disclosures) == [0, 1] for f in flag.findings)
    late = next(f for f in flag.findings if f.type == "late")
    assert late.first_entry == 0
    misclassified = next(f for f in flag.findings if f.type == "misclassified")
    assert "the theft disclosed with it is part of it" in misclassified.detail


def test_unusual_pairing_is_not_called_a_misclassification() -> None:
    # A criminal damage crime is not a record of the harassment disclosed: the harassment is unrecorded.
    flag = reconcile(
        RECORD,
        [disclosure("stalking_harassment", "Kelly MORRIS", entry=1)],
        [crime("C1", "criminal_damage_arson", "Kelly MORRIS")],
    )
    assert types(flag) == Counter({("unrecorded", "stalking_harassment"): 1})


def test_category_equivalence_through_offence_code() -> None:
    coded = Crime(
        crime_id="C1",
        record_ids=["INC-1"],
        offence_code="8N",
        victim="Kelly MORRIS",
        recorded_at="2017-01-04T22:00:00Z",
    )
    flag = reconcile(RECORD, [disclosure("violence_with_injury", "Kelly MORRIS")], [coded])
    assert flag.findings == []


def test_late_is_measured_from_the_disclosing_entry_not_the_record_opening() -> None:
    harassment = disclosure("stalking_harassment", "Kelly MORRIS", entry=1)
    # Recorded 5 hours after the PPU entry that disclosed it, 3 days after the record opened: on time.
    on_time = crime("C1", "stalking_harassment", "Kelly MORRIS", recorded_at="2017-01-07T15:00:00Z")
    assert reconcile(RECORD, [harassment], [on_time]).findings == []
    # 30 hours after the disclosing entry: late.
    late = crime("C1", "stalking_harassment", "Kelly MORRIS", recorded_at="2017-01-08T16:00:00Z")
    [finding] = reconcile(RECORD, [harassment], [late]).findings
    assert (finding.type, finding.crime_id, finding.hours) == ("late", "C1", 30.0)


def test_timeliness_follows_the_counting_edition() -> None:
    # Before April 2015 the limit was 72 hours.
    record = make_record(("2015-01-04T10:00:00Z", "he slapped her"))
    c = crime("C1", "violence_without_injury", recorded_at="2015-01-06T10:00:00Z")
    assert reconcile(record, [disclosure("violence_without_injury")], [c]).findings == []


def test_transferred_counts_as_recorded() -> None:
    c = crime("C1", "theft", status="transferred", recorded_at="2017-02-01T00:00:00Z")
    assert reconcile(RECORD, [disclosure("theft")], [c]).findings == []


def test_n100_missing_and_n100_counts_for_rape_only() -> None:
    report = disclosure("rape", cues=["unconfirmed"])
    assert types(reconcile(RECORD, [report], [])) == Counter({("n100_missing", "rape"): 1})
    n100 = crime("N1", "rape", offence_code="N100", status="n100")
    assert reconcile(RECORD, [report], [n100]).findings == []
    # An N100 given only by its classification code counts too.
    coded = Crime(crime_id="N3", record_ids=["INC-1"], offence_code="N100", status="n100")
    assert reconcile(RECORD, [report], [coded]).findings == []
    # An N100 does not cover other categories.
    n100_theft = crime("N2", "theft", status="n100")
    assert types(reconcile(RECORD, [disclosure("theft")], [n100_theft])) == Counter(
        {("unrecorded", "theft"): 1}
    )


def test_n100_answers_a_rape_report_and_uncertain_reports_need_one() -> None:
    third_party = disclosure("rape", "Abbie TRELAWNEY", cues=["third_party", "victim_declines"])
    n100 = crime("N1", "rape", victim="Abbie TRELAWNEY", offence_code="N100", status="n100")
    assert reconcile(RECORD, [third_party], [n100]).findings == []
    # Third party, declining: still a rape to record when no N100 was raised.
    assert types(reconcile(RECORD, [third_party], [])) == Counter({("unrecorded", "rape"): 1})
    unsure = disclosure("rape", "Abbie TRELAWNEY", cues=["third_party", "uncertain"])
    assert types(reconcile(RECORD, [unsure], [])) == Counter({("n100_missing", "rape"): 1})
    # A professional reporting in role: a rape to record, not an N100.
    professional = disclosure("rape", "Abbie TRELAWNEY", cues=["uncertain", "professional"])
    assert types(reconcile(RECORD, [professional], [])) == Counter({("unrecorded", "rape"): 1})
    # ... unless the victim cannot say whether anything happened: still an N100 report.
    unsure_too = disclosure("rape", "Abbie TRELAWNEY", cues=["victim_unsure", "professional"])
    assert types(reconcile(RECORD, [unsure_too], [])) == Counter({("n100_missing", "rape"): 1})
    # ... or the rape is known only as a rumour a professional relays.
    rumour = disclosure("rape", "Abbie TRELAWNEY", cues=["unconfirmed", "rumour", "professional"])
    assert types(reconcile(RECORD, [rumour], [])) == Counter({("n100_missing", "rape"): 1})
    # Strict reading: only reports cued as uncertain are answered by an N100.
    strict = load_settings().model_copy(update={"n100_answers_any_rape_report": False})
    assert types(reconcile(RECORD, [third_party], [n100], settings=strict)) == Counter(
        {("unrecorded", "rape"): 1}
    )


@pytest.mark.parametrize(
    ("category", "cues", "expected"),
    [
        ("rape", ["unconfirmed"], Counter({("n100_missing", "rape"): 1})),  # a report: any score
        ("rape", [], Counter()),  # a rape crime scored below the threshold: no finding
        # the ensemble kept a rape the rules read but scored under a crime (reconcile-10)
        ("rape", ["report_only"], Counter({("n100_missing", "rape"): 1})),
        ("rape", ["report_only", "professional"], Counter()),  # a professional's: recorded, not N100
        ("theft", ["unconfirmed"], Counter()),
    ],
)
def test_a_rape_report_needs_an_n100_whatever_its_score(
    category: str, cues: list[str], expected: Counter
) -> None:
    """The score is the chance of a rape crime; a report cued as not (yet) a crime still needs
    an N100 when an ensemble scores it low."""
    low = disclosure(category, "Abbie TRELAWNEY", score=0.1, cues=cues)
    assert types(reconcile(RECORD, [low], [])) == expected


def test_a_rape_report_beside_another_sexual_crime_needs_its_own_n100() -> None:
    """A rape report that does not amount to a crime is answered by a rape crime or an N100,
    not by the sexual assault the force recorded: that is no misclassification (reconcile-6)."""
    assault = crime("S1", "other_sexual_offence", victim="Abbie TRELAWNEY", offence_code="20A")
    report = disclosure("rape", "Abbie TRELAWNEY", cues=["unconfirmed"])
    assert types(reconcile(RECORD, [report], [assault])) == Counter({("n100_missing", "rape"): 1})
    # A rape disclosed as a crime, recorded as sexual assault: misclassified.
    told = disclosure("rape", "Abbie TRELAWNEY")
    assert types(reconcile(RECORD, [told], [assault])) == Counter({("misclassified", "rape"): 1})
    # A professional's report is recorded as rape: still a misclassification.
    relayed = disclosure("rape", "Abbie TRELAWNEY", cues=["uncertain", "professional"])
    assert types(reconcile(RECORD, [relayed], [assault])) == Counter({("misclassified", "rape"): 1})


def test_cancellation_without_avi_is_flagged_with_avi_it_is_not() -> None:
    withdrawn = crime(
        "C1",
        "violence_without_injury",
        "Kelly MORRIS",
        status="cancelled",
        cancellation_reason="victim no longer wishes to proceed",
    )
    [finding] = reconcile(
        RECORD, [disclosure("violence_without_injury", "Kelly MORRIS")], [withdrawn]
    ).findings
    assert (finding.type, finding.crime_id, finding.avi_ground) == (
        "cancellation_unsupported",
        "C1",
        "not_avi",
    )
    cctv = withdrawn.model_copy(update={"cancellation_reason": "CCTV shows the property was never taken"})
    assert reconcile(RECORD, [disclosure("violence_without_injury", "Kelly MORRIS")], [cctv]).findings == []
    # A cancelled crime without a matching disclosure is still judged: the record shows a report was made.
    [finding] = reconcile(RECORD, [], [withdrawn]).findings
    assert finding.type == "cancellation_unsupported"


def test_no_misclassification_of_a_crime_cancelled_with_avi() -> None:
    """v118ar: a crime cancelled on verifiable information records nothing, so a more
    serious category disclosed is no misclassification of it; cancelled without AVI, it is."""
    footage = crime(
        "C1",
        "violence_without_injury",
        "Kelly MORRIS",
        status="cancelled",
        cancellation_reason="CCTV shows no offence took place",
    )
    disclosed = [disclosure("violence_with_injury", "Kelly MORRIS")]
    assert reconcile(RECORD, disclosed, [footage]).findings == []
    withdrawn = footage.model_copy(update={"cancellation_reason": "victim no longer wishes to proceed"})
    assert {f.type for f in reconcile(RECORD, disclosed, [withdrawn]).findings} == {
        "misclassified",
        "cancellation_unsupported",
    }


def test_low_scores_match_but_raise_no_finding() -> None:
    weak = disclosure("burglary", score=0.2)
    flag = reconcile(RECORD, [weak], [])
    assert flag.findings == [] and len(flag.disclosed) == 1


def test_crime_index_links_and_problems() -> None:
    own = crime("C1", "theft", record_ids=["INC-2"])
    linked = crime("C2", "theft", record_ids=["INC-9"])
    stray = crime("C3", "theft", record_ids=["NOPE"])
    orphan = crime("C4", "theft", record_ids=[])
    index = CrimeIndex.build([own, linked, stray, orphan])
    record = make_record(("2017-01-04T21:13:00Z", "x"), record_id="INC-2", linked=["INC-9"])
    assert [c.crime_id for c in index.for_record(record)] == ["C1", "C2"]
    # A record that INC-2 links to sees INC-2's crimes when the link is registered.
    index.add_links("INC-2", ["INC-9"])
    assert [c.crime_id for c in index.for_record("INC-9")] == ["C2", "C1"]
    problems = {(p.crime_id, p.problem) for p in index.problems({"INC-2", "INC-9"})}
    assert problems == {("C3", "unknown_record"), ("C4", "no_record_ids")}


def test_own_crime_preferred_over_linked_one() -> None:
    own = crime("C1", "theft", record_ids=["INC-1"])
    linked = crime("C2", "theft", record_ids=["INC-0"])
    record = make_record(("2017-01-04T21:13:00Z", "x"), linked=["INC-0"])
    index = CrimeIndex.build([linked, own])
    flag = reconcile(record, [disclosure("theft")], index.for_record(record))
    assert flag.findings == [] and set(flag.crime_ids) == {"C1", "C2"}


def test_priority_is_a_probability() -> None:
    flag = reconcile(RECORD, [disclosure("violence_with_injury", score=0.95)], [])
    quiet = reconcile(RECORD, [], [])
    assert 0.0 <= quiet.priority < flag.priority <= 1.0


# --------------------------------------------------------------------------- dev set


def test_oracle_disclosures_reproduce_the_dev_readme(dev_dir: Path) -> None:
    """With perfect disclosures, reconcile finds exactly what the dev README counts."""
    records = load_all(dev_dir / "records.jsonl")
    crimes = load_all(dev_dir / "crimes.jsonl")
    audits = {a.record_id: a for a in load_all(dev_dir / "audits.jsonl")}
    index = CrimeIndex.build(crimes)
    # The README counts every category difference, over-classification included.
    every_difference = load_settings().model_copy(update={"report_over_classification": True})
    flags = [
        reconcile(
            r, oracle_disclosures(r, audits[r.record_id]), index.for_record(r), settings=every_difference
        )
        for r in records
    ]
    totals: Counter = Counter()
    for flag in flags:
        for finding in flag.findings:
            totals[finding.type] += finding.count
    assert totals == Counter(
        {"unrecorded": 30, "late": 10, "misclassified": 8, "cancellation_unsupported": 3, "n100_missing": 1}
    )
    quality = finding_quality(flags, audits.values(), records, crimes)
    assert all(q.precision == 1.0 and q.recall == 1.0 for q in quality.values())
    assert "any_finding" in quality
    # The default settings report only under-classification; on dev every category difference
    # is one (criminal damage of a few hundred pounds ranks below common assault).
    default = [reconcile(r, oracle_disclosures(r, audits[r.record_id]), index.for_record(r)) for r in records]
    under = [f for flag in default for f in flag.findings if f.type == "misclassified"]
    assert len(under) == 8
    assert all(severity_rank(str(f.category)) < severity_rank(str(f.recorded_category)) for f in under)
    assert sum(f.count for flag in default for f in flag.findings if f.type == "unrecorded") == 30


@pytest.mark.parametrize("part_name", ["development", "held_out"])
def test_evaluation_scores_one_part_of_dev(
    dev_dir: Path, part_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--part`` scores only that part's records: the oracle's counts of the two parts add up
    to the whole set's."""
    import json

    from crimedetect.reconcile import main

    def actual(*extra: str) -> dict[str, int]:
        main(
            [
                "--oracle",
                "--records",
                str(dev_dir / "records.jsonl"),
                "--crimes",
                str(dev_dir / "crimes.jsonl"),
                "--audits",
                str(dev_dir / "audits.jsonl"),
                *extra,
            ]
        )
        rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        return {row["type"]: row["actual"] for row in rows}

    whole = actual()
    one = actual("--part", part_name)
    other = actual("--part", "held_out" if part_name == "development" else "development")
    assert 0 < one["any_finding"] < whole["any_finding"]
    assert {t: one[t] + other[t] for t in whole} == whole


def blind_files() -> list[str]:
    """The measuring command's input options for the bundled blind set."""
    blind = Path(__file__).resolve().parents[1] / "data" / "blind"
    return [f"--{name}={blind / name}.jsonl" for name in ("records", "crimes", "audits")]


def test_evaluation_scores_chosen_batches(capsys: pytest.CaptureFixture[str]) -> None:
    """``--id-prefix`` takes several prefixes: the oracle's counts of two batches scored
    together are those of each scored alone, added."""
    import json

    from crimedetect.reconcile import main

    def actual(*prefixes: str) -> dict[str, int]:
        main(["--oracle", *blind_files(), "--id-prefix", *prefixes])
        rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        return {row["type"]: row["actual"] for row in rows}

    a, c, both = actual("BL-A-"), actual("BL-C-"), actual("BL-A-", "BL-C-")
    assert a["any_finding"] > 0 and c["any_finding"] > 0
    assert {t: a[t] + c[t] for t in both} == both


def test_oracle_agrees_with_every_audit_of_the_blind_set() -> None:
    """The bundled blind set (data/blind) is labelled consistently with reconcile: its audits'
    own disclosures give exactly the recording failures the audits establish."""
    blind = Path(__file__).resolve().parents[1] / "data" / "blind"
    records = load_all(blind / "records.jsonl")
    crimes = load_all(blind / "crimes.jsonl")
    audits = {a.record_id: a for a in load_all(blind / "audits.jsonl")}
    assert len(records) == len(audits) == 8680
    index = CrimeIndex.build(crimes)
    flags = [reconcile(r, oracle_disclosures(r, audits[r.record_id]), index.for_record(r)) for r in records]
    quality = finding_quality(flags, audits.values(), records, crimes)
    assert quality["any_finding"].actual == 3888
    assert {t: (q.precision, q.recall) for t, q in quality.items()} == {t: (1.0, 1.0) for t in quality}


TWO_ENTRIES = make_record(
    ("2017-01-04T21:13:00Z", "Caller states Dean MORRIS punched her and Amy LEE."),
    ("2017-01-05T09:00:00Z", "Update: Amy LEE also assaulted."),
)


@pytest.mark.parametrize(
    ("same_entry", "second_entry", "unrecorded"),
    [
        (False, 0, 1),  # default: every second victim beside the recorded one is counted
        (False, 1, 1),
        (True, 0, 1),  # told in the entry that tells the recorded victim: still counted
        (True, 1, 0),  # told only in another entry: no finding, still disclosed
    ],
)
def test_second_victim_same_entry(same_entry: bool, second_entry: int, unrecorded: int) -> None:
    settings = load_settings().model_copy(update={"second_victim_same_entry": same_entry})
    disclosed = [
        disclosure("violence_without_injury", "Kelly MORRIS", entry=0),
        disclosure("violence_without_injury", "Amy LEE", entry=second_entry),
    ]
    flag = reconcile(
        TWO_ENTRIES, disclosed, [crime("C1", "violence_without_injury", "Kelly MORRIS")], settings=settings
    )
    found = [f for f in flag.findings if f.type == "unrecorded"]
    assert sum(f.count for f in found) == unrecorded
    assert len(flag.disclosed) == 2
    if found:
        assert found[0].victims == ["Amy LEE"]


def test_second_victim_same_entry_needs_a_recorded_crime_of_the_category() -> None:
    """With nothing recorded in the category, both victims are unrecorded whatever the entry."""
    settings = load_settings().model_copy(update={"second_victim_same_entry": True})
    disclosed = [
        disclosure("violence_without_injury", "Kelly MORRIS", entry=0),
        disclosure("violence_without_injury", "Amy LEE", entry=1),
    ]
    flag = reconcile(TWO_ENTRIES, disclosed, [crime("C1", "theft", "Kelly MORRIS")], settings=settings)
    assert sum(f.count for f in flag.findings if f.type == "unrecorded") == 2


def test_second_victim_same_entry_trusts_an_audits_own_disclosures() -> None:
    """The setting guards against detectors' spurious victims: the audits' own disclosures (the
    oracle's) keep every victim they name, wherever it is told."""
    settings = load_settings().model_copy(update={"second_victim_same_entry": True})
    disclosed = [
        disclosure("violence_without_injury", "Kelly MORRIS", entry=0),
        disclosure("violence_without_injury", "Amy LEE", entry=1).model_copy(update={"by": ["audit"]}),
    ]
    flag = reconcile(
        TWO_ENTRIES, disclosed, [crime("C1", "violence_without_injury", "Kelly MORRIS")], settings=settings
    )
    assert sum(f.count for f in flag.findings if f.type == "unrecorded") == 1


def test_second_audits_are_measured_against_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--second-audits``: a second auditor's findings scored against the first auditor's, on
    the records both audited. Dropping one unrecorded crime from one second audit costs exactly
    that finding's recall; the shipped second audits of CM agree with the writer's entirely."""
    import json

    from crimedetect.reconcile import main

    blind = Path(__file__).resolve().parents[1] / "data" / "blind"
    first = [a for a in load_all(blind / "audits.jsonl") if a.record_id.startswith("BL-CM-")][:30]
    missed = next(a for a in first if any(c.crime_id is None for c in a.crimes))
    second = [
        a.model_copy(update={"crimes": [c for c in a.crimes if c.crime_id is not None]}) if a is missed else a
        for a in first
    ]
    path = tmp_path / "second.jsonl"
    path.write_text("".join(a.model_dump_json() + "\n" for a in second), encoding="utf-8")

    def rows(second_audits: Path) -> dict[str, dict]:
        main([*blind_files(), "--second-audits", str(second_audits)])
        return {row["type"]: row for row in json.loads(capsys.readouterr().out.strip().splitlines()[-1])}

    scored = rows(path)["unrecorded"]
    categories = {str(c.category) for c in missed.crimes if c.crime_id is None}
    expected = sum(len({str(c.category) for c in a.crimes if c.crime_id is None}) for a in first)
    assert scored["actual"] == expected  # only the 30 records both audited
    assert (scored["tp"], scored["predicted"]) == (expected - len(categories),) * 2
    shipped = rows(blind / "second_audits" / "CM.jsonl")
    assert all(row["precision"] in (1.0, None) and row["recall"] in (1.0, None) for row in shipped.values())
