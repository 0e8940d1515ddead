"""TF-IDF + logistic regression over whole records: the classical baseline in quality tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crimedetect.contract import CATEGORIES, Record
from crimedetect.model.data import record_text


class TfidfBaseline:
    """One balanced logistic regression per category over word and character n-grams.

    scikit-learn style: parameters in ``__init__``, fitted attributes end in ``_``. A category
    with no positive (or no negative) training record predicts its training rate.
    """

    def __init__(self, C: float = 4.0, threshold: float = 0.5, random_state: int = 0) -> None:
        self.C = C
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, records: Sequence[Record], y: np.ndarray) -> TfidfBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        y = np.asarray(y, dtype=int).reshape(-1, len(CATEGORIES))
        self.vectorizer_ = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True),
                ),
            ]
        )
        X = self.vectorizer_.fit_transform([record_text(r) for r in records])
        self.models_: list[LogisticRegression | float] = []
        for k in range(len(CATEGORIES)):
            column = y[:, k]
            if column.min() == column.max():
                self.models_.append(float(column.mean()))
                continue
            clf = LogisticRegression(
                C=self.C, class_weight="balanced", max_iter=2000, random_state=self.random_state
            )
            self.models_.append(clf.fit(X, column))
        return self

    def predict_proba(self, records: Sequence[Record]) -> np.ndarray:
        X = self.vectorizer_.transform([record_text(r) for r in records])
        out = np.zeros((X.shape[0], len(CATEGORIES)))
        for k, model in enumerate(self.models_):
            out[:, k] = model if isinstance(model, float) else model.predict_proba(X)[:, 1]
        return out

    def predict(self, records: Sequence[Record]) -> np.ndarray:
        return (self.predict_proba(records) >= self.threshold).astype(int)
