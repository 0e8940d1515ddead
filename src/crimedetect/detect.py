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
from typing import Any, Protocol, runtime_checkable

from crimedetect.contract import Disclosure, Record


@runtime_checkable
class Detector(Protocol):
    """Turns records into disclosures, one list per record, in input order."""

    name: str
    version: str

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        """Disclosures for each record, in the order the records were given."""
        ...


class Pipeline:
    """The detection pipeline: rules, then the model's predictions, then the ensemble.

    ``Pipeline(rules, bundle)`` is the one object the CLI, the Spark engine, the web app and
    the tests use to turn records into disclosures. Without a bundle it is the rules alone.
    The rules can also be run elsewhere (e.g. in worker processes) and finished here with
    :meth:`finish`, which gives the same result as :meth:`detect`.
    """

    name = "pipeline"

    def __init__(self, rules: Detector, bundle: Any | None = None) -> None:
        self.rules = rules
        self.bundle = bundle

    @property
    def model_version(self) -> str | None:
        """The bundle's version plus its ``run_settings`` (``+int8w7`` when it runs quantised,
        ``+gate-...`` when an entry gate chooses what the encoder reads: scores differ); a
        bundle without them is marked ``+int8`` when quantised."""
        if self.bundle is None:
            return None
        settings = getattr(self.bundle, "run_settings", None)
        if settings is None:
            settings = "+int8" if getattr(self.bundle, "quantize", False) else ""
        return str(self.bundle.version) + settings

    @property
    def versions(self) -> dict[str, str | None]:
        """``{"rules": ..., "model": ...}`` (model None when rules only)."""
        return {"rules": self.rules.version, "model": self.model_version}

    @property
    def version(self) -> str:
        return f"rules={self.rules.version};model={self.model_version or 'none'}"

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        """Disclosures for each record, in input order."""
        if not records:
            return []
        return self.finish(records, self.rules.detect(records))

    def finish(
        self, records: Sequence[Record], rule_disclosures: list[list[Disclosure]]
    ) -> list[list[Disclosure]]:
        """Add the model to disclosures the rules already made (batched model inference)."""
        if self.bundle is None or not records:
            return rule_disclosures
        predictions = self.bundle.predict(records)
        # No principal-crime folding of model-only categories here: reconcile applies the rule
        # to them when matching (pass 3, reconcile-8), and folding them first as well lost
        # crimes on audits neither half was fitted on (reconcile-9; docs/history/model.md, "Session 18")
        return self.bundle.combine(records, rule_disclosures, predictions)
