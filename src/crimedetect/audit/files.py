"""The audit sample file (CSV) and the estimate file (JSON): writing, reading, estimating.

``sample.csv`` carries everything the estimator needs, so an estimate can be made from the
sample file and the auditors' verdicts alone: each row's stratum, inclusion probability,
stratum population ``N_h`` and stratum sample size ``n_h``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crimedetect.audit.config import AuditConfig, load_audit_config
from crimedetect.audit.design import AuditSampler, Frame, Sample
from crimedetect.audit.estimate import RatioEstimate, stratified_ratio, unrecorded_per_year
from crimedetect.contract import Audit, Crime, Record
from crimedetect.evaluate.truth import truths_for

SAMPLE_COLUMNS = (
    "record_id",
    "rank",
    "design",
    "stratum",
    "family",
    "priority",
    "inclusion_probability",
    "weight",
    "stratum_population",
    "stratum_sample",
    "population",
    "budget",
    "seed",
)


class SampleFileError(ValueError):
    """A sample file that cannot be used; the message names the file, line and column."""


def write_sample(path: Path, frame: Frame, sampler: AuditSampler, sample: Sample, seed: int | None) -> int:
    """Write the sample; a priority worklist in descending priority, the others in frame order."""
    indices = sample.indices
    if sample.design == "priority":
        indices = indices[np.lexsort((indices, -frame.priority[indices]))]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SAMPLE_COLUMNS)
        writer.writeheader()
        for rank, i in enumerate(indices, start=1):
            stratum = str(sampler.strata_[i])
            pi = float(sampler.inclusion_[i])
            writer.writerow(
                {
                    "record_id": frame.record_ids[i],
                    "rank": rank,
                    "design": sample.design,
                    "stratum": stratum,
                    "family": frame.family[i],
                    "priority": f"{frame.priority[i]:.6f}",
                    "inclusion_probability": f"{pi:.10g}",
                    "weight": f"{1 / pi:.10g}" if pi > 0 else "",
                    "stratum_population": sample.stratum_sizes[stratum],
                    "stratum_sample": sample.stratum_samples[stratum],
                    "population": sample.population,
                    "budget": sampler.budget,
                    "seed": "" if seed is None else seed,
                }
            )
    return len(indices)


@dataclass
class SampleRow:
    record_id: str
    design: str
    stratum: str
    stratum_population: int
    stratum_sample: int
    population: int
    inclusion_probability: float


def read_sample(path: Path) -> list[SampleRow]:
    """Rows of a sample file, checked: one design, consistent strata, ids unique."""
    if not path.exists():
        raise SampleFileError(f"{path}: no such sample file")
    rows: list[SampleRow] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [
            c
            for c in (
                "record_id",
                "design",
                "stratum",
                "stratum_population",
                "stratum_sample",
                "population",
                "inclusion_probability",
            )
            if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise SampleFileError(
                f"{path}: missing columns {', '.join(missing)}; write it with `audit sample`"
            )
        for line, raw in enumerate(reader, start=2):
            try:
                row = SampleRow(
                    record_id=raw["record_id"],
                    design=raw["design"],
                    stratum=raw["stratum"],
                    stratum_population=int(raw["stratum_population"]),
                    stratum_sample=int(raw["stratum_sample"]),
                    population=int(raw["population"]),
                    inclusion_probability=float(raw["inclusion_probability"]),
                )
            except (TypeError, ValueError) as exc:
                raise SampleFileError(f"{path}:{line}: bad number: {exc}") from exc
            if not row.record_id:
                raise SampleFileError(f"{path}:{line}: record_id: empty")
            if row.record_id in seen:
                raise SampleFileError(f"{path}:{line}: record_id: {row.record_id!r} appears twice")
            seen.add(row.record_id)
            rows.append(row)
    if not rows:
        raise SampleFileError(f"{path}: the sample is empty")
    designs = {r.design for r in rows}
    if len(designs) != 1:
        raise SampleFileError(
            f"{path}: design: more than one design in one sample ({', '.join(sorted(designs))})"
        )
    sizes: dict[str, int] = {}
    for r in rows:
        if sizes.setdefault(r.stratum, r.stratum_population) != r.stratum_population:
            raise SampleFileError(f"{path}: stratum_population differs within stratum {r.stratum!r}")
    return rows


@dataclass
class AuditEstimate:
    """What ``audit estimate`` reports (written as JSON for ``crimedetect report``)."""

    design: str
    valid_estimate: bool
    population: int
    sample_size: int
    audited: int
    not_audited: list[str]
    confidence: float
    domains: dict[str, RatioEstimate]
    unrecorded_found: int
    unrecorded_found_per_100: float
    unrecorded_per_year: dict[str, Any] | None
    cancellations_unsupported: int = 0
    late: int = 0
    misclassified: int = 0
    n100_missing: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "domains"}
        out["domains"] = {name: est.to_json_dict() for name, est in self.domains.items()}
        return out


def estimate_from_sample(
    rows: Sequence[SampleRow],
    audits: Iterable[Audit],
    crimes: Sequence[Crime] | None = None,
    records: Mapping[str, Record] | None = None,
    *,
    recorded_crimes_12m: int | None = None,
    config: AuditConfig | None = None,
) -> AuditEstimate:
    """Recording rates (overall and per domain) from the audited part of a sample.

    Sampled records not yet audited are left out and listed; within a stratum they are
    treated as missing at random (n_h becomes the audited count). A ``priority`` sample
    gives counts found but no rate (``valid_estimate`` false).
    """
    config = config or load_audit_config()
    in_sample = {r.record_id: r for r in rows}
    audit_list = [a for a in audits if a.record_id in in_sample]
    truths = truths_for(audit_list, crimes, records)
    audited_rows = [r for r in rows if r.record_id in truths]
    not_audited = [r.record_id for r in rows if r.record_id not in truths]
    design = rows[0].design
    notes: list[str] = []
    if crimes is None:
        notes.append(
            "no crime file: audit crimes with a crime_id count as recorded (cancellations not judged)"
        )
    if not_audited:
        notes.append(
            f"{len(not_audited)} sampled records are not audited yet; left out (missing at random "
            "within their stratum)"
        )
    sizes = {r.stratum: r.stratum_population for r in rows}
    domains: dict[str, RatioEstimate] = {}
    valid = design != "priority" and bool(audited_rows)
    if design == "priority":
        notes.append(
            "priority worklist: records outside it had no chance of selection, so no recording "
            "rate can be estimated from it; only what it found is reported"
        )
    for name in config.domains:
        cats = config.domain_categories(name)
        y = np.array([sum(truths[r.record_id].recorded.get(c, 0) for c in cats) for r in audited_rows], float)
        x = np.array(
            [sum(truths[r.record_id].should_record.get(c, 0) for c in cats) for r in audited_rows], float
        )
        strata = [r.stratum for r in audited_rows]
        if valid:
            domains[name] = stratified_ratio(
                y, x, strata, sizes, confidence=config.confidence, domain=name, method=config.interval
            )
        else:
            domains[name] = RatioEstimate(
                name,
                None,
                None,
                None,
                None,
                config.confidence,
                0,
                len(audited_rows),
                int(x.sum()),
                int(y.sum()),
                float("nan"),
                float("nan"),
                float("nan"),
                ["no design-based estimate for this design"],
            )
    found = sum(truths[r.record_id].unrecorded_total for r in audited_rows)
    counts = {t: 0 for t in ("cancellation_unsupported", "late", "misclassified", "n100_missing")}
    for truth in truths.values():
        for f in truth.findings:
            if f.type in counts:
                counts[f.type] += f.count
    first = next(iter(config.domains))
    u = None
    if recorded_crimes_12m is not None and valid:
        result = unrecorded_per_year(recorded_crimes_12m, domains[first])
        u = result.to_json_dict() if result else None
    return AuditEstimate(
        design=design,
        valid_estimate=valid,
        population=rows[0].population,
        sample_size=len(rows),
        audited=len(audited_rows),
        not_audited=not_audited,
        confidence=config.confidence,
        domains=domains,
        unrecorded_found=int(found),
        unrecorded_found_per_100=100.0 * found / len(audited_rows) if audited_rows else 0.0,
        unrecorded_per_year=u,
        cancellations_unsupported=counts["cancellation_unsupported"],
        late=counts["late"],
        misclassified=counts["misclassified"],
        n100_missing=counts["n100_missing"],
        notes=notes,
    )
