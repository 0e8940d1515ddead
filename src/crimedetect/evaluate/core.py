"""Evaluation of a scan's flags against audits: metrics, intervals, confusion, calibration, errors.

Pure computation (no files, no MLflow): ``evaluate_flags`` takes contract objects and
returns an ``Evaluation``; the CLI reads the files, draws the charts and logs the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crimedetect.contract import Audit, Crime, Disclosure, FindingType, Flag, Record
from crimedetect.evaluate.metrics import (
    Key,
    LevelCounts,
    MetricRow,
    bootstrap_totals,
    category_confusion,
    count_level,
    disclosure_groups,
    finding_groups,
    level_metrics,
    reliability,
)
from crimedetect.evaluate.truth import NEEDS, RecordTruth, truths_for
from crimedetect.hocr import severity_rank

FINDING_TYPES: tuple[str, ...] = tuple(t.value for t in FindingType)


@dataclass
class Evaluation:
    """Everything ``crimedetect evaluate`` reports; no record text anywhere in it."""

    record_ids: list[str]
    judged_types: list[str]
    unjudged_types: list[str]
    rows: list[MetricRow]
    confusion_labels: list[str]
    confusion: np.ndarray
    calibration: dict[str, dict[str, Any]]
    pr_curves: dict[str, dict[str, Any]]
    errors: list[dict[str, Any]]
    missing_flags: list[str] = field(default_factory=list)
    unknown_crime_ids: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    n_boot: int = 0

    def row(self, level: str, group: str) -> MetricRow:
        """The metrics of one level and group, e.g. ``row("crime", "type:unrecorded")``."""
        for row in self.rows:
            if row.level == level and row.group == group:
                return row
        raise KeyError(f"no metrics for level {level!r} group {group!r}")

    def metrics(self) -> dict[str, float]:
        """Flat metric names for MLflow: ``crime.type.unrecorded.f1``, ``..._low``, ``..._high``,
        and error counts by cause, ``errors.unrecorded.not_disclosed``."""
        out: dict[str, float] = {}
        for row in self.rows:
            if row.support == 0 and row.fp == 0:
                continue
            base = f"{row.level}.{row.group.replace(':', '.')}"
            for name, value in row.values.items():
                if not np.isnan(value):
                    out[f"{base}.{name}"] = value
                low_high = row.intervals.get(name)
                if low_high:
                    out[f"{base}.{name}_low"], out[f"{base}.{name}_high"] = low_high
            out[f"{base}.support"] = float(row.support)
        for name, curve in self.pr_curves.items():
            if curve.get("average_precision") is not None:
                out[f"pr.{name}.average_precision"] = curve["average_precision"]
        for name, cal in self.calibration.items():
            if not np.isnan(cal.get("ece", float("nan"))):
                out[f"calibration.{name}.ece"] = cal["ece"]
        for (kind, cause), n in cause_counts(self.errors).items():
            out[f"errors.{kind}.{cause}"] = float(n)  # where the errors come from, per run
        out["records_evaluated"] = float(len(self.record_ids))
        return out


def predicted_findings(flag: Flag | None) -> Counter[Key]:
    """A flag's findings as counts keyed by (type, category)."""
    out: Counter[Key] = Counter()
    for finding in flag.findings if flag else []:
        out[(str(finding.type), str(finding.category))] += finding.count
    return out


def _extra(model: Any, name: str) -> Any:
    return (getattr(model, "model_extra", None) or {}).get(name)


def disclosure_source(disclosures: Iterable[Disclosure]) -> str:
    """Who disclosed it: ``rules[R1,R2]``, ``model``, ``rules[R1]+model``; never text."""
    parts: list[str] = []
    for disclosure in disclosures:
        by = list(disclosure.by) or ["?"]
        rule_ids = _extra(disclosure, "rule_ids") or []
        labels = [f"rules[{','.join(map(str, rule_ids))}]" if b == "rules" and rule_ids else b for b in by]
        parts.append("+".join(labels))
    return "; ".join(dict.fromkeys(parts)) or "not disclosed"


def flag_versions(flags: Iterable[Flag]) -> dict[str, str]:
    """The rules and model versions the flags were produced with (the most common of each)."""
    seen: dict[str, Counter[str]] = {"rules": Counter(), "model": Counter()}
    for flag in flags:
        holders: list[Any] = [flag, *flag.disclosed]
        for holder in holders:
            versions = _extra(holder, "versions")
            if isinstance(versions, dict):
                for key in seen:
                    if versions.get(key):
                        seen[key][str(versions[key])] += 1
            for key in seen:
                value = _extra(holder, f"{key}_version")
                if value:
                    seen[key][str(value)] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in seen.items() if counter}


def _pr_curve(scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    if labels.sum() == 0 or labels.sum() == len(labels):
        return {"precision": [], "recall": [], "average_precision": None, "positives": int(labels.sum())}
    precision, recall, _ = precision_recall_curve(labels, scores)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "average_precision": float(average_precision_score(labels, scores)),
        "positives": int(labels.sum()),
    }


