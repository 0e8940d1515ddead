"""Validation by simulation: repeated audits of a synthetic force with known truth.

The population is drawn from a profile (``audit/simulation_profile.yaml``): records with
their true crimes by family and whether each was recorded, and an emulated scan giving each
record a noisy priority, a disclosed family and a count of disclosed crimes. Drawing the
population directly (rather than scanning synthetic text) isolates the sampling designs and
estimators, which is what a coverage study tests; the scan's own quality is measured by
``crimedetect evaluate``.

For each design, ``repeats`` audits of ``budget`` records are drawn from the one fixed
population (design-based inference: the randomness is the sample's) and the study reports
interval coverage of the true population rate, mean interval half-width, and unrecorded
crimes found per 100 audited records. The priority design has no valid estimate; its
"coverage" is that of a naive interval treating the worklist as a simple random sample, to
show why its numbers must not be published as a rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crimedetect.audit.config import AuditConfig, AuditConfigError, load_audit_config
from crimedetect.audit.design import DESIGNS, AuditSampler, Frame, frame_from_flags
from crimedetect.audit.estimate import stratified_ratio
from crimedetect.contract import CATEGORIES, FAMILIES, Flag
from crimedetect.evaluate.truth import RecordTruth

#: Simulation families, the stratification family a correct disclosure shows, and the
#: estimation domains each belongs to.
SIM_FAMILIES: tuple[str, ...] = ("violence", "other_sexual", "rape", "other")
SHOWN_AS: dict[str, str] = {
    "violence": "violence",
    "other_sexual": "sexual_offences",
    "rape": "rape",
    "other": "other",
}
DOMAINS: dict[str, tuple[str, ...]] = {
    "overall": SIM_FAMILIES,
    "violence": ("violence",),
    "sexual_offences": ("other_sexual", "rape"),
    "rape": ("rape",),
}


class FamilyProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    share: float = Field(gt=0.0)
    recording_rate: float = Field(gt=0.0, lt=1.0)


class DetectorProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recall: float = Field(ge=0.0, le=1.0)
    false_disclosure: float = Field(ge=0.0, le=1.0)
    family_confusion: float = Field(ge=0.0, le=1.0)
    priority_unrecorded: tuple[float, float]
    priority_all_recorded: tuple[float, float]
    priority_false: tuple[float, float]


class SimulationProfile(BaseModel):
    """``audit/simulation_profile.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: int
    records: int = Field(ge=100)
    share_with_crime: float = Field(gt=0.0, lt=1.0)
    extra_crimes_mean: float = Field(ge=0.0)
    families: dict[str, FamilyProfile]
    record_effect_sd: float = Field(ge=0.0)
    detector: DetectorProfile

    def model_post_init(self, __context: Any) -> None:
        if set(self.families) != set(SIM_FAMILIES):
            raise ValueError(f"families must be exactly {', '.join(SIM_FAMILIES)}")


def load_profile(path: str | Path | None = None) -> SimulationProfile:
    """The simulation profile from ``path``, else the packaged one; validated."""
    if path is None:
        return _packaged_profile()
    path = Path(path)
    if not path.exists():
        raise AuditConfigError(f"{path}: no such profile")
    return _parse_profile(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=1)
def _packaged_profile() -> SimulationProfile:
    source = resources.files("crimedetect") / "audit" / "simulation_profile.yaml"
    with source.open(encoding="utf-8") as handle:
        return _parse_profile(handle.read(), "crimedetect/audit/simulation_profile.yaml")


def _parse_profile(text: str, name: str) -> SimulationProfile:
    try:
        return SimulationProfile.model_validate(yaml.safe_load(text))
    except (ValidationError, ValueError, yaml.YAMLError) as exc:
        raise AuditConfigError(f"{name}: {exc}") from exc


