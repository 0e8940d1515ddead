"""Offence extraction with spaCy rules: patterns, ConText-style qualifiers, victims, counting.

``RuleDetector`` implements :class:`crimedetect.detect.Detector`; ``keyword_baseline`` is the
plain-regex baseline quality tables compare against. Rule files are data under
``crimedetect/resources/rules`` (see ``docs/rules.md``).
"""

from __future__ import annotations

from crimedetect.rules.baseline import keyword_baseline
from crimedetect.rules.detector import RuleDetector

__all__ = ["RuleDetector", "keyword_baseline"]
