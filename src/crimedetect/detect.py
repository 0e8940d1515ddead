"""Detectors: the one interface behind which rules and model turn records into disclosures.

A detector takes a batch of records and returns, for each record, its disclosures: one per
crime candidate (category and victim) with the evidence spans that support it. Rules and
the model are detectors; the ensemble combines them. The CLI, the Spark engine, the web
app and the tests all go through this interface, and none re-implements a stage.

Every disclosure carries its decision trace as extra fields (kept by the contract):

- ``rule_ids``: the ids of the rules that fired (rules detector);
- ``cues``: the context qualifiers weighed, e.g. ``third_party``, ``historic``;
- ``hocr_code``: the offence code the rule suggests, if any;
- ``first_entry``: index of the first entry that disclosed it (the 24-hour clock starts there);
- ``model_score``: the classifier's probability (model detector);
- ``versions``: ``{"rules": ..., "model": ...}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from crimedetect.contract import Disclosure, Record


@runtime_checkable
class Detector(Protocol):
    """Turns records into disclosures, one list per record, in input order."""

    name: str
    version: str

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        """Disclosures for each record, in the order the records were given."""
        ...
