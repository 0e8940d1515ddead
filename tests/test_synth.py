"""The synthetic force: determinism, contract validity, label conventions, hard cases, splits."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from crimedetect.cli import app
from crimedetect.contract import Audit, Crime, Record
from crimedetect.io import ReadStats, RejectedLines, read_contract
from crimedetect.synth import generate, load_bank, load_profile
from crimedetect.synth.bank import SPLITS, VARIANTS, PhraseBankError
from crimedetect.synth.generator import Force
from crimedetect.synth.grammar import TemplateError, add_typos, compile_template, render
from crimedetect.synth.profile import SCENARIOS, ProfileError, load_profile_file, profiles_dir
from crimedetect.synth.writer import FILES, ResumeError, write_synthetic

PHRASES = Path(__file__).resolve().parents[1] / "src" / "crimedetect" / "synth" / "phrases"


def _dump(triples: list[tuple[Record, list[Crime], Audit]]) -> str:
    return json.dumps(
        [(r.to_json_dict(), [c.to_json_dict() for c in cs], a.to_json_dict()) for r, cs, a in triples]
    )


@pytest.fixture(scope="module")
def sample() -> list[tuple[Record, list[Crime], Audit]]:
    """3,000 validated records of the default profile (train split)."""
    return list(generate(3000, seed=11, validate=True))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    write_synthetic(out, 800, seed=5, split="test")
    return out


# ----------------------------------------------------------------------------- grammar


def test_template_grammar_alternatives_slots_fragments() -> None:
    import random

    template = compile_template("{ss} [hit|[kicked|punched] hard] {vo}[ twice|] {@where}")
    frags = {"where": [compile_template("in the [face|leg]")]}
    seen = {render(template, random.Random(i), {"ss": "he", "vo": "her"}, frags) for i in range(300)}
    assert "he hit her in the face" in seen
    assert "he punched hard her twice in the leg" in seen
    assert all("  " not in s and not s.endswith(" ") for s in seen)
    with pytest.raises(TemplateError):
        compile_template("he [hit her")
    with pytest.raises(TemplateError):
        compile_template("he hit| her")


def test_typos_never_touch_names_in_capitals() -> None:
    import random

    text = "Kelly MORRIS states that Dean HOLLIS punched her repeatedly yesterday"
    for i in range(200):
        out = add_typos(text, random.Random(i), 1.0)
        assert "MORRIS" in out and "HOLLIS" in out and "Kelly" in out and "Dean" in out


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_output_other_seed_differs() -> None:
    first = _dump(list(generate(300, seed=3)))
    assert first == _dump(list(generate(300, seed=3)))
    assert first != _dump(list(generate(300, seed=4)))
    assert first != _dump(list(generate(300, seed=3, split="test")))


def test_validated_and_fast_paths_agree() -> None:
    assert _dump(list(generate(200, seed=9))) == _dump(list(generate(200, seed=9, validate=True)))


def test_start_resumes_mid_run() -> None:
    whole = list(generate(120, seed=2))
    tail = list(generate(120, seed=2, start=70))
    assert _dump(whole[70:]) == _dump(tail)


def test_generate_is_lazy() -> None:
    stream = generate(10**9, seed=1)
    record, _, audit = next(stream)
    assert record.record_id == audit.record_id


def test_resume_after_interruption_gives_identical_files(tmp_path: Path) -> None:
    full, cut = tmp_path / "full", tmp_path / "cut"
    write_synthetic(full, 400, seed=8)
    write_synthetic(cut, 400, seed=8)
    # Simulate a crash: files stop at different places, the last line half written.
    for name, keep in (("records.jsonl", 250), ("audits.jsonl", 180), ("crimes.jsonl", 60)):
        lines = (cut / name).read_bytes().splitlines(keepends=True)
        (cut / name).write_bytes(b"".join(lines[:keep]) + lines[keep][:17])
    manifest = json.loads((cut / "synth.json").read_text())
    manifest.pop("complete")  # as a crashed run leaves it
    (cut / "synth.json").write_text(json.dumps(manifest))
    summary = write_synthetic(cut, 400, seed=8, resume=True)
    assert 0 < summary.resumed_from <= 180
    for name in FILES:
        assert (cut / name).read_bytes() == (full / name).read_bytes(), name
    again = write_synthetic(cut, 400, seed=8, resume=True)  # complete: nothing to do
    assert again.records == 0 and again.resumed_from == 400
    with pytest.raises(ResumeError):
        write_synthetic(cut, 400, seed=9, resume=True)


# ----------------------------------------------------------------------------- contract


def test_written_files_are_contract_valid(written: Path) -> None:
    for name, kind in zip(FILES, ("records", "crimes", "audits"), strict=True):
        stats = ReadStats(name)
        with RejectedLines(None) as sink:
            items = list(read_contract(written / name, kind, rejected=sink, stats=stats))
        assert stats.rejected == 0 and stats.accepted == len(items) > 0, name


def test_ids_unique_and_distinct_from_dev(written: Path) -> None:
    records = list(read_contract(written / "records.jsonl", "records"))
    crimes = list(read_contract(written / "crimes.jsonl", "crimes"))
    audits = list(read_contract(written / "audits.jsonl", "audits"))
    assert len({r.record_id for r in records}) == len(records) == len(audits) == 800
    assert [r.record_id for r in records] == [a.record_id for a in audits]
    assert len({c.crime_id for c in crimes}) == len(crimes)
    assert all(r.record_id.startswith("SYN-TE-") for r in records)
    assert all(c.crime_id.startswith("SYNC-TE-") for c in crimes)


def test_records_look_like_logs(sample: list[tuple[Record, list[Crime], Audit]]) -> None:
    entry_counts = Counter(len(r.entries) for r, _, _ in sample)
    assert set(entry_counts) >= {1, 2, 3, 4, 5, 6}
    assert max(entry_counts) <= 6
    kinds = Counter(r.kind for r, _, _ in sample)
    assert set(kinds) == {"incident", "safeguarding", "modern_slavery", "other"}
    for record, _, _ in sample:
        assert not record.entries_out_of_order()
        assert record.opened_at == record.entries[0].at
    text = " ".join(e.text for r, _, _ in sample for e in r.entries)
    for shorthand in ("IP", "RP", "DASH", "PPN", "NFA", "s/o", "A/O", "hrs"):
        assert re.search(rf"(?<![A-Za-z]){re.escape(shorthand)}", text), shorthand
    # victim names are 'Firstname SURNAME'
    names = [c.victim for _, _, a in sample for c in a.crimes if c.victim and " " in c.victim]
    assert names and sum(bool(re.fullmatch(r"[A-Z][a-z]+ [A-Z][A-Z'-]+", n)) for n in names) > 0.8 * len(
        names
    )


# ----------------------------------------------------------------------------- label conventions


def test_audits_follow_the_label_conventions(sample: list[tuple[Record, list[Crime], Audit]]) -> None:
    statuses: Counter[str] = Counter()
    for record, crimes, audit in sample:
        assert audit.record_id == record.record_id
        by_id = {c.crime_id: c for c in crimes}
        referenced = set()
        for audit_crime in audit.crimes:
            holders = [i for i, e in enumerate(record.entries) if audit_crime.evidence in e.text]
            assert holders, (record.record_id, audit_crime.evidence)
            if audit_crime.crime_id is None:
                statuses["unrecorded"] += 1
                continue
            crime = by_id[audit_crime.crime_id]
            referenced.add(crime.crime_id)
            assert record.record_id in crime.record_ids
            assert crime.status in ("recorded", "cancelled", "transferred")
            statuses[crime.status] += 1
            disclosed = record.entries[holders[0]].at
            assert crime.recorded_at is not None and crime.recorded_at > disclosed
            if crime.recorded_at - disclosed > timedelta(hours=24):
                statuses["late"] += 1
            if crime.resolved_category != audit_crime.category:
                statuses["misclassified"] += 1
            if crime.status == "cancelled":
                assert not crime.cancellation_reason.startswith("AVI")
        for crime in crimes:
            if crime.crime_id in referenced:
                continue
            # crimes no audit references: correct AVI cancellations and N100s
            assert crime.status in ("cancelled", "n100")
            if crime.status == "cancelled":
                assert crime.cancellation_reason.startswith("AVI")
                assert not audit.crimes
            else:
                assert audit.n100_required and crime.offence_code == "N100"
        if audit.n100_required:
            assert not audit.crimes
    for status in ("unrecorded", "recorded", "cancelled", "transferred", "late", "misclassified"):
        assert statuses[status] > 0, status
    assert any(a.n100_required and not cs for _, cs, a in sample)  # a missing N100
    assert any(a.n100_required and cs for _, cs, a in sample)  # a raised N100


# ----------------------------------------------------------------------------- hard cases


HARD_CASES = {
    "noncrime_negated_assault",
    "noncrime_hypothetical",
    "negated_detail",
    "negated_injury",
    "hypothetical_detail",
    "declines_action",
    "intoxicated",
    "professional_report",
    "historic",
    "fear_of_violence",
    "threat_to_kill",
    "noncrime_words_only",
    "noncrime_future_threat",
    "noncrime_fall",
    "noncrime_self_harm",
    "noncrime_civil",
    "noncrime_police_only_abuse",
    "multi_victim",
    "principal_crime",
    "behavioural_in_addition",
    "later_entry",
    "transferred",
    "n100",
    "modern_slavery",
    "slavery_with_rape",
    "slavery_with_violence_with_injury",
    "online_child",
    "young_suspect",
    "cancelled_with_avi",
    "coercive_control",
    "stalking",
    "single_entry",
    "suspect_denies",
    "injury_in_other_sentence",
    "noncrime_medical",
    "noncrime_sport_injury",
}


Triple = tuple[Record, list[Crime], Audit]


def _with_tag(sample: list[Triple], tag: str) -> list[Triple]:
    return [t for t in sample if tag in t[2].hard_cases]


def test_every_hard_case_is_generated(sample: list[tuple[Record, list[Crime], Audit]]) -> None:
    seen = {tag for _, _, a in sample for tag in a.hard_cases}
    assert HARD_CASES <= seen, HARD_CASES - seen


def test_hard_cases_carry_the_right_truth(sample: list[tuple[Record, list[Crime], Audit]]) -> None:
    for _record, _, audit in _with_tag(sample, "multi_victim"):
        assert len(audit.crimes) >= 2 and len({c.victim for c in audit.crimes}) == len(audit.crimes)
    for _record, _, audit in _with_tag(sample, "principal_crime"):
        assert len(audit.crimes) == 1  # the lesser crime is described but not counted
    for _record, _, audit in _with_tag(sample, "behavioural_in_addition"):
        categories = [c.category for c in audit.crimes]
        assert "stalking_harassment" in categories and len(categories) == 2
    for record, _, audit in _with_tag(sample, "later_entry"):
        last = audit.crimes[-1]
        holder = next(i for i, e in enumerate(record.entries) if last.evidence in e.text)
        assert holder >= 1 and record.entries[holder].at - record.entries[0].at >= timedelta(hours=23)
    for _record, crimes, audit in _with_tag(sample, "transferred"):
        assert len(audit.crimes) == 1
        assert all(c.status == "transferred" for c in crimes)
    for _record, _, audit in _with_tag(sample, "n100"):
        assert audit.n100_required and not audit.crimes
    for record, _, audit in _with_tag(sample, "modern_slavery"):
        assert record.kind == "modern_slavery" and audit.crimes[0].category == "modern_slavery"
    for _record, _, audit in _with_tag(sample, "slavery_with_rape"):
        assert [c.category for c in audit.crimes] == ["modern_slavery", "rape"]
    for _record, _, audit in _with_tag(sample, "online_child"):
        assert [c.category for c in audit.crimes] == ["other_sexual_offence"]
    for _record, _, audit in _with_tag(sample, "fear_of_violence") + _with_tag(sample, "negated_injury"):
        assert [c.category for c in audit.crimes] == ["violence_without_injury"]
    for _record, _, audit in _with_tag(sample, "injury_in_other_sentence"):
        assert [c.category for c in audit.crimes] == ["violence_with_injury"]
    for tag in ("declines_action", "intoxicated", "professional_report", "historic", "young_suspect"):
        assert all(a.crimes for _, _, a in _with_tag(sample, tag)), tag  # still crimes
    for _, _, audit in sample:
        if (
            any(t.startswith("noncrime_") for t in audit.hard_cases)
            or "cancelled_with_avi" in audit.hard_cases
        ):
            assert not audit.crimes


def test_harmless_records_use_alarming_words(sample: list[tuple[Record, list[Crime], Audit]]) -> None:
    harmless = " ".join(e.text for r, _, a in sample if not a.crimes for e in r.entries).lower()
    for phrase in ("no assault disclosed", "hit her head", "kill himself", "words only", "civil matter"):
        assert phrase in harmless, phrase


# ----------------------------------------------------------------------------- splits


def test_splits_share_no_offence_templates() -> None:
    train, test = load_bank("train"), load_bank("test")
    for category, variants in VARIANTS.items():
        for variant in variants:
            shared = set(train.raw_offences[category][variant]) & set(test.raw_offences[category][variant])
            assert not shared, (category, variant, shared)


def _normalised_evidence(split: str, n: int) -> set[str]:
    bank = load_bank(split)
    names = {w.upper() for w in bank.names["surname"]} | set(bank.names["female"]) | set(bank.names["male"])
    names |= set(bank.words["foreign_female"]) | set(bank.words["foreign_male"])
    out = set()
    for _, _, audit in generate(n, seed=21, split=split):
        for crime in audit.crimes:
            words = re.findall(r"[\w'/*]+", crime.evidence.lower() if crime.evidence else "")
            out.add(" ".join("<x>" if w.upper() in names or w.capitalize() in names else w for w in words))
    return out


def test_splits_share_no_generated_evidence_phrasing() -> None:
    train, test = _normalised_evidence("train", 2500), _normalised_evidence("test", 2500)
    assert len(train) > 1000 and len(test) > 1000
    assert not train & test, sorted(train & test)[:5]


# ----------------------------------------------------------------------------- data validation


def _copy_bank(tmp_path: Path) -> Path:
    target = tmp_path / "phrases"
    shutil.copytree(PHRASES, target)
    return target


def test_phrase_bank_errors_name_file_and_field(tmp_path: Path) -> None:
    bank_dir = _copy_bank(tmp_path)
    path = bank_dir / "train.yaml"
    data = yaml.safe_load(path.read_text())
    data["offences"]["robbery"]["personal"].append("{ss} took [{vp} bag")
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PhraseBankError, match=r"train\.yaml: offences\.robbery\.personal\[\d+\]"):
        load_bank("train", bank_dir)
    data["offences"]["robbery"]["personal"][-1] = "{ss} took {victim_bag}"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PhraseBankError, match="unknown slot"):
        load_bank("train", bank_dir)
    del data["offences"]["robbery"]["personal"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PhraseBankError, match=r"offences\.robbery\.personal"):
        load_bank("train", bank_dir)
    with pytest.raises(PhraseBankError, match="unknown split"):
        load_bank("validation", bank_dir)


def test_profiles_load_and_bad_profiles_are_named(tmp_path: Path) -> None:
    for name in ("leicestershire-2017", "good-force"):
        profile = load_profile(name)
        assert set(profile.scenarios) <= set(SCENARIOS)
    data = yaml.safe_load((profiles_dir() / "good-force.yaml").read_text())
    data["recording"]["rate"]["rape"] = 1.7
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ProfileError, match=r"bad\.yaml: recording\.rate"):
        load_profile_file(bad)
    with pytest.raises(ProfileError, match="unknown profile"):
        load_profile("no-such-force")


def test_every_scenario_has_a_builder() -> None:
    assert {name[4:] for name in dir(Force) if name.startswith("_sc_")} == set(SCENARIOS)
    assert set(SPLITS) == {"train", "test"}


# ----------------------------------------------------------------------------- CLI


def test_cli_writes_files_and_reports_rates(tmp_path: Path) -> None:
    out = tmp_path / "force"
    result = CliRunner().invoke(
        app,
        [
            "synth",
            "--records",
            "120",
            "--seed",
            "4",
            "--out",
            str(out),
            "--profile",
            "good-force",
            "--split",
            "test",
            "--report",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert all((out / name).exists() for name in FILES)
    assert sum(1 for _ in (out / "records.jsonl").open()) == 120
    rates = json.loads((out / "rates.json").read_text())
    assert rates["profile"] == "good-force" and rates["rows"][0]["n"] > 0
    bad = CliRunner().invoke(app, ["synth", "--records", "5", "--out", str(out), "--split", "dev"])
    assert bad.exit_code == 2
    bad = CliRunner().invoke(app, ["synth", "--records", "5", "--out", str(out), "--profile", "nowhere"])
    assert bad.exit_code == 2


# ----------------------------------------------------------------------------- bundled sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthetic"


@pytest.mark.skipif(not (SAMPLE / "records.jsonl").exists(), reason="bundled sample not present")
def test_bundled_sample_matches_the_generator() -> None:
    params = json.loads((SAMPLE / "synth.json").read_text())
    assert params["n_records"] == 1500 and params["split"] == "train"
    stream = generate(params["n_records"], params["seed"], params["profile"], params["split"])
    head = list(itertools.islice(stream, 40))
    lines = (SAMPLE / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == params["n_records"]
    for (record, _, _), line in zip(head, lines, strict=False):
        assert json.loads(line) == record.to_json_dict(), "regenerate data/synthetic (see its README)"


# ----------------------------------------------------------------------------- reading audits


def test_evaluate_truth_reads_every_finding_type(written: Path) -> None:
    from crimedetect.evaluate.truth import truths_for

    records = list(read_contract(written / "records.jsonl", "records"))
    crimes = list(read_contract(written / "crimes.jsonl", "crimes"))
    audits = list(read_contract(written / "audits.jsonl", "audits"))
    truths = truths_for(audits, crimes, records)
    types = Counter(f.type for t in truths.values() for f in t.findings)
    assert set(types) == {"unrecorded", "misclassified", "late", "n100_missing", "cancellation_unsupported"}
    assert not any(t.unknown_crime_ids or t.unjudged for t in truths.values())
    assert sum(sum(t.transferred.values()) for t in truths.values()) > 0


def test_measure_agrees_with_the_dev_readme(dev_dir: Path) -> None:
    from crimedetect.synth.measure import measure_files

    meter = measure_files(
        read_contract(dev_dir / "records.jsonl", "records"),
        read_contract(dev_dir / "crimes.jsonl", "crimes"),
        read_contract(dev_dir / "audits.jsonl", "audits"),
    )
    # README: 117 crimes, 87 matched (3 transferred, 3 cancelled without AVI), 30 never recorded
    everything = meter.recorded["all records"]
    assert (everything.hits, everything.total) == (87 - 3 - 3, 117 - 3)
    assert meter.counts["unrecorded"] == 30 and meter.counts["cancellation_unsupported"] == 3
