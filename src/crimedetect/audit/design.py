"""Audit sampling designs: ``srs``, ``stratified`` (Neyman allocation) and ``priority``.

Two different jobs, never confused:

- ``srs`` and ``stratified`` are probability samples: every record has a known inclusion
  probability > 0, so an audit of the sample gives a design-based recording-rate estimate
  with a valid interval (:mod:`crimedetect.audit.estimate`).
- ``priority`` is the top-N worklist by flag priority, for finding missed crimes fast.
  Records outside the top N have inclusion probability 0: no population estimate.

``AuditSampler`` follows the scikit-learn habit: settings in ``__init__``, ``fit(frame)``
computes the strata and allocation (attributes ending in ``_``), ``sample()`` draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from crimedetect.audit.config import AuditConfig, load_audit_config
from crimedetect.contract import Flag

Design = Literal["srs", "stratified", "priority"]
DESIGNS: tuple[str, ...] = ("srs", "stratified", "priority")


@dataclass
class Frame:
    """The sampling frame: one row per scanned record."""

    record_ids: np.ndarray  # str
    priority: np.ndarray  # float in [0, 1]
    family: np.ndarray  # str: a stratification family or "none"
    n_disclosed: np.ndarray  # int: crimes the scan disclosed in the record

    def __len__(self) -> int:
        return len(self.record_ids)


def record_family(categories: Iterable[str], config: AuditConfig) -> str:
    """The first stratification family holding any of the categories; ``none`` if empty."""
    seen = set(categories)
    for family, members in config.stratification_families.items():
        if seen & set(members):
            return family
    return "none" if not seen else list(config.stratification_families)[-1]


def frame_from_flags(flags: Iterable[Flag], config: AuditConfig | None = None) -> Frame:
    """The frame of a scan: priority, family (from disclosures and findings) and crimes disclosed."""
    config = config or load_audit_config()
    ids: list[str] = []
    priority: list[float] = []
    family: list[str] = []
    disclosed: list[int] = []
    for flag in flags:
        categories = [str(d.category) for d in flag.disclosed] + [str(f.category) for f in flag.findings]
        ids.append(flag.record_id)
        priority.append(flag.priority)
        family.append(record_family(categories, config))
        disclosed.append(
            max(len(flag.disclosed), sum(f.count for f in flag.findings if f.type == "unrecorded"))
        )
    return Frame(
        np.array(ids, dtype=object),
        np.array(priority, dtype=float),
        np.array(family, dtype=object),
        np.array(disclosed, dtype=np.int64),
    )


def priority_band(priority: np.ndarray, cuts: Sequence[float]) -> np.ndarray:
    """Band index of each priority: ``[cut_i, cut_i+1)``, the last band closed at 1."""
    return np.clip(np.searchsorted(np.asarray(cuts[1:-1]), priority, side="right"), 0, len(cuts) - 2)


def stratum_labels(frame: Frame, config: AuditConfig) -> np.ndarray:
    """``family|p<low>-<high>`` for each record."""
    cuts = config.priority_cuts
    bands = priority_band(frame.priority, cuts)
    names = np.array([f"p{cuts[b]:g}-{cuts[b + 1]:g}" for b in range(len(cuts) - 1)], dtype=object)
    return np.array([f"{f}|{b}" for f, b in zip(frame.family, names[bands], strict=True)], dtype=object)


def anticipated_moments(frame: Frame, config: AuditConfig) -> np.ndarray:
    """Each record's anticipated mean and variance of d = recorded - p0 * should_record.

    A compound-Poisson guess from the flags: should_record ~ Poisson(crimes disclosed, at
    least ``crimes_per_record_without_disclosure``), each crime unrecorded with probability
    u = the record's priority (``1 - p0`` where nothing was disclosed). Then
    E[d] = lam (1 - u - p0) and Var[d] = lam ((1 - u)(1 - p0)^2 + u p0^2). Returns (n, 2).
    """
    p0 = config.neyman.prior_recording_rate
    disclosed = frame.n_disclosed > 0
    lam = np.where(
        disclosed, frame.n_disclosed.astype(float), config.neyman.crimes_per_record_without_disclosure
    )
    u = np.where(disclosed, np.clip(frame.priority, 0.0, 1.0), 1 - p0)
    mean = lam * (1 - u - p0)
    variance = lam * ((1 - u) * (1 - p0) ** 2 + u * p0**2)
    return np.column_stack([mean, variance])


def neyman_allocation(sizes: np.ndarray, sds: np.ndarray, budget: int, minimum: int) -> np.ndarray:
    """Integer allocation n_h proportional to N_h * S_h, with min(minimum, N_h) <= n_h <= N_h.

    Strata that hit their size are taken whole and the rest re-allocated (the usual
    cap-and-redistribute); rounding by largest remainder so that sum(n_h) == budget.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    budget = int(min(budget, sizes.sum()))
    floor = np.minimum(sizes, minimum)
    if floor.sum() > budget:
        raise ValueError(f"budget {budget} is below {minimum} records for each of {len(sizes)} strata")
    weights = sizes * np.maximum(np.asarray(sds, dtype=float), 1e-12)
    alloc = floor.astype(float)
    free = np.ones(len(sizes), dtype=bool)
    for _ in range(len(sizes) + 1):
        remaining = budget - alloc[~free].sum()
        share = np.where(free, weights, 0.0)
        target = np.where(free, remaining * share / share.sum() if share.sum() else 0.0, alloc)
        target = np.where(free, np.maximum(target, floor), target)
        over = free & (target >= sizes)
        if not over.any():
            alloc = target
            break
        alloc = np.where(over, sizes, alloc)
        free &= ~over
    base = np.floor(alloc).astype(np.int64)
    base = np.minimum(np.maximum(base, floor), sizes)
    short = budget - base.sum()
    order = np.argsort(-(alloc - np.floor(alloc)), kind="stable")
    for i in order:
        if short <= 0:
            break
        if base[i] < sizes[i]:
            base[i] += 1
            short -= 1
    i = 0
    while short > 0:  # remainders exhausted: fill any stratum with room
        if base[i % len(base)] < sizes[i % len(base)]:
            base[i % len(base)] += 1
            short -= 1
        i += 1
    while short < 0:  # floors pushed us over: take back from the largest non-floor strata
        j = int(np.argmax(np.where(base > floor, base, -1)))
        base[j] -= 1
        short += 1
    return base


