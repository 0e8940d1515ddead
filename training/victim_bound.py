"""What perfect victims would be worth: a finished scan re-matched with the audits' own victims.

For every record, each category the scan disclosed and the audit lists is replaced by the audit's
own disclosures of that category (its victims, one crime each); categories the audit lacks keep
the scan's disclosures, and categories the scan missed stay missed. Reconciling that again gives
an upper bound on what victim attribution and counting alone could add, split by where the
category came from (the rules, or the model alone, whose disclosures have no victim). Counts
only; no text is printed. docs/history/model.md, "What perfect victims would be worth".

Run from the project root:

    python training/victim_bound.py --flags F --records R --crimes C --audits A
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from crimedetect.contract import Audit, Disclosure, Flag, Record
from crimedetect.io import load_all
from crimedetect.reconcile import CrimeIndex, finding_quality, oracle_disclosures, reconcile

#: Which of the scan's categories get the audit's victims, given (scan categories, model-only ones).
VARIANTS: dict[str, Callable[[set[str], set[str]], set[str]]] = {
    "the scan": lambda scanned, model_only: set(),
    "perfect victims": lambda scanned, model_only: scanned,
    "perfect victims, rule categories only": lambda scanned, model_only: scanned - model_only,
    "perfect victims, model-only categories only": lambda scanned, model_only: model_only,
}


def with_audit_victims(flag: Flag, record: Record, audit: Audit, categories: set[str]) -> list[Disclosure]:
    """The flag's disclosures with those of ``categories`` the audit lists replaced by the audit's."""
    audited = oracle_disclosures(record, audit)
    listed = {str(d.category) for d in audited} & categories
    kept = [d for d in flag.disclosed if str(d.category) not in listed]
    return kept + [d for d in audited if str(d.category) in listed]


def bound(
    flags: Sequence[Flag], records: Sequence[Record], crimes: Sequence, audits: Sequence[Audit]
) -> dict[str, tuple[int, int, int]]:
    """``unrecorded`` (tp, flagged, actual) per variant, on the audited records the scan flagged."""
    flag_of = {f.record_id: f for f in flags}
    audit_of = {a.record_id: a for a in audits}
    scored = [r for r in records if r.record_id in flag_of and r.record_id in audit_of]
    index = CrimeIndex.build(crimes)
    for record in scored:
        index.add_links(record.record_id, record.linked_record_ids)  # as scans link back
    out: dict[str, tuple[int, int, int]] = {}
    for name, choose in VARIANTS.items():
        rematched = []
        for record in scored:
            flag = flag_of[record.record_id]
            scanned = {str(d.category) for d in flag.disclosed}
            model_only = {
                c for c in scanned if all(d.by == ["model"] for d in flag.disclosed if str(d.category) == c)
            }
            chosen = choose(scanned, model_only)
            disclosures = with_audit_victims(flag, record, audit_of[record.record_id], chosen)
            rematched.append(reconcile(record, disclosures, index.for_record(record)))
        q = finding_quality(rematched, [audit_of[r.record_id] for r in scored], scored, crimes)["unrecorded"]
        out[name] = (q.true_positive, q.predicted, q.actual)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("flags", "records", "crimes", "audits"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = bound(
        list(load_all(args.flags, "flags")),
        list(load_all(args.records, "records")),
        list(load_all(args.crimes, "crimes")),
        list(load_all(args.audits, "audits")),
    )
    print("| variant | unrecorded precision / recall (tp / flagged / actual) |")
    print("|---|---|")
    for name, (tp, predicted, actual) in rows.items():
        p = f"{tp / predicted:.3f}" if predicted else "-"
        r = f"{tp / actual:.3f}" if actual else "-"
        print(f"| {name} | {p} / {r} ({tp}/{predicted}/{actual}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