def evaluate_flags(
    flags: Mapping[str, Flag],
    audits: Sequence[Audit],
    crimes: Sequence[Crime] | None = None,
    records: Mapping[str, Record] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> Evaluation:
    """Compare flags with the audits of the records that were audited.

    Audited records with no flag line are evaluated as if the scan found nothing and listed
    in ``missing_flags``. Finding types that cannot be judged without ``crimes`` or
    ``records`` are left out of every metric (``unjudged_types``).
    """
    truths: dict[str, RecordTruth] = truths_for(audits, crimes, records)
    have = {"crimes": crimes is not None, "records": records is not None}
    judged = [t for t in FINDING_TYPES if all(have[n] for n in NEEDS[t])]
    unjudged = [t for t in FINDING_TYPES if t not in judged]
    record_ids = [a.record_id for a in audits]
    missing = [rid for rid in record_ids if rid not in flags]

    predicted: list[Counter[Key]] = []
    truth: list[Counter[Key]] = []
    disclosed: list[Counter[Key]] = []
    should: list[Counter[Key]] = []
    for rid in record_ids:
        flag = flags.get(rid)
        record_truth = truths[rid]
        pred = Counter({k: v for k, v in predicted_findings(flag).items() if k[0] in judged})
        true = Counter(
            {
                k: v
                for k, v in record_truth.finding_counts().items()
                if k[0] in judged and k[0] not in record_truth.unjudged
            }
        )
        if "late" in record_truth.unjudged and "late" in judged:
            pred = Counter({k: v for k, v in pred.items() if k[0] != "late"})
        predicted.append(pred)
        truth.append(true)
        disclosed.append(Counter(("disclosed", str(d.category)) for d in (flag.disclosed if flag else [])))
        every_crime = record_truth.should_record + record_truth.transferred
        should.append(Counter({("disclosed", c): n for c, n in every_crime.items()}))

    levels: list[LevelCounts] = [
        count_level("record", finding_groups(judged), predicted, truth),
        count_level("crime", finding_groups(judged), predicted, truth),
        count_level("disclosure", disclosure_groups(), disclosed, should),
    ]
    rows: list[MetricRow] = []
    boot_all = None
    if n_boot > 0 and record_ids:
        stacked = np.hstack([np.hstack([lc.tp, lc.fp, lc.fn]) for lc in levels])
        boot_all = bootstrap_totals(stacked, n_boot, seed)
    offset = 0
    for lc in levels:
        k = len(lc.groups)
        boot = None
        if boot_all is not None:
            boot = (
                boot_all[:, offset : offset + k],
                boot_all[:, offset + k : offset + 2 * k],
                boot_all[:, offset + 2 * k : offset + 3 * k],
            )
        offset += 3 * k
        rows.extend(level_metrics(lc, boot))

    labels, matrix = category_confusion(
        [Counter({c: n for (_, c), n in d.items()}) for d in disclosed],
        [Counter({c: n for (_, c), n in s.items()}) for s in should],
        severity_rank,
    )
    calibration, pr_curves = _scores(record_ids, flags, truths, judged, truth)
    errors = _errors(record_ids, flags, predicted, truth, disclosed, should, truths)
    unknown = [cid for t in truths.values() for cid in t.unknown_crime_ids]
    return Evaluation(
        record_ids=record_ids,
        judged_types=judged,
        unjudged_types=unjudged,
        rows=rows,
        confusion_labels=labels,
        confusion=matrix,
        calibration=calibration,
        pr_curves=pr_curves,
        errors=errors,
        missing_flags=missing,
        unknown_crime_ids=unknown,
        versions=flag_versions(flags.get(rid) for rid in record_ids if rid in flags),  # type: ignore[misc]
        n_boot=n_boot,
    )


def _scores(
    record_ids: list[str],
    flags: Mapping[str, Flag],
    truths: Mapping[str, RecordTruth],
    judged: list[str],
    truth: list[Counter[Key]],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    disclosure_scores: list[float] = []
    disclosure_labels: list[int] = []
    finding_scores: list[float] = []
    finding_labels: list[int] = []
    per_type: dict[str, tuple[list[float], list[int]]] = {t: ([], []) for t in judged}
    any_scores: list[float] = []
    any_labels: list[int] = []
    for rid, true in zip(record_ids, truth, strict=True):
        flag = flags.get(rid)
        every_crime = truths[rid].should_record + truths[rid].transferred
        best: dict[str, float] = {}
        for d in flag.disclosed if flag else []:
            best[str(d.category)] = max(best.get(str(d.category), 0.0), d.score)
        for category, score in best.items():
            disclosure_scores.append(score)
            disclosure_labels.append(int(every_crime.get(category, 0) > 0))
        by_key: dict[Key, float] = {}
        for f in flag.findings if flag else []:
            key = (str(f.type), str(f.category))
            if key[0] in judged:
                by_key[key] = max(by_key.get(key, 0.0), f.score)
        for key, score in by_key.items():
            finding_scores.append(score)
            finding_labels.append(int(true.get(key, 0) > 0))
        for kind in judged:
            scores = [s for (t, _), s in by_key.items() if t == kind]
            per_type[kind][0].append(max(scores, default=0.0))
            per_type[kind][1].append(int(any(t == kind and n > 0 for (t, _), n in true.items())))
        any_scores.append(flag.priority if flag else 0.0)
        any_labels.append(int(any(n > 0 for n in true.values())))
    calibration = {
        "disclosure": reliability(np.array(disclosure_scores), np.array(disclosure_labels)),
        "finding": reliability(np.array(finding_scores), np.array(finding_labels)),
    }
    pr = {"any_priority": _pr_curve(np.array(any_scores), np.array(any_labels))}
    for kind, (scores, labels) in per_type.items():
        pr[kind] = _pr_curve(np.array(scores), np.array(labels))
    return calibration, pr


def _errors(
    record_ids: list[str],
    flags: Mapping[str, Flag],
    predicted: list[Counter[Key]],
    truth: list[Counter[Key]],
    disclosed: list[Counter[Key]],
    should: list[Counter[Key]],
    truths: Mapping[str, RecordTruth],
) -> list[dict[str, Any]]:
    """False positives and negatives by record id, with their source and :func:`error_cause`;
    ids and labels only."""
    rows: list[dict[str, Any]] = []
    for i, rid in enumerate(record_ids):
        audit_categories = {c for (_, c) in should[i]}
        disclosed_categories = {c for (_, c) in disclosed[i]}
        flag = flags.get(rid)
        by_category: dict[str, list[Disclosure]] = {}
        for d in flag.disclosed if flag else []:
            by_category.setdefault(str(d.category), []).append(d)
        crime_of: dict[Key, str | None] = {(f.type, f.category): f.crime_id for f in truths[rid].findings}
        for f in flag.findings if flag else []:
            crime_of.setdefault((str(f.type), str(f.category)), f.crime_id)
        for level, pred, true in (
            ("finding", predicted[i], truth[i]),
            ("disclosure", disclosed[i], should[i]),
        ):
            for key in sorted(set(pred) | set(true)):
                p, t = pred.get(key, 0), true.get(key, 0)
                if p == t:
                    continue
                kind, category = key
                score = None
                if flag and level == "finding":
                    score = max(
                        (f.score for f in flag.findings if (str(f.type), str(f.category)) == key),
                        default=None,
                    )
                elif flag:
                    score = max((d.score for d in by_category.get(category, [])), default=None)
                rows.append(
                    {
                        "record_id": rid,
                        "level": level,
                        "type": kind,
                        "category": category,
                        "error": "false_positive" if p > t else "false_negative",
                        "count": abs(p - t),
                        "score": score,
                        "crime_id": crime_of.get(key) if level == "finding" else None,
                        "source": disclosure_source(by_category.get(category, [])),
                        "cause": error_cause(level, category, p, t, disclosed_categories, audit_categories),
                    }
                )
    return rows


#: What an error row's ``cause`` can be (docs/evaluation.md, "Where the errors come from").
ERROR_CAUSES = (
    "not_disclosed",
    "disclosed_reconciled_otherwise",
    "undercounted",
    "overcounted",
    "real_category_reconciled_wrongly",
    "false_category",
    "no_crime_in_record",
)


def error_cause(
    level: str,
    category: str,
    predicted: int,
    true: int,
    disclosed: set[str],
    audited: set[str],
) -> str:
    """Why one (record, type, category) cell is wrong, from counts and categories alone.

    A miss is ``undercounted`` when some were found, else ``not_disclosed`` when the detectors
    never disclosed the category, else (findings only) ``disclosed_reconciled_otherwise``:
    disclosed, but reconcile matched it to a recorded crime or judged its timing or category
    otherwise. A false flag is ``overcounted`` when the audit has some, else
    ``no_crime_in_record`` when the audit has no crime at all, else (findings only)
    ``real_category_reconciled_wrongly`` when the audit has that category (matching, counting
    or timing went wrong), else ``false_category``.
    """
    if predicted < true:
        if predicted:
            return "undercounted"
        if level == "finding" and category in disclosed:
            return "disclosed_reconciled_otherwise"
        return "not_disclosed"
    if true:
        return "overcounted"
    if not audited:
        return "no_crime_in_record"
    if level == "finding" and category in audited:
        return "real_category_reconciled_wrongly"
    return "false_category"


def cause_counts(errors: Sequence[Mapping[str, Any]], level: str = "finding") -> dict[tuple[str, str], int]:
    """Error counts by (type, cause) at one level: where a scan's errors come from."""
    out: Counter[tuple[str, str]] = Counter()
    for row in errors:
        if row["level"] == level:
            out[(row["type"], row["cause"])] += int(row["count"])
    return dict(sorted(out.items()))