@dataclass
class Population:
    """A synthetic force: the frame a scan would give, and the truth an audit would find."""

    frame: Frame
    should_record: np.ndarray  # (records, families) crimes that should have been recorded
    recorded: np.ndarray  # (records, families) of which recorded

    def domain(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(recorded, should_record) per record for an estimation domain."""
        cols = [SIM_FAMILIES.index(f) for f in DOMAINS[name]]
        return self.recorded[:, cols].sum(1), self.should_record[:, cols].sum(1)

    def true_rate(self, name: str) -> float:
        y, x = self.domain(name)
        return float(y.sum() / x.sum()) if x.sum() else float("nan")


def simulate_population(profile: SimulationProfile, seed: int = 0, records: int | None = None) -> Population:
    """Draw a population of records with true crimes, recording outcomes and emulated flags."""
    rng = np.random.default_rng(seed)
    n = records or profile.records
    k = len(SIM_FAMILIES)
    shares = np.array([profile.families[f].share for f in SIM_FAMILIES])
    shares = shares / shares.sum()
    rates = np.array([profile.families[f].recording_rate for f in SIM_FAMILIES])

    has_crime = rng.random(n) < profile.share_with_crime
    n_crimes = np.where(has_crime, 1 + rng.poisson(profile.extra_crimes_mean, n), 0)
    # A record's crimes mostly share its main family.
    main = rng.choice(k, size=n, p=shares)
    should = np.zeros((n, k), dtype=np.int64)
    recorded = np.zeros((n, k), dtype=np.int64)
    effect = rng.normal(0.0, profile.record_effect_sd, n)
    logit = np.log(rates / (1 - rates))
    max_crimes = int(n_crimes.max()) if n else 0
    for j in range(max_crimes):
        active = n_crimes > j
        family = np.where(rng.random(n) < 0.7, main, rng.choice(k, size=n, p=shares)) if j else main
        p = 1 / (1 + np.exp(-(logit[family] + effect)))
        is_recorded = rng.random(n) < p
        np.add.at(should, (np.nonzero(active)[0], family[active]), 1)
        np.add.at(recorded, (np.nonzero(active & is_recorded)[0], family[active & is_recorded]), 1)

    det = profile.detector
    detected = np.where(has_crime, rng.random(n) < det.recall, rng.random(n) < det.false_disclosure)
    unrecorded_any = (should - recorded).sum(1) > 0
    a_b = np.where(
        (has_crime & unrecorded_any)[:, None],
        det.priority_unrecorded,
        np.where(has_crime[:, None], det.priority_all_recorded, det.priority_false),
    )
    priority = np.where(detected, rng.beta(a_b[:, 0], a_b[:, 1]), 0.0)
    shown = np.where(rng.random(n) < det.family_confusion, rng.choice(k, size=n, p=shares), main)
    names = np.array([SHOWN_AS[f] for f in SIM_FAMILIES], dtype=object)
    family_label = np.where(detected, names[shown], "none").astype(object)
    n_disclosed = np.where(detected, np.maximum(n_crimes + rng.integers(-1, 2, n), 1), 0)
    frame = Frame(
        np.array([f"SIM-{i:07d}" for i in range(n)], dtype=object),
        priority,
        family_label,
        n_disclosed.astype(np.int64),
    )
    return Population(frame, should, recorded)


@dataclass
class DesignResult:
    """One design's performance over repeated audits."""

    design: str
    repeats: int
    budget: int
    coverage: dict[str, float] = field(default_factory=dict)
    mean_half_width: dict[str, float] = field(default_factory=dict)
    mean_estimate: dict[str, float] = field(default_factory=dict)
    unrecorded_found_per_100: float = 0.0
    crimes_audited_mean: float = 0.0
    valid_estimate: bool = True

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)


def coverage_study(
    population: Population,
    *,
    designs: tuple[str, ...] = DESIGNS,
    budget: int = 1800,
    repeats: int = 200,
    seed: int = 1,
    config: AuditConfig | None = None,
    method: str | None = None,
) -> tuple[dict[str, float], list[DesignResult]]:
    """Repeated audits of one population per design; returns (true rates, results)."""
    config = config or load_audit_config()
    method = method or config.interval
    truth = {d: population.true_rate(d) for d in DOMAINS}
    domain_data = {d: population.domain(d) for d in DOMAINS}
    results: list[DesignResult] = []
    for design_index, design in enumerate(designs):
        sampler = AuditSampler(design, budget, config=config).fit(population.frame)
        rng = np.random.default_rng([seed, design_index])
        covered = {d: 0 for d in DOMAINS}
        counted = {d: 0 for d in DOMAINS}
        widths: dict[str, list[float]] = {d: [] for d in DOMAINS}
        estimates: dict[str, list[float]] = {d: [] for d in DOMAINS}
        found: list[float] = []
        crimes: list[float] = []
        for _ in range(repeats):
            sample = sampler.sample(rng)
            idx = sample.indices
            if design == "priority":  # the naive reading: as if it were a simple random sample
                strata = np.full(len(idx), "all", dtype=object)
                sizes = {"all": population.frame.record_ids.size}
            else:
                strata, sizes = sample.strata, sample.stratum_sizes
            for d in DOMAINS:
                y, x = domain_data[d]
                est = stratified_ratio(
                    y[idx], x[idx], strata, sizes, confidence=config.confidence, domain=d, method=method
                )
                if est.rate is None:
                    continue
                counted[d] += 1
                covered[d] += int(est.low <= truth[d] <= est.high)  # type: ignore[operator]
                widths[d].append(est.half_width or 0.0)
                estimates[d].append(est.rate)
            y, x = domain_data["overall"]
            found.append(100.0 * float((x[idx] - y[idx]).sum()) / len(idx))
            crimes.append(float(x[idx].sum()))
            if design == "priority":
                # Deterministic worklist: every repeat is the same sample.
                pass
        results.append(
            DesignResult(
                design=design,
                repeats=repeats,
                budget=budget,
                coverage={d: covered[d] / counted[d] for d in DOMAINS if counted[d]},
                mean_half_width={d: float(np.mean(widths[d])) for d in DOMAINS if widths[d]},
                mean_estimate={d: float(np.mean(estimates[d])) for d in DOMAINS if estimates[d]},
                unrecorded_found_per_100=float(np.mean(found)),
                crimes_audited_mean=float(np.mean(crimes)),
                valid_estimate=design != "priority",
            )
        )
    return truth, results