@dataclass
class Sample:
    """A drawn audit sample: frame row indices, with the design needed to estimate from it."""

    design: str
    indices: np.ndarray
    inclusion: np.ndarray  # inclusion probability of each sampled record
    strata: np.ndarray  # stratum label of each sampled record
    stratum_sizes: dict[str, int]  # N_h
    stratum_samples: dict[str, int]  # n_h
    population: int


class AuditSampler:
    """Draw audit samples from a frame under one design.

    Parameters: ``design`` (srs, stratified, priority), ``budget`` (records to audit),
    ``random_state`` (seed), ``config`` (``AuditConfig``; default the packaged one).
    After ``fit``: ``strata_`` (label per frame row), ``stratum_sizes_``, ``allocation_``
    (n_h per stratum) and ``inclusion_`` (inclusion probability per frame row).
    """

    def __init__(
        self,
        design: str = "stratified",
        budget: int = 1800,
        random_state: int | None = None,
        config: AuditConfig | None = None,
    ) -> None:
        self.design = design
        self.budget = budget
        self.random_state = random_state
        self.config = config

    def fit(self, frame: Frame) -> AuditSampler:
        """Strata, allocation and inclusion probabilities for the frame."""
        if self.design not in DESIGNS:
            raise ValueError(f"unknown design {self.design!r}; use one of {', '.join(DESIGNS)}")
        if self.budget < 1:
            raise ValueError("budget must be at least 1 record")
        config = self.config or load_audit_config()
        n = len(frame)
        budget = min(self.budget, n)
        if self.design == "stratified":
            labels = stratum_labels(frame, config)
        else:
            labels = np.full(n, "all", dtype=object)
        names, codes = np.unique(labels.astype(str), return_inverse=True)
        sizes = np.bincount(codes, minlength=len(names))
        if self.design == "stratified":
            # S_h^2 = mean within-record variance + variance of the records' means.
            moments = anticipated_moments(frame, config)
            mean = np.bincount(codes, weights=moments[:, 0], minlength=len(names)) / sizes
            spread = (
                np.bincount(codes, weights=(moments[:, 0] - mean[codes]) ** 2, minlength=len(names)) / sizes
            )
            within = np.bincount(codes, weights=moments[:, 1], minlength=len(names)) / sizes
            sds = np.sqrt(within + spread)
            allocation = neyman_allocation(sizes, sds, budget, config.neyman.min_per_stratum)
        else:
            allocation = np.array([budget])
        self.frame_ = frame
        self.codes_ = codes
        self.strata_ = labels
        self.stratum_names_ = [str(s) for s in names]
        self.stratum_sizes_ = {str(s): int(k) for s, k in zip(names, sizes, strict=True)}
        self.allocation_ = {str(s): int(k) for s, k in zip(names, allocation, strict=True)}
        if self.design == "priority":
            order = self._priority_order(frame)
            inclusion = np.zeros(n)
            inclusion[order[:budget]] = 1.0
            self.order_ = order
        else:
            inclusion = (allocation / sizes)[codes]
        self.inclusion_ = inclusion
        return self

    @staticmethod
    def _priority_order(frame: Frame) -> np.ndarray:
        # Highest priority first; ties by frame order, so the worklist is deterministic.
        return np.lexsort((np.arange(len(frame)), -frame.priority))

    def sample(self, random_state: int | np.random.Generator | None = None) -> Sample:
        """Draw one sample (without replacement within each stratum)."""
        if not hasattr(self, "codes_"):
            raise RuntimeError("call fit(frame) before sample()")
        seed = self.random_state if random_state is None else random_state
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if self.design == "priority":
            indices = np.sort(self.order_[: sum(self.allocation_.values())])
        else:
            chosen: list[np.ndarray] = []
            order = np.argsort(self.codes_, kind="stable")
            bounds = np.cumsum([0, *self.stratum_sizes_.values()])
            for h, name in enumerate(self.stratum_names_):
                members = order[bounds[h] : bounds[h + 1]]
                chosen.append(rng.choice(members, size=self.allocation_[name], replace=False))
            indices = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)
        return Sample(
            design=self.design,
            indices=indices,
            inclusion=self.inclusion_[indices],
            strata=self.strata_[indices],
            stratum_sizes=dict(self.stratum_sizes_),
            stratum_samples=dict(self.allocation_),
            population=len(self.frame_),
        )
