"""The labelling-function summary of the rules against audits (Snorkel style), and the
terminal explanation of one record.

For each rule: how often it fires (mentions, records), how often context excluded it or the
judgement dropped it, how often it supports a counted disclosure whose category an auditor
also found in that record (a hit) or did not (a false hit), and its empirical accuracy. Analysts sort by
false hits to see which rule to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text

from crimedetect.contract import Audit, Disclosure, Record
from crimedetect.rules.counting import count
from crimedetect.rules.detector import RuleDetector
from crimedetect.rules.extract import RecordTrace


@dataclass
class RuleStats:
    """One rule's summary over a set of audited records."""

    rule_id: str
    fires: int = 0
    records: set[str] = field(default_factory=set)
    excluded: int = 0
    judged_out: int = 0
    hits: set[str] = field(default_factory=set)
    false_hits: set[str] = field(default_factory=set)

    @property
    def accuracy(self) -> float | None:
        total = len(self.hits) + len(self.false_hits)
        return len(self.hits) / total if total else None

    def row(self, n_records: int) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "fires": self.fires,
            "records": len(self.records),
            "coverage": round(len(self.records) / n_records, 4) if n_records else 0.0,
            "excluded": self.excluded,
            "judged_out": self.judged_out,
            "hits": len(self.hits),
            "false_hits": len(self.false_hits),
            "accuracy": None if self.accuracy is None else round(self.accuracy, 4),
            "false_hit_records": sorted(self.false_hits),
        }


def rule_report(
    records: Sequence[Record], audits: dict[str, Audit], detector: RuleDetector
) -> list[dict[str, object]]:
    """Per rule (offence rules only), its firing and accuracy against audited records."""
    audited = [r for r in records if r.record_id in audits]
    settings = detector.counting
    stats: dict[str, RuleStats] = {}
    for record, trace in zip(audited, detector.trace(audited), strict=True):
        truth = {str(c.category) for c in audits[record.record_id].crimes}
        rid = record.record_id
        for mention in trace.mentions:
            s = stats.setdefault(mention.rule_id, RuleStats(mention.rule_id))
            s.fires += 1
            s.records.add(rid)
        for mention, why in trace.dropped:
            s = stats[mention.rule_id]
            if why.startswith("excluded"):
                s.excluded += 1
            else:
                s.judged_out += 1
        # A rule hits when a counted disclosure it supports is a crime the auditor found.
        for disclosure in count(record, trace.candidates, settings):
            for rule_id in (disclosure.model_extra or {}).get("rule_ids", []):
                s = stats[rule_id]
                (s.hits if str(disclosure.category) in truth else s.false_hits).add(rid)
    n = len(audited)
    rows = [s.row(n) for s in stats.values()]
    rows.sort(key=lambda r: (-int(r["false_hits"]), str(r["rule_id"])))  # type: ignore[call-overload]
    return rows


def report_table(rows: list[dict[str, object]]) -> Table:
    """The rule summary as a rich table."""
    table = Table(title="Rules against audits (labelling-function summary)")
    for column in (
        "rule_id",
        "fires",
        "records",
        "coverage",
        "excluded",
        "judged_out",
        "hits",
        "false_hits",
        "accuracy",
    ):
        table.add_column(column, justify="left" if column == "rule_id" else "right", overflow="fold")
    for row in rows:
        accuracy = row["accuracy"]
        table.add_row(
            str(row["rule_id"]),
            str(row["fires"]),
            str(row["records"]),
            f"{row['coverage']:.2f}",
            str(row["excluded"]),
            str(row["judged_out"]),
            str(row["hits"]),
            str(row["false_hits"]),
            "-" if accuracy is None else f"{accuracy:.2f}",
        )
    return table


STYLE_OFFENCE = "bold white on red"
STYLE_DROPPED = "strike red"
STYLE_CUE = "bold yellow"
STYLE_TRIGGER = "underline cyan"


def explain(record: Record, disclosures: list[Disclosure], trace: RecordTrace) -> Group:
    """The record's entries with evidence highlighted, then its disclosures and drops."""
    kind = getattr(record.kind, "value", record.kind)
    parts: list[object] = [Text(f"Record {record.record_id} ({kind})", style="bold")]
    dropped = {(m.entry, m.start, m.end) for m, _ in trace.dropped}
    for index, entry in enumerate(record.entries):
        text = Text(entry.text)
        for cue in trace.cues:
            if cue.entry == index:
                text.stylize(STYLE_CUE, cue.start, cue.end)
        for mention in trace.mentions:
            if mention.entry == index:
                style = STYLE_DROPPED if (index, mention.start, mention.end) in dropped else STYLE_OFFENCE
                text.stylize(style, mention.start, mention.end)
            for q in mention.qualifiers:
                if mention.entry == index and "entry" not in q:
                    text.stylize(STYLE_TRIGGER, q["start"], q["end"])
        for cue in trace.record_cues:
            if cue["entry"] == index:
                text.stylize(STYLE_TRIGGER, cue["start"], cue["end"])
        head = Text(f"[{index}] {entry.at.isoformat()} {entry.author or ''}\n", style="dim")
        parts.append(head + text)
    table = Table(title="Disclosures (counted)")
    for column in ("category", "victim", "score", "hocr", "first entry", "rule ids", "cues", "folded"):
        table.add_column(column, overflow="fold")
    for d in disclosures:
        extra = d.model_extra or {}
        table.add_row(
            str(d.category),
            d.victim or "-",
            f"{d.score:.2f}",
            str(extra.get("hocr_code") or "-"),
            str(extra.get("first_entry")),
            ", ".join(extra.get("rule_ids", [])),
            ", ".join(extra.get("cues", [])),
            ", ".join(extra.get("folded", [])) or "-",
        )
    parts.append(table)
    if trace.dropped:
        drops = Table(title="Mentions not counted")
        for column in ("entry", "words", "rule id", "why", "triggers"):
            drops.add_column(column, overflow="fold")
        for mention, why in trace.dropped:
            triggers = ", ".join(f"{q['qualifier']}: '{q['text']}'" for q in mention.qualifiers)
            drops.add_row(str(mention.entry), mention.text, mention.rule_id, why, triggers or "-")
        parts.append(drops)
    legend = Text.assemble(
        ("offence words", STYLE_OFFENCE),
        "  ",
        ("not counted", STYLE_DROPPED),
        "  ",
        ("evidence cue", STYLE_CUE),
        "  ",
        ("context trigger", STYLE_TRIGGER),
    )
    parts.append(legend)
    return Group(*parts)  # type: ignore[arg-type]
