"""A small fictional force's scan output, for demos, the browser test and the benchmark.

Texts are assembled from a few fictional phrases; evidence offsets are computed from the
assembled text, so every span is exact. This is not the synthetic force of
``crimedetect.synth`` (which models crimes and audits); it only exercises the review app.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crimedetect.contract import Crime, Disclosure, Evidence, Finding, Flag, Record
from crimedetect.io import write_contract

PHRASES: dict[str, str] = {
    "stalking_harassment": "has sent over 40 texts saying she will regret it",
    "violence_without_injury": "he slapped her across the face",
    "violence_with_injury": "he punched him, splitting his lip",
    "theft": "took her phone from the table and walked off",
    "burglary": "someone forced the back door and took the laptop",
    "criminal_damage_arson": "smashed the kitchen window with a brick",
    "rape": "she reports he raped her at the flat last night",
    "public_order": "was shouting abuse in the street, causing distress",
    "robbery": "threatened him with a knife and took his wallet",
}
NAMES = ("Kelly MORRIS", "Dean PARKER", "Aisha KHAN", "Tom BRIDGES", "Nina OSEI", "Lee WARD")
KINDS = ("incident",) * 8 + ("safeguarding", "modern_slavery", "other")
TYPES = ("unrecorded",) * 5 + ("misclassified", "late", "cancellation_unsupported")
START = datetime(2017, 1, 1, tzinfo=UTC)


def _text(rng: random.Random, phrase: str) -> tuple[str, int]:
    """An entry text containing ``phrase``; returns the text and the phrase's offset."""
    name = rng.choice(NAMES)
    before = f"RP {name} states that the ex-partner {rng.choice(('attended', 'called', 'returned'))} and "
    after = f". {rng.choice(('Requests attendance.', 'Officers attending.', 'Advised re DASH.'))}"
    return before + phrase + after, len(before)


def generate(n: int, seed: int = 0) -> Iterator[tuple[Record, list[Crime], Flag]]:
    """``n`` records with their crimes and flags; about 80% have at least one finding."""
    rng = random.Random(seed)
    categories = list(PHRASES)
    for i in range(n):
        record_id = f"SMP-{i:07d}"
        opened = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
        n_disclosed = rng.choice((1, 1, 2))
        chosen = rng.sample(categories, n_disclosed)
        entries, disclosed = [], []
        for j, category in enumerate(chosen):
            text, at = _text(rng, PHRASES[category])
            entries.append(
                {
                    "at": opened + timedelta(minutes=40 * j),
                    "author": f"PC {rng.randrange(1000, 9999)}",
                    "text": text,
                }
            )
            evidence = Evidence(entry=j, start=at, end=at + len(PHRASES[category]), text=PHRASES[category])
            score = round(rng.uniform(0.35, 0.99), 3)
            disclosed.append(
                Disclosure(
                    category=category,
                    victim=rng.choice(NAMES),
                    score=score,
                    by=["rules", "model"],
                    evidence=[evidence],
                    rule_ids=[f"{category}.v1"],
                    cues=["asserted", "victim"],
                    model_score=round(min(1.0, score + 0.01), 3),
                )
            )
        entries.append(
            {
                "at": opened + timedelta(hours=2),
                "author": "PC 2231",
                "text": "Attended. Words of advice given.",
            }
        )
        record = Record(record_id=record_id, kind=rng.choice(KINDS), opened_at=opened, entries=entries)
        crimes: list[Crime] = []
        findings: list[Finding] = []
        if rng.random() < 0.8:
            for d in disclosed:
                kind = "n100_missing" if d.category == "rape" and rng.random() < 0.5 else rng.choice(TYPES)
                crime_id = None
                if kind in ("misclassified", "late", "cancellation_unsupported"):
                    crime_id = f"SMC-{i:07d}-{len(crimes)}"
                    crimes.append(
                        Crime(
                            crime_id=crime_id,
                            record_ids=[record_id],
                            category="public_order" if kind == "misclassified" else d.category,
                            status="cancelled" if kind == "cancellation_unsupported" else "recorded",
                            recorded_at=opened + timedelta(days=3 if kind == "late" else 0, hours=1),
                            cancellation_reason="victim withdrew"
                            if kind == "cancellation_unsupported"
                            else None,
                        )
                    )
                findings.append(
                    Finding(
                        type=kind,
                        category=d.category,
                        score=d.score,
                        detail=f"{kind} (sample)",
                        crime_id=crime_id,
                    )
                )
        priority = max((f.score for f in findings), default=0.0)
        yield (
            record,
            crimes,
            Flag(
                record_id=record_id,
                disclosed=disclosed,
                crime_ids=[c.crime_id for c in crimes],
                findings=findings,
                priority=priority,
            ),
        )


def write_sample(out_dir: str | Path, n: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write records.jsonl, crimes.jsonl and flags.jsonl for ``n`` sample records."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records, crimes, flags = out / "records.jsonl", out / "crimes.jsonl", out / "flags.jsonl"
    items = list(generate(n, seed)) if n <= 20000 else None
    if items is not None:
        write_contract(records, (r for r, _, _ in items), "records")
        write_contract(crimes, (c for _, cs, _ in items for c in cs), "crimes")
        write_contract(flags, (f for _, _, f in items), "flags")
    else:  # large samples: three streaming passes over the same seed instead of holding them
        write_contract(records, (r for r, _, _ in generate(n, seed)), "records")
        write_contract(crimes, (c for _, cs, _ in generate(n, seed) for c in cs), "crimes")
        write_contract(flags, (f for _, _, f in generate(n, seed)), "flags")
    return records, crimes, flags
