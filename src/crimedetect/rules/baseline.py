"""The keyword baseline: one plain regular expression per category, no context, no counting.

It answers 'what do the rules add over grepping for offence words?' in quality tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from crimedetect.contract import Record

KEYWORDS: dict[str, str] = {
    "violence_with_injury": r"\b(abh|gbh|s47|s18|s20|wound\w*|stab\w*|injur\w*|bruis\w*|bleed\w*"
    r"|fractur\w*)\b",
    "violence_without_injury": r"\b(assault\w*|punch\w*|kick\w*|slap\w*|push\w*|shov\w*|hit|struck|spat"
    r"|threat\w*)\b",
    "stalking_harassment": r"\b(harass\w*|stalk\w*|malicious|coercive|controlling"
    r"|keeps? (ringing|texting|messaging))\b",
    "rape": r"\b(rape\w*|raping)\b",
    "other_sexual_offence": r"\b(sexual\w*|indecent\w*|expos\w*|grop\w*|touch\w*|groom\w*)\b",
    "modern_slavery": r"\b(slavery|traffick\w*|nrm|exploitation|cuckoo\w*)\b",
    "robbery": r"\b(robbery|robbed|rob|mugg\w*)\b",
    "burglary": r"\b(burglar\w*|burgled|break-in|broke in)\b",
    "theft": r"\b(theft|stole\w*|stolen|shoplift\w*|nicked)\b",
    "criminal_damage_arson": r"\b(damage\w*|smash\w*|arson|graffiti|slashed)\b",
    "public_order": r"\b(public order|s4a?|s5|racist|abuse)\b",
    "other_notifiable": r"\b(cannabis|cocaine|heroin|drugs|pwits|offensive weapon|bladed)\b",
}
_COMPILED = {category: re.compile(pattern, re.IGNORECASE) for category, pattern in KEYWORDS.items()}


def keyword_baseline(records: Sequence[Record]) -> list[set[str]]:
    """For each record, the categories whose keyword regex matches any entry."""
    found: list[set[str]] = []
    for record in records:
        text = "\n".join(entry.text for entry in record.entries)
        found.append({category for category, regex in _COMPILED.items() if regex.search(text)})
    return found
