"""Audit sampling designs, the stratified ratio estimator (by hand), sample files and the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from crimedetect.audit.config import AuditConfigError, load_audit_config
from crimedetect.audit.design import AuditSampler, Frame, frame_from_flags, neyman_allocation, priority_band
from crimedetect.audit.estimate import stratified_ratio, unrecorded_per_year
from crimedetect.audit.files import estimate_from_sample, read_sample
from crimedetect.cli import app
from crimedetect.contract import Audit, Crime, Flag
from crimedetect.io import write_contract


def test_srs_ratio_estimate_by_hand() -> None:
    # Four audited records from N = 100: recorded y, should-record x.
    y, x = [1, 0, 2, 1], [1, 1, 2, 2]
    est = stratified_ratio(y, x, ["all"] * 4, {"all": 100}, method="wald")
    rate = 4 / 6
    residuals = [1 - rate, 0 - rate, 2 - 2 * rate, 1 - 2 * rate]  # mean 0
    s2 = sum(e**2 for e in residuals) / 3
    x_total = 100 * 6 / 4
    variance = 100**2 * (1 - 4 / 100) * s2 / 4 / x_total**2
    assert est.rate == pytest.approx(rate)
    assert est.se == pytest.approx(math.sqrt(variance))
    assert est.df == 3
    t = 3.182446305284263  # t_{0.975, 3}
    assert est.low == pytest.approx(max(0.0, rate - t * math.sqrt(variance)))
    assert est.high == 1.0  # clipped
    assert est.total_should_record == pytest.approx(150)
    assert est.total_unrecorded == pytest.approx(50)
    # unrecorded per record (x - y) = [0, 1, 0, 1]: s^2 = 1/3
    assert est.total_unrecorded_se == pytest.approx(math.sqrt(100**2 * 0.96 * (1 / 3) / 4))


def test_stratified_ratio_estimate_by_hand() -> None:
    # Stratum A: N=10, audited 2 records; stratum B: N=40, audited 2 records.
    y = [1, 1, 0, 1]
    x = [1, 1, 1, 2]
    strata = ["A", "A", "B", "B"]
    est = stratified_ratio(y, x, strata, {"A": 10, "B": 40})
    y_total = 10 * 1.0 + 40 * 0.5
    x_total = 10 * 1.0 + 40 * 1.5
    rate = y_total / x_total  # 30 / 70
    e_a = [1 - rate, 1 - rate]  # no spread in A
    e_b = [0 - rate, 1 - 2 * rate]
    mean_b = sum(e_b) / 2
    s2_b = sum((e - mean_b) ** 2 for e in e_b)
    variance = (10**2 * (1 - 2 / 10) * 0.0 / 2 + 40**2 * (1 - 2 / 40) * s2_b / 2) / x_total**2
    assert e_a[0] == e_a[1]
    assert est.rate == pytest.approx(rate)
    assert est.se == pytest.approx(math.sqrt(variance))
    assert est.df == 2


def test_wilson_interval_uses_the_effective_sample_size() -> None:
    y, x = [1, 1, 1, 0, 1, 1, 2, 1], [1, 1, 1, 1, 1, 2, 2, 1]
    wald = stratified_ratio(y, x, ["all"] * 8, {"all": 50}, method="wald")
    wilson = stratified_ratio(y, x, ["all"] * 8, {"all": 50})
    p, se = wald.rate, wald.se
    assert wilson.rate == pytest.approx(p) and wilson.se == pytest.approx(se)
    z = 2.3646242510102993  # t_{0.975, 7}
    n_eff = p * (1 - p) / se**2
    centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
    half = z / (1 + z**2 / n_eff) * math.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2))
    assert (wilson.low, wilson.high) == (pytest.approx(centre - half), pytest.approx(min(1.0, centre + half)))
    assert wilson.high < 1.0 == wald.high  # the score interval stays inside [0, 1] unclipped
    with pytest.raises(ValueError, match="interval method"):
        stratified_ratio(y, x, ["all"] * 8, {"all": 50}, method="exact")


def test_census_strata_add_no_variance_and_lonely_strata_borrow() -> None:
    census = stratified_ratio([1, 0], [1, 1], ["A", "A"], {"A": 2})
    assert census.se == 0.0 and census.low == census.high == 0.5
    # No variation in a sample is not certainty: fall back to the crimes audited as sample size.
    flat = stratified_ratio([1, 1, 1], [1, 1, 1], ["A"] * 3, {"A": 30})
    assert flat.rate == 1.0 and flat.se == 0.0
    assert flat.low < 0.6 and flat.high == 1.0 and any("no variation" in n for n in flat.notes)
    lonely = stratified_ratio([1, 0, 1], [1, 1, 1], ["A", "A", "B"], {"A": 10, "B": 10})
    assert lonely.se > 0 and any("one audited record" in n for n in lonely.notes)
    with pytest.raises(ValueError, match="more audited records"):
        stratified_ratio([1, 1], [1, 1], ["A", "A"], {"A": 1})


def test_no_crimes_gives_no_rate() -> None:
    est = stratified_ratio([0, 0], [0, 0], ["A", "A"], {"A": 5})
    assert est.rate is None and est.low is None


def test_unrecorded_per_year_is_inspection_formula() -> None:
    est = stratified_ratio([1, 0, 2, 1], [1, 1, 2, 2], ["all"] * 4, {"all": 100}, method="wald")
    u = unrecorded_per_year(66_400, est)
    assert u is not None
    assert u.estimate == pytest.approx(66_400 * (1 - est.rate) / est.rate)
    assert u.low == pytest.approx(66_400 * (1 - est.high) / est.high)
    assert u.high == pytest.approx(66_400 * (1 - est.low) / est.low)
    assert u.low <= u.estimate <= u.high


def test_neyman_allocation() -> None:
    assert list(neyman_allocation(np.array([100, 100]), np.array([1.0, 3.0]), 40, 2)) == [10, 30]
    capped = neyman_allocation(np.array([5, 1000]), np.array([100.0, 1.0]), 50, 2)
    assert list(capped) == [5, 45]
    floored = neyman_allocation(np.array([1000, 1000, 3]), np.array([1.0, 1.0, 0.0]), 21, 2)
    assert floored.sum() == 21 and floored[2] == 2
    with pytest.raises(ValueError, match="below"):
        neyman_allocation(np.array([10, 10, 10]), np.array([1.0, 1.0, 1.0]), 5, 2)


def test_priority_bands() -> None:
    bands = priority_band(np.array([0.0, 0.04, 0.05, 0.3, 0.99, 1.0]), [0.0, 0.05, 0.3, 0.6, 1.0])
    assert list(bands) == [0, 0, 1, 2, 3, 3]


def _frame(n: int = 400, seed: int = 0) -> Frame:
    rng = np.random.default_rng(seed)
    disclosed = rng.random(n) < 0.4
    priority = np.where(disclosed, rng.random(n), 0.0)
    family = np.where(disclosed, rng.choice(["violence", "other", "rape"], n), "none").astype(object)
    return Frame(
        np.array([f"R{i:04d}" for i in range(n)], dtype=object), priority, family, disclosed.astype(np.int64)
    )


def test_designs_have_correct_inclusion_probabilities() -> None:
    frame = _frame()
    srs = AuditSampler("srs", 40, random_state=1).fit(frame)
    assert np.allclose(srs.inclusion_, 40 / 400)
    strat = AuditSampler("stratified", 60, random_state=1).fit(frame)
    assert strat.inclusion_.sum() == pytest.approx(60)  # sum of pi = expected sample size
    assert all(
        2 <= n <= strat.stratum_sizes_[s] or n == strat.stratum_sizes_[s]
        for s, n in strat.allocation_.items()
    )
    drawn = strat.sample()
    assert len(drawn.indices) == 60 == len(set(drawn.indices.tolist()))
    for stratum, n_h in strat.allocation_.items():
        assert int((drawn.strata == stratum).sum()) == n_h
    assert np.array_equal(
        drawn.indices, AuditSampler("stratified", 60, random_state=1).fit(frame).sample().indices
    )
    top = AuditSampler("priority", 30).fit(frame)
    chosen = top.sample().indices
    assert set(top.inclusion_[chosen]) == {1.0} and top.inclusion_.sum() == 30
    assert frame.priority[chosen].min() >= np.sort(frame.priority)[-30]
    with pytest.raises(ValueError, match="unknown design"):
        AuditSampler("quota", 10).fit(frame)


def test_frame_from_flags_families() -> None:
    flags = [
        Flag(record_id="A", priority=0.0),
        Flag(
            record_id="B",
            priority=0.7,
            disclosed=[{"category": "theft", "score": 0.7}, {"category": "rape", "score": 0.6}],
        ),
        Flag(
            record_id="C",
            priority=0.5,
            findings=[{"type": "unrecorded", "category": "violence_with_injury", "count": 2, "score": 0.5}],
        ),
    ]
    frame = frame_from_flags(flags)
    assert list(frame.family) == ["none", "rape", "violence"]
    assert list(frame.n_disclosed) == [0, 2, 2]


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "design.yaml"
    text = (Path(__file__).resolve().parents[1] / "src/crimedetect/audit/design.yaml").read_text()
    bad.write_text(text.replace("priority_cuts: [0.0, 0.05", "priority_cuts: [0.1, 0.05"))
    with pytest.raises(AuditConfigError, match="priority_cuts"):
        load_audit_config(bad)
    bad.write_text(text.replace("rape: [rape]", "rape: [rapes]", 1))
    with pytest.raises(AuditConfigError, match="stratification_families"):
        load_audit_config(bad)


# ----------------------------------------------------------------- files and CLI


def _scan_and_audits(n: int = 120) -> tuple[list[Flag], list[Audit], list[Crime]]:
    """A scanned period with audits of every record: every 3rd record has a theft, every 6th unrecorded."""
    flags, audits, crimes = [], [], []
    for i in range(n):
        rid = f"R{i:03d}"
        crime_cases = []
        if i % 3 == 0:
            if i % 6 == 0:
                crime_cases.append({"category": "theft", "crime_id": None})
            else:
                crimes.append(Crime(crime_id=f"C{i}", record_ids=[rid], category="theft"))
                crime_cases.append({"category": "theft", "crime_id": f"C{i}"})
        if i % 10 == 0:
            crimes.append(
                Crime(crime_id=f"X{i}", record_ids=[rid], category="violence_with_injury", status="cancelled")
            )
            crime_cases.append({"category": "violence_with_injury", "crime_id": f"X{i}"})
        disclosed = [{"category": c["category"], "score": 0.8} for c in crime_cases]
        flags.append(
            Flag(
                record_id=rid,
                priority=0.9 if i % 6 == 0 else (0.2 if crime_cases else 0.0),
                disclosed=disclosed,
            )
        )
        audits.append(Audit(record_id=rid, crimes=crime_cases))
    return flags, audits, crimes


def test_sample_and_estimate_from_files(tmp_path: Path) -> None:
    flags, audits, crimes = _scan_and_audits()
    write_contract(tmp_path / "flags.jsonl", flags)
    write_contract(tmp_path / "audits.jsonl", audits)
    write_contract(tmp_path / "crimes.jsonl", crimes)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "audit",
            "sample",
            "--flags",
            str(tmp_path / "flags.jsonl"),
            "--budget",
            "120",
            "--design",
            "srs",
            "--seed",
            "4",
            "--out",
            str(tmp_path / "census.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = read_sample(tmp_path / "census.csv")
    assert len(rows) == 120 and {r.inclusion_probability for r in rows} == {1.0}
    # A census: the estimate is the plain ratio, with no sampling error.
    census = estimate_from_sample(rows, audits, crimes)
    should = 40 + 12  # 40 thefts, 12 cancelled violence crimes
    recorded = 20  # thefts with a crime record; cancellations are not recorded crimes
    assert census.domains["overall"].rate == pytest.approx(recorded / should)
    assert census.domains["overall"].se == 0.0
    assert census.domains["violence"].rate == 0.0
    assert census.unrecorded_found == should - recorded
    assert census.cancellations_unsupported == 12

    result = runner.invoke(
        app,
        [
            "audit",
            "sample",
            "--flags",
            str(tmp_path / "flags.jsonl"),
            "--budget",
            "40",
            "--design",
            "stratified",
            "--seed",
            "4",
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "s.csv").open() as handle:
        sample_rows = list(csv.DictReader(handle))
    assert len(sample_rows) == 40
    assert sum(1 / float(r["inclusion_probability"]) for r in sample_rows) == pytest.approx(120)
    result = runner.invoke(
        app,
        [
            "audit",
            "estimate",
            "--sample",
            str(tmp_path / "s.csv"),
            "--audits",
            str(tmp_path / "audits.jsonl"),
            "--crimes",
            str(tmp_path / "crimes.jsonl"),
            "--recorded-crimes-12m",
            "1000",
            "--out",
            str(tmp_path / "est.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    estimate = json.loads((tmp_path / "est.json").read_text())
    overall = estimate["domains"]["overall"]
    assert estimate["valid_estimate"] and estimate["design"] == "stratified"
    assert overall["low"] <= overall["rate"] <= overall["high"]
    assert estimate["unrecorded_per_year"]["low"] <= estimate["unrecorded_per_year"]["estimate"]


def test_priority_sample_gives_no_estimate(tmp_path: Path) -> None:
    flags, audits, crimes = _scan_and_audits()
    write_contract(tmp_path / "flags.jsonl", flags)
    write_contract(tmp_path / "audits.jsonl", audits)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "audit",
            "sample",
            "--flags",
            str(tmp_path / "flags.jsonl"),
            "--budget",
            "20",
            "--design",
            "priority",
            "--out",
            str(tmp_path / "top.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = read_sample(tmp_path / "top.csv")
    assert all(int(r.record_id[1:]) % 6 == 0 for r in rows)  # the 20 priority-0.9 records
    result = runner.invoke(
        app,
        [
            "audit",
            "estimate",
            "--sample",
            str(tmp_path / "top.csv"),
            "--audits",
            str(tmp_path / "audits.jsonl"),
            "--out",
            str(tmp_path / "e.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    estimate = json.loads((tmp_path / "e.json").read_text())
    assert estimate["valid_estimate"] is False
    assert estimate["domains"]["overall"]["rate"] is None
    assert estimate["unrecorded_found"] == 20


def test_estimate_reports_unaudited_records_and_bad_files(tmp_path: Path) -> None:
    flags, audits, _ = _scan_and_audits(60)
    write_contract(tmp_path / "flags.jsonl", flags)
    write_contract(tmp_path / "audits.jsonl", audits[:30])
    runner = CliRunner()
    runner.invoke(
        app,
        [
            "audit",
            "sample",
            "--flags",
            str(tmp_path / "flags.jsonl"),
            "--budget",
            "60",
            "--design",
            "srs",
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    result = runner.invoke(
        app,
        [
            "audit",
            "estimate",
            "--sample",
            str(tmp_path / "s.csv"),
            "--audits",
            str(tmp_path / "audits.jsonl"),
        ],
    )
    assert result.exit_code == 1
    assert "not audited yet" in result.output
    (tmp_path / "bad.csv").write_text("record_id,design\nR1,srs\n")
    result = runner.invoke(
        app,
        [
            "audit",
            "estimate",
            "--sample",
            str(tmp_path / "bad.csv"),
            "--audits",
            str(tmp_path / "audits.jsonl"),
        ],
    )
    assert result.exit_code == 2 and "missing columns" in result.output
    result = runner.invoke(
        app,
        ["audit", "sample", "--flags", str(tmp_path / "flags.jsonl"), "--budget", "5", "--design", "cluster"],
    )
    assert result.exit_code == 2


@pytest.mark.slow
def test_small_coverage_simulation() -> None:
    """A short version of benchmarks/bench_audit_simulation.py (the full one runs 200+ repeats)."""
    from crimedetect.audit.simulate import coverage_study, load_profile, simulate_population

    population = simulate_population(load_profile(), seed=5, records=30_000)
    truth, results = coverage_study(population, budget=900, repeats=80, seed=6)
    by = {r.design: r for r in results}
    assert 0 < truth["overall"] < 1
    for design in ("srs", "stratified"):
        assert 0.85 <= by[design].coverage["overall"] <= 1.0
    assert by["stratified"].mean_half_width["overall"] < by["srs"].mean_half_width["overall"]
    assert by["priority"].unrecorded_found_per_100 >= 3 * by["srs"].unrecorded_found_per_100
    assert by["priority"].coverage["overall"] < 0.5  # a worklist is no estimate


def test_population_from_a_real_scan_and_full_truth() -> None:
    from crimedetect.audit.simulate import coverage_study, population_from_truth
    from crimedetect.evaluate import truths_for

    flags, audits, crimes = _scan_and_audits(120)
    population = population_from_truth(flags, truths_for(audits, crimes))
    assert population.true_rate("overall") == pytest.approx(20 / 52)
    assert population.true_rate("violence") == 0.0
    truth, results = coverage_study(population, budget=40, repeats=5, seed=2, designs=("srs", "priority"))
    assert truth["overall"] == pytest.approx(20 / 52)
    assert results[1].unrecorded_found_per_100 > results[0].unrecorded_found_per_100
    with pytest.raises(ValueError, match="no audit"):
        population_from_truth(flags, truths_for(audits[:-1], crimes))


def test_cli_simulate(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "simulate",
            "--repeats",
            "3",
            "--budget",
            "200",
            "--records",
            "3000",
            "--out",
            str(tmp_path / "sim.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    study = json.loads((tmp_path / "sim.json").read_text())
    assert [r["design"] for r in study["results"]] == ["srs", "stratified", "priority"]
    assert study["results"][2]["valid_estimate"] is False
