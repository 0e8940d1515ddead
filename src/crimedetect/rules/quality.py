"""Quality of the rules (and the keyword baseline) against audits, at (record, category) level.

A record's predicted categories are the categories of its disclosures; the truth is the
categories of its audit's crimes. Per category: precision, recall, F1; micro and macro
averages; and crime-count accuracy (the number of counted disclosures equals the number of
audit crimes). The dev set is split by a hash of the record id so that one part (a third)
stays untouched while rules are written: ``part(record_id)`` says which.

Run: ``python -m crimedetect.rules.quality --dev ../shared/data/dev``
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crimedetect.contract import CATEGORIES, Audit, Disclosure, Record

if TYPE_CHECKING:
    from crimedetect.reconcile import ReconcileSettings

HELD_OUT = "held_out"
DEVELOPMENT = "development"


def part(record_id: str) -> str:
    """``held_out`` for a third of records (by SHA-1 of the id), else ``development``."""
    return HELD_OUT if int(hashlib.sha1(record_id.encode("utf-8")).hexdigest(), 16) % 3 == 0 else DEVELOPMENT


@dataclass
class Scores:
    """Counts and scores of one system on one set of records."""

    tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    records: int = 0
    count_correct: int = 0
    count_known: int = 0
    #: rape reports that need an N100 (a rape disclosure cued as uncertain or unconfirmed)
    n100: dict[str, int] = field(default_factory=lambda: {"tp": 0, "fp": 0, "fn": 0})

    def add(self, predicted: set[str], truth: set[str], n_predicted: int | None, n_truth: int) -> None:
        self.records += 1
        for category in CATEGORIES:
            if category in predicted and category in truth:
                self.tp[category] += 1
            elif category in predicted:
                self.fp[category] += 1
            elif category in truth:
                self.fn[category] += 1
        if n_predicted is not None:
            self.count_known += 1
            self.count_correct += int(n_predicted == n_truth)

    def add_n100(self, reported: bool, required: bool) -> None:
        """An N100 report predicted (``reported``) against the audit's ``n100_required``."""
        if reported and required:
            self.n100["tp"] += 1
        elif reported:
            self.n100["fp"] += 1
        elif required:
            self.n100["fn"] += 1

    @staticmethod
    def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def category(self, name: str) -> tuple[float, float, float, int]:
        p, r, f = self._prf(self.tp[name], self.fp[name], self.fn[name])
        return p, r, f, self.tp[name] + self.fn[name]

    def micro(self) -> tuple[float, float, float]:
        return self._prf(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()))

    def macro(self) -> tuple[float, float, float]:
        present = [c for c in CATEGORIES if self.tp[c] + self.fn[c] + self.fp[c]]
        rows = [self.category(c)[:3] for c in present] or [(0.0, 0.0, 0.0)]
        return tuple(sum(row[i] for row in rows) / len(rows) for i in range(3))  # type: ignore[return-value]

    def count_accuracy(self) -> float | None:
        return self.count_correct / self.count_known if self.count_known else None


def evaluate(
    records: Sequence[Record],
    audits: dict[str, Audit],
    predicted: Sequence[set[str]],
    counts: Sequence[int] | None = None,
    n100_reports: Sequence[bool] | None = None,
) -> dict[str, Scores]:
    """Scores for ``all``, ``development`` and ``held_out`` records that have an audit."""
    out = {"all": Scores(), DEVELOPMENT: Scores(), HELD_OUT: Scores()}
    for index, record in enumerate(records):
        audit = audits.get(record.record_id)
        if audit is None:
            continue
        truth = {str(c.category) for c in audit.crimes}
        n = counts[index] if counts is not None else None
        for key in ("all", part(record.record_id)):
            out[key].add(predicted[index], truth, n, len(audit.crimes))
            if n100_reports is not None:
                out[key].add_n100(n100_reports[index], audit.n100_required and "rape" not in truth)
    return out


