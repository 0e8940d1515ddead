"""What a supervisor can decide about a finding, how a decision is validated, and how
decisions become contract audits (the labels ``crimedetect train`` learns from)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from crimedetect.contract import CATEGORIES


class Decision(StrEnum):
    """The outcomes of reviewing one finding."""

    crime_recorded = "crime_recorded"
    no_crime = "no_crime"
    n100_raised = "n100_raised"
    already_recorded = "already_recorded"
    refer_fcr = "refer_fcr"


DECISION_LABELS: dict[str, str] = {
    Decision.crime_recorded.value: "Crime recorded now",
    Decision.no_crime.value: "No crime (AVI)",
    Decision.n100_raised.value: "N100 raised",
    Decision.already_recorded.value: "Already recorded",
    Decision.refer_fcr.value: "Referred to the FCR",
}

DECISION_HELP: dict[str, str] = {
    Decision.crime_recorded.value: "category and crime reference required",
    Decision.no_crime.value: "rationale required: the additional verifiable information",
    Decision.n100_raised.value: "N100 reference if there is one",
    Decision.already_recorded.value: "reference of the existing crime record required",
    Decision.refer_fcr.value: "left with the Force Crime Registrar; not exported until decided",
}

CRIME_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.:-]{0,99}$")
MAX_RATIONALE_CHARS = 4000


class DecisionError(ValueError):
    """A decision form that cannot be stored, with a message for the supervisor."""


@dataclass(frozen=True)
class DecisionInput:
    """A validated decision, ready to become an event."""

    decision: str
    category: str | None
    crime_ref: str | None
    rationale: str | None


def validate_decision(
    decision: str | None,
    category: str | None = None,
    crime_ref: str | None = None,
    rationale: str | None = None,
) -> DecisionInput:
    """Check a decision form; raise :class:`DecisionError` naming what is missing or wrong."""
    values = {d.value for d in Decision}
    if decision not in values:
        raise DecisionError(f"choose a decision: one of {', '.join(sorted(values))}")
    category = (category or "").strip() or None
    crime_ref = (crime_ref or "").strip() or None
    rationale = (rationale or "").strip() or None
    if category is not None and category not in CATEGORIES:
        raise DecisionError(f"unknown category {category!r}")
    if crime_ref is not None and not CRIME_REF_RE.match(crime_ref):
        raise DecisionError("crime reference: letters, digits and / _ . : - only, at most 100 characters")
    if rationale is not None and len(rationale) > MAX_RATIONALE_CHARS:
        raise DecisionError(f"rationale is longer than {MAX_RATIONALE_CHARS} characters")
    if decision == Decision.crime_recorded.value:
        if category is None:
            raise DecisionError("crime recorded now: give the category it was recorded under")
        if crime_ref is None:
            raise DecisionError("crime recorded now: give the crime reference")
    elif decision == Decision.no_crime.value:
        if rationale is None:
            raise DecisionError(
                "no crime: a rationale is required (what additional verifiable information shows "
                "no crime was committed)"
            )
    elif decision == Decision.already_recorded.value:
        if crime_ref is None:
            raise DecisionError("already recorded: give the reference of the existing crime record")
    if decision not in (Decision.crime_recorded.value, Decision.already_recorded.value):
        category = None
    return DecisionInput(decision, category, crime_ref, rationale)