def study_rows(truth: dict[str, float], results: list[DesignResult]) -> list[list[str]]:
    """The study as rows: design, domain, true rate, coverage, half-width, found per 100."""
    rows = []
    for r in results:
        for d in DOMAINS:
            coverage = r.coverage.get(d)
            label = f"{100 * coverage:.1f}%" if coverage is not None else "-"
            if not r.valid_estimate:
                label += " (naive, invalid)"
            rows.append(
                [
                    r.design,
                    d,
                    f"{100 * truth[d]:.2f}%",
                    f"{100 * r.mean_estimate.get(d, float('nan')):.2f}%",
                    label,
                    f"{100 * r.mean_half_width.get(d, float('nan')):.2f}",
                    f"{r.unrecorded_found_per_100:.1f}" if d == "overall" else "",
                ]
            )
    return rows


STUDY_COLUMNS = (
    "design",
    "domain",
    "true rate",
    "mean estimate",
    "95% CI coverage",
    "mean +/- (pts)",
    "unrecorded found /100 audited",
)


def study_table(truth: dict[str, float], results: list[DesignResult]) -> Any:
    """A rich table of the study."""
    from rich.table import Table

    repeats = results[0].repeats if results else 0
    budget = results[0].budget if results else 0
    table = Table(title=f"Audit designs: {repeats} repeated audits of {budget} records each")
    for column in STUDY_COLUMNS:
        table.add_column(column, justify="left" if column in ("design", "domain") else "right")
    for row in study_rows(truth, results):
        table.add_row(*row)
    return table


def study_markdown(truth: dict[str, float], results: list[DesignResult]) -> str:
    """The study as a Markdown table (for the README)."""
    lines = ["| " + " | ".join(STUDY_COLUMNS) + " |", "|" + "---|" * len(STUDY_COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in study_rows(truth, results)]
    return "\n".join(lines)


def population_from_truth(
    flags: Iterable[Flag],
    truths: Mapping[str, RecordTruth],
    config: AuditConfig | None = None,
) -> Population:
    """A population from a real scan's flags and full-truth audits (e.g. ``crimedetect synth``).

    Every flagged record needs its audit: the study then uses the scan's own priorities and
    families instead of the emulated ones.
    """
    config = config or load_audit_config()
    flag_list = [f for f in flags]
    missing = [f.record_id for f in flag_list if f.record_id not in truths]
    if missing:
        raise ValueError(f"{len(missing)} flagged records have no audit, e.g. {', '.join(missing[:3])}")
    frame = frame_from_flags(flag_list, config)
    column = {c: SIM_FAMILIES.index(_sim_family(c)) for c in CATEGORIES}
    should = np.zeros((len(flag_list), len(SIM_FAMILIES)), dtype=np.int64)
    recorded = np.zeros_like(should)
    for i, flag in enumerate(flag_list):
        truth = truths[flag.record_id]
        for category, n in truth.should_record.items():
            should[i, column[category]] += n
        for category, n in truth.recorded.items():
            recorded[i, column[category]] += n
    return Population(frame, should, recorded)


def _sim_family(category: str) -> str:
    if category in FAMILIES["violence"]:
        return "violence"
    return {"rape": "rape", "other_sexual_offence": "other_sexual"}.get(category, "other")
