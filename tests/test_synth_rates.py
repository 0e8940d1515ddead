"""The profiles reproduce their inspection figures on 20,000 generated records."""

from __future__ import annotations

import math

import pytest

from crimedetect.synth import generate, load_profile
from crimedetect.synth.measure import measure


def _tolerance(target: float, n: int) -> float:
    """Three standard errors of a share of n at the target rate, plus 1.5 points of slack."""
    return 3 * math.sqrt(target * (1 - target) / max(n, 1)) + 0.015


@pytest.mark.parametrize(("profile", "n_records"), [("leicestershire-2017", 20000), ("good-force", 20000)])
def test_profile_rates_are_reproduced(profile: str, n_records: int) -> None:
    meter = measure(generate(n_records, seed=7, profile=profile))
    rows = [r for r in meter.rows(load_profile(profile)) if r["target"] is not None]
    assert len(rows) == 9
    misses = []
    for row in rows:
        target, measured, n = float(row["target"]), float(row["measured"]), int(row["n"])
        assert n >= 100, row["measure"]
        if abs(measured - target) > _tolerance(target, n):
            misses.append(f"{row['measure']}: {measured:.3f} vs {target:.3f} (n={n})")
    assert not misses, misses
    counts = meter.counts
    assert counts["misclassified"] > 0 and counts["cancellation_unsupported"] > 0 and counts["late"] > 0
    assert counts["transferred"] > 0 and counts["unrecorded"] > 0 and counts["n100_missing"] > 0


def test_profiles_differ_where_it_matters() -> None:
    bad = measure(generate(4000, seed=1, profile="leicestershire-2017")).recorded["overall"].value
    good = measure(generate(4000, seed=1, profile="good-force")).recorded["overall"].value
    assert good - bad > 0.12
