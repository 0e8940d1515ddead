"""Evaluation of flags against audits (``crimedetect evaluate``).

- :mod:`crimedetect.evaluate.truth`: audit labels -> expected findings and recording outcomes
  (``audit_truth``, the one function everyone measures against);
- :mod:`crimedetect.evaluate.core`: ``evaluate_flags`` -> ``Evaluation`` (P/R/F1/F2 with
  bootstrap intervals, confusion, calibration, PR curves, error table);
- :mod:`crimedetect.evaluate.charts`, :mod:`crimedetect.evaluate.mlflow_log`: PNGs and MLflow.
"""

from crimedetect.evaluate.core import Evaluation, evaluate_flags
from crimedetect.evaluate.truth import CrimeLookup, RecordTruth, TruthFinding, audit_truth, truths_for

__all__ = [
    "CrimeLookup",
    "Evaluation",
    "RecordTruth",
    "TruthFinding",
    "audit_truth",
    "evaluate_flags",
    "truths_for",
]
