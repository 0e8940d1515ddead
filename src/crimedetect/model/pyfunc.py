"""The MLflow pyfunc that carries a bundle in the model registry (logged as models from code).

``predict`` takes a DataFrame with a ``record`` column of contract record dicts (or JSON
strings) and returns one row of category probabilities per record.
"""

from __future__ import annotations

import json

import mlflow.models
import mlflow.pyfunc


class OffenceClassifierPyfunc(mlflow.pyfunc.PythonModel):
    """Serves :class:`crimedetect.model.bundle.ModelBundle` through ``mlflow.pyfunc``."""

    def load_context(self, context):  # noqa: ANN001, ANN201  (MLflow's signature)
        from crimedetect.model.bundle import ModelBundle

        self.bundle = ModelBundle(context.artifacts["bundle"])

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        import pandas as pd

        from crimedetect.contract import Record

        rows = model_input["record"] if "record" in model_input else model_input.iloc[:, 0]
        records = [Record.model_validate(json.loads(r) if isinstance(r, str) else r) for r in rows]
        predictions = self.bundle.predict(records)
        return pd.DataFrame([{"record_id": p.record_id, **p.probs} for p in predictions])


mlflow.models.set_model(OffenceClassifierPyfunc())
