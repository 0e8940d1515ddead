"""The offence classifier: a fine-tuned transformer, its thresholds and the rule/model ensemble.

Public interface (agreed with the other stages):

- :func:`load_bundle` (directory or ``models:/...`` URI, offline) -> :class:`ModelBundle`
  with ``version``, ``predict(records) -> list[RecordPrediction]`` and
  ``combine(records, rule_disclosures, predictions) -> list[list[Disclosure]]``;
- :func:`champion_uri` -> ``models:/crimedetect-offence-classifier@champion`` or None;
- :func:`train` (``crimedetect train --config ...``).

Names are resolved lazily so that ``import crimedetect.model`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crimedetect.model.bundle import ModelBundle, RecordPrediction, champion_uri, load_bundle
    from crimedetect.model.train import TrainResult, train

__all__ = [
    "ModelBundle",
    "RecordPrediction",
    "champion_uri",
    "load_bundle",
    "train",
    "TrainResult",
    "MODEL_NAME",
]

_WHERE = {
    "ModelBundle": "crimedetect.model.bundle",
    "RecordPrediction": "crimedetect.model.bundle",
    "champion_uri": "crimedetect.model.bundle",
    "load_bundle": "crimedetect.model.bundle",
    "train": "crimedetect.model.train",
    "TrainResult": "crimedetect.model.train",
    "MODEL_NAME": "crimedetect.tracking",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'crimedetect.model' has no attribute {name!r}")