def table(results: dict[str, dict[str, Scores]], split: str) -> str:
    """A Markdown table: one row per category plus micro, macro and count accuracy."""
    systems = list(results)
    head = "| category | n | " + " | ".join(f"{s} P | {s} R | {s} F1" for s in systems) + " |"
    rule = "|---|---:|" + "---:|---:|---:|" * len(systems)
    lines = [head, rule]
    first = results[systems[0]][split]
    for category in CATEGORIES:
        n = first.category(category)[3]
        cells = []
        for s in systems:
            p, r, f, _ = results[s][split].category(category)
            cells.append(f"{p:.2f} | {r:.2f} | {f:.2f}")
        lines.append(f"| {category} | {n} | " + " | ".join(cells) + " |")
    for label, getter in (("micro", Scores.micro), ("macro", Scores.macro)):
        cells = ["{:.2f} | {:.2f} | {:.2f}".format(*getter(results[s][split])) for s in systems]
        lines.append(f"| **{label}** | | " + " | ".join(cells) + " |")
    counts = []
    for s in systems:
        accuracy = results[s][split].count_accuracy()
        counts.append(f"{accuracy:.2f} | | " if accuracy is not None else "- | | ")
    lines.append(
        f"| crime-count accuracy | {first.records} recs | " + " | ".join(c.rstrip() for c in counts) + " |"
    )
    n100 = first.n100
    if any(n100.values()):
        p, r, f = Scores._prf(n100["tp"], n100["fp"], n100["fn"])
        lines.append(
            f"| N100 report ({systems[0]}) | {n100['tp'] + n100['fn']} | {p:.2f} | {r:.2f} | {f:.2f} |"
        )
    return "\n".join(lines)


def n100_report(disclosure: Disclosure, settings: ReconcileSettings) -> bool:
    """A rape disclosure cued as a report that does not (yet) amount to a crime (reconcile's
    ``n100_cues`` and :func:`~crimedetect.reconcile.n100_not_blocked`): an N100, not a rape crime."""
    from crimedetect.reconcile import n100_not_blocked

    found = set((disclosure.model_extra or {}).get("cues", []))
    return (
        str(disclosure.category) == "rape"
        and bool(found & set(settings.n100_cues))
        and n100_not_blocked(found, settings)
    )


def run(
    dev_dir: Path, config_path: str | None = None, id_prefix: str | Sequence[str] = ""
) -> tuple[dict[str, dict[str, Scores]], list[Record]]:
    """Rules and keyword baseline on a labelled directory (records.jsonl, audits.jsonl),
    on the records whose id starts with ``id_prefix`` (one prefix or several; all by default)."""
    prefixes = (id_prefix,) if isinstance(id_prefix, str) else tuple(id_prefix) or ("",)
    from crimedetect.io import load_all
    from crimedetect.rules import RuleDetector, keyword_baseline

    records: list[Record] = [
        r for r in load_all(dev_dir / "records.jsonl", "records") if r.record_id.startswith(prefixes)
    ]
    audits = {a.record_id: a for a in load_all(dev_dir / "audits.jsonl", "audits")}
    from crimedetect.reconcile import load_settings

    settings = load_settings()
    disclosures = RuleDetector(config_path).detect(records)
    reports = [[n100_report(d, settings) for d in found] for found in disclosures]
    crimes = [
        [d for d, r in zip(found, rep, strict=True) if not r]
        for found, rep in zip(disclosures, reports, strict=True)
    ]
    rules_pred = [{str(d.category) for d in found} for found in crimes]
    rules_counts = [len(found) for found in crimes]
    results = {
        "rules": evaluate(records, audits, rules_pred, rules_counts, [any(r) for r in reports]),
        "keyword": evaluate(records, audits, keyword_baseline(records)),
    }
    return results, records


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=Path("../shared/data/dev"))
    parser.add_argument("--config", default=None)
    parser.add_argument("--json", action="store_true", help="print micro scores as JSON too")
    parser.add_argument(
        "--id-prefix",
        nargs="*",
        default=[],
        help="score only records whose id starts with one of these (e.g. BL-B- BL-C-)",
    )
    parser.add_argument(
        "--part",
        choices=["all", DEVELOPMENT, HELD_OUT],
        action="append",
        help="print only this part's table (repeatable; default: all three)",
    )
    args = parser.parse_args(argv)
    results, _ = run(args.dev, args.config, args.id_prefix)
    for split in args.part or ("all", DEVELOPMENT, HELD_OUT):
        print(f"\n### {split} ({results['rules'][split].records} records)\n")
        print(table(results, split))
    if args.json:
        summary = {
            s: {
                split: dict(zip(("p", "r", "f1"), results[s][split].micro(), strict=True))
                for split in results[s]
            }
            for s in results
        }
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
