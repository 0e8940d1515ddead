"""A trained offence classifier as one directory, and loading it from disk or MLflow.

A bundle directory holds:

- ``model/``: the fine-tuned encoder and its tokenizer (``save_pretrained`` files);
- ``bundle.json``: label map, per-category thresholds, window settings, the ensemble stacker,
  the base model it was trained from, and validation metrics (numbers only, no text).

``load_bundle`` accepts that directory or an MLflow URI (``models:/name@alias``,
``models:/name/3``, ``runs:/<id>/model``); MLflow artifacts are fetched once into a local
cache. The encoder itself is loaded lazily on the first prediction, once per process, and a
pickled bundle carries only its path, so it travels to worker processes cheaply.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from crimedetect.contract import CATEGORIES, Disclosure, Evidence, Record
from crimedetect.model.ensemble import Stacker, rule_scores, stack_features
from crimedetect.model.gate import EntryGate
from crimedetect.model.int8 import INT8, quantize_rowwise
from crimedetect.reconcile import disclosure_entry, is_rape_report
from crimedetect.tracking import MODEL_NAME

BUNDLE_FILE = "bundle.json"
BUNDLE_FORMAT = 1
CHAMPION = "champion"


class BundleError(Exception):
    """A bundle that is missing, malformed or not loadable offline."""


@dataclass
class RecordPrediction:
    """The classifier's view of one record.

    ``probs``: probability per category (max over entries); ``entry``: index of the entry that
    drove each category; ``spans``: (entry, start, end) characters of the driving window;
    ``labels``: categories at or above their threshold; ``first_spans``: for those, the best
    window of the earliest entry at or above the threshold (where the 24-hour clock can start).
    """

    record_id: str
    probs: dict[str, float]
    entry: dict[str, int]
    spans: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    first_spans: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def _cache_root() -> Path:
    root = os.environ.get("CRIMEDETECT_MODEL_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "crimedetect" / "models"


def _resolve_models_uri(uri: str) -> tuple[str, str, str]:
    """``models:/name@alias`` or ``models:/name/version`` -> (download uri, version label, run id).

    The run id identifies the model's content: version numbers restart in a new store.
    """
    import mlflow

    body = uri[len("models:/") :]
    client = mlflow.MlflowClient()
    if "@" in body:
        name, alias = body.split("@", 1)
        mv = client.get_model_version_by_alias(name, alias)
    else:
        name, _, version = body.partition("/")
        mv = client.get_model_version(name, version)
    return f"models:/{name}/{mv.version}", f"{name}/{mv.version}", f"{mv.run_id}|{mv.creation_timestamp}"


def fetch_bundle_dir(uri: str) -> Path:
    """A local bundle directory for an MLflow URI (cached) or a path; never a network hub."""
    if not uri.startswith(("models:/", "runs:/")):
        path = Path(uri).expanduser()
        if not (path / BUNDLE_FILE).exists():
            raise BundleError(f"{path} is not a crimedetect model bundle (no {BUNDLE_FILE})")
        return path.resolve()
    import hashlib

    import mlflow

    from crimedetect.tracking import configure

    tracking = configure()
    try:
        download_uri, label, identity = (
            _resolve_models_uri(uri) if uri.startswith("models:/") else (uri, uri, uri)
        )
    except Exception as exc:  # MlflowException subclasses differ between versions
        raise BundleError(f"cannot resolve {uri} in tracking store {tracking}: {exc}") from exc
    key = hashlib.sha256(f"{tracking}|{download_uri}|{identity}".encode()).hexdigest()[:16]
    target = _cache_root() / key
    bundle_dir = _find_bundle(target)
    if bundle_dir is None:
        target.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(artifact_uri=download_uri, dst_path=str(target))
        bundle_dir = _find_bundle(target)
        if bundle_dir is None:
            raise BundleError(f"{uri} holds no crimedetect bundle ({BUNDLE_FILE} not found)")
    (bundle_dir / ".source").write_text(label, encoding="utf-8")
    return bundle_dir


def _find_bundle(root: Path) -> Path | None:
    if not root.exists():
        return None
    # MLflow keeps a pyfunc artifact folder under its own name: artifacts/<folder>/bundle.json
    for meta in sorted((root / BUNDLE_FILE, *root.glob(f"artifacts/*/{BUNDLE_FILE}"))):
        if meta.exists() and (meta.parent / "model" / "config.json").exists():
            return meta.parent
    return None


class ModelBundle:
    """A fine-tuned offence classifier with thresholds and the ensemble stacker.

    ``predict`` gives probabilities per (record, category); ``combine`` merges them with rule
    disclosures; ``detect`` makes it a :class:`crimedetect.detect.Detector` on its own.
    """

    name = "model"

    def __init__(
        self,
        path: str | Path,
        *,
        version: str | None = None,
        quantize: bool = False,
        batch_size: int | None = None,
        device: str = "auto",
        gate: EntryGate | None = None,
    ) -> None:
        self.path = Path(path)
        meta_file = self.path / BUNDLE_FILE
        try:
            self.meta: dict[str, Any] = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BundleError(f"{meta_file}: cannot read bundle metadata: {exc}") from exc
        if self.meta.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{meta_file}: format {self.meta.get('format')!r}, expected {BUNDLE_FORMAT}")
        if list(self.meta.get("labels", [])) != list(CATEGORIES):
            raise BundleError(f"{meta_file}: labels differ from the contract's categories")
        self.labels: list[str] = list(self.meta["labels"])
        self.thresholds: dict[str, float] = {c: float(self.meta["thresholds"][c]) for c in self.labels}
        self.max_length = int(self.meta.get("max_length", 256))
        self.stride = int(self.meta.get("stride", 32))
        self.batch_size = int(batch_size or self.meta.get("batch_size", 32))
        self.quantize = quantize
        self.device = device
        #: which entries the encoder reads (None: all); see :mod:`crimedetect.model.gate`
        self.gate = gate
        #: the stacker threshold in use when lowered for a scan's operating point (None: the
        #: fitted one); see :meth:`with_min_score`
        self.lowered_threshold: float | None = None
        source = self.path / ".source"
        self._version = version or (
            source.read_text(encoding="utf-8").strip()
            if source.exists()
            else self.meta.get("version", "local")
        )
        stacker = self.meta.get("stacker")
        try:
            self.stacker: Stacker | None = Stacker.from_dict(stacker) if stacker else None
        except (KeyError, ValueError) as exc:
            raise BundleError(
                f"{meta_file}: stacker: {exc}; refit it (crimedetect models refit-stacker) or retrain"
            ) from exc
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """Registry version (``name/3``) when loaded from MLflow, else the run's version label."""
        return str(self._version)

    @property
    def run_settings(self) -> str:
        """How this bundle runs, where it changes results: ``+int8w7`` (7-bit weights, 8-bit
        activations), ``+gate-...`` (an entry gate) and ``+cut0.35`` (a lowered stacker
        threshold); appended to the model version in flags."""
        return (
            (INT8 if self.quantize else "")
            + (f"+{self.gate.version}" if self.gate is not None else "")
            + (f"+cut{self.lowered_threshold:g}" if self.lowered_threshold is not None else "")
        )

    @property
    def stacker_threshold(self) -> float | None:
        """The stacker score a category needs to be kept (None: no stacker, the union is kept)."""
        if self.stacker is None:
            return None
        if self.lowered_threshold is not None:
            return self.lowered_threshold
        return float(self.stacker.threshold_)

    def with_min_score(self, min_score: float | None) -> ModelBundle:
        """This bundle for a scan whose findings need ``min_score`` (reconcile's
        ``min_finding_score``): where that is under the stacker's threshold, the stacker keeps
        categories down to it, or a lower gate would change no finding (docs/scan.md,
        "Operating point"). Shares its encoder; ``None`` or a score at or above the threshold
        gives the bundle as it is."""
        fitted = None if self.stacker is None else float(self.stacker.threshold_)
        lowered = min_score if fitted is not None and min_score is not None and min_score < fitted else None
        if lowered == self.lowered_threshold:
            return self
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.lowered_threshold = lowered
        return other

    def gated(self, gate: EntryGate | None) -> ModelBundle:
        """This bundle with another entry gate (None: read every entry); shares its encoder."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.gate = gate
        return other

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = state["_tokenizer"] = state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None:
                from transformers import AutoModelForSequenceClassification, AutoTokenizer

                directory = self.path / "model"
                tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
                model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
                model.eval()
                if self.quantize:
                    model = quantize_rowwise(model)
                else:
                    from crimedetect.model.encoder import pick_device

                    model.to(pick_device(self.device))
                self._tokenizer, self._model = tokenizer, model
        return self._model, self._tokenizer

    def entry_probs(self, records: Sequence[Record]) -> tuple[np.ndarray, list[tuple[int, int]], Any]:
        """Probabilities per entry (rows in record, entry order), entry index and best windows.

        Entries the gate keeps from the encoder get probability 0 and no window (-1)."""
        from crimedetect.model.encoder import text_probs

        model, tokenizer = self._load()
        texts = [e.text for r in records for e in r.entries]
        index = [(i, j) for i, r in enumerate(records) for j in range(len(r.entries))]
        if self.gate is None:
            probs, best, spans = text_probs(
                model, tokenizer, texts, self.max_length, self.stride, self.batch_size
            )
            return probs, index, (best, spans)
        rows = [row for row, read in enumerate(self.gate.select(records)) if read]
        read_probs, read_best, spans = text_probs(
            model, tokenizer, [texts[row] for row in rows], self.max_length, self.stride, self.batch_size
        )
        probs = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        best = np.full((len(texts), len(self.labels)), -1, dtype=np.int64)
        probs[rows] = read_probs
        best[rows] = read_best
        return probs, index, (best, spans)

    def predict_array(self, records: Sequence[Record]) -> np.ndarray:
        """Record-level probabilities ``[n_records, n_categories]`` (max over entries)."""
        return _record_matrix(self.predict(records))

    def predict(self, records: Sequence[Record]) -> list[RecordPrediction]:
        """One prediction per record, in input order (entries are batched across records)."""
        if not records:
            return []
        probs, index, (best, spans) = self.entry_probs(records)
        n_labels = len(self.labels)
        record_probs = np.zeros((len(records), n_labels), dtype=np.float32)
        driver = np.full((len(records), n_labels), -1, dtype=np.int64)
        first = np.full((len(records), n_labels), -1, dtype=np.int64)  # earliest row over threshold
        cuts = np.asarray([self.thresholds[c] for c in self.labels], dtype=np.float32)
        for row, (r, _) in enumerate(index):
            take = (probs[row] > record_probs[r]) | (driver[r] < 0)
            record_probs[r][take] = probs[row][take]
            driver[r][take] = row
            first[r][(first[r] < 0) & (probs[row] >= cuts)] = row
        out: list[RecordPrediction] = []
        for r, record in enumerate(records):
            pred = RecordPrediction(record_id=record.record_id, probs={}, entry={})
            for k, c in enumerate(self.labels):
                row = int(driver[r, k])
                p = float(record_probs[r, k])
                entry = index[row][1]
                window = int(best[row, k])
                start, end = spans[window] if window >= 0 else (0, 0)  # -1: an entry the gate closed
                pred.probs[c] = p
                pred.entry[c] = entry
                pred.spans[c] = (entry, int(start), int(end))
                if p >= self.thresholds[c]:
                    pred.labels.append(c)
                    row = int(first[r, k]) if first[r, k] >= 0 else int(driver[r, k])
                    window = int(best[row, k])
                    start, end = spans[window] if window >= 0 else (0, 0)
                    pred.first_spans[c] = (index[row][1], int(start), int(end))
            out.append(pred)
        return out

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        """The model alone as a detector: a disclosure per category over its threshold."""
        predictions = self.predict(records)
        return [
            [self._model_disclosure(rec, pred, c, pred.probs[c], ["model"]) for c in pred.labels]
            for rec, pred in zip(records, predictions, strict=True)
        ]

    def _model_disclosure(
        self, record: Record, pred: RecordPrediction, category: str, score: float, by: list[str]
    ) -> Disclosure:
        entry, start, end = pred.spans[category]
        text = record.entries[entry].text[start:end]
        data: dict[str, Any] = {
            "category": category,
            "victim": None,
            "score": round(min(max(score, 0.0), 1.0), 6),
            "by": by,
            "evidence": [Evidence(entry=entry, start=start, end=end, text=text)],
            "model_score": round(pred.probs[category], 6),
            "first_entry": entry,
            "versions": {"model": self.version},
        }
        self._start_clock_earlier(record, pred, category, data, entry)
        return Disclosure.model_validate(data)

    @staticmethod
    def _start_clock_earlier(
        record: Record, pred: RecordPrediction, category: str, data: dict[str, Any], entry: int | None
    ) -> None:
        """Move ``data``'s ``first_entry`` to the earliest entry the model reads ``category`` in
        at or above its threshold, when that is earlier, with that window as evidence."""
        if category not in pred.first_spans:
            return
        first, start, end = pred.first_spans[category]
        if entry is not None and first >= entry:
            return
        text = record.entries[first].text[start:end]
        data["evidence"] = [Evidence(entry=first, start=start, end=end, text=text), *data["evidence"]]
        data["first_entry"] = first

    def combine(
        self,
        records: Sequence[Record],
        rule_disclosures: Sequence[Sequence[Disclosure]],
        predictions: Sequence[RecordPrediction],
        folds_into: Mapping[str, Sequence[str]] | None = None,
    ) -> list[list[Disclosure]]:
        """The ensemble: rule disclosures re-scored and filtered, plus model-only disclosures.

        With a stacker, each (record, category) gets one calibrated score; categories under
        the stacker's threshold are dropped, rule disclosures keep their evidence and trace
        (``by`` gains ``model`` when the model agrees), and a category only the model found
        becomes a disclosure whose evidence is the window that drove it. A rape report the
        rules cued as not (yet) a crime is kept under the threshold, with its low score, for
        reconcile's N100 check (:func:`crimedetect.reconcile.is_rape_report`). Without a stacker
        (bundle trained with no rules available) the result is the union of both.

        ``folds_into`` (the rules' principal-crime table, ``counting.yaml`` ``subsumed_by``)
        drops a category only the model found when the record keeps one it is part of. Scans
        no longer pass it (reconcile-9): reconcile applies the principal crime rule to a
        model-only disclosure when matching (a model-only common assault beside the rules' ABH
        answers nothing of its own), and folding first too lost crimes on unseen audits;
        ``training/stacker_cv.py`` still compares both.
        """
        if not (len(records) == len(rule_disclosures) == len(predictions)):
            raise ValueError("records, rule disclosures and predictions must have the same length")
        probs = _record_matrix(predictions)
        if self.stacker is not None:
            features = stack_features(rule_disclosures, probs, self.thresholds, self.stacker.features)
            combined = self.stacker.predict_proba(features)
            combined = combined.reshape(len(records), len(self.labels))
            cut = self.stacker_threshold
        out: list[list[Disclosure]] = []
        for r, (record, disclosures, pred) in enumerate(
            zip(records, rule_disclosures, predictions, strict=True)
        ):
            fired = rule_scores(disclosures)
            kept: list[Disclosure] = []
            for k, c in enumerate(self.labels):
                model_says = pred.probs[c] >= self.thresholds[c]
                if self.stacker is not None:
                    score = float(combined[r, k])
                    accept = score >= cut
                else:
                    score = max(fired.get(c, 0.0), pred.probs[c] if model_says else 0.0)
                    accept = c in fired or model_says
                ruled = [d for d in disclosures if str(d.category) == c]
                if not accept:
                    # A rape the rules read stays for reconcile's N100 check even when the
                    # stacker, which scores rape *crimes*, rejects it: every rape report needs a
                    # rape crime or an N100. One the rules did not cue as uncertain is cued
                    # REPORT_ONLY (a report the ensemble does not score as a crime).
                    if c != "rape" or not ruled:
                        continue
                    ruled = [d if is_rape_report(d) else _report_only(d) for d in ruled]
                if ruled:
                    for d in ruled:
                        data = d.model_dump()
                        by = list(dict.fromkeys([*data.get("by", []), "rules"]))
                        if model_says and "model" not in by:
                            by.append("model")
                        versions = dict(data.get("versions") or {})
                        versions["model"] = self.version
                        data.update(
                            score=round(score, 6),
                            by=by,
                            model_score=round(pred.probs[c], 6),
                            versions=versions,
                        )
                        if "rule_score" not in data:
                            data["rule_score"] = d.score
                        if model_says and len(ruled) == 1:
                            # the model read the offence in an entry before any the rules
                            # read it in (told in the caller's words, labelled by the officer
                            # later): the 24-hour clock starts there. Not before an entry the
                            # rules read and judged too early ('potential victim'), and for
                            # one victim only: the model does not tell victims apart.
                            start = disclosure_entry(d)
                            seen = [e.entry for e in d.evidence] + ([start] if start is not None else [])
                            self._start_clock_earlier(record, pred, c, data, min(seen) if seen else None)
                        kept.append(Disclosure.model_validate(data))
                else:
                    kept.append(self._model_disclosure(record, pred, c, score, ["model"]))
            if folds_into:
                present = {str(d.category) for d in kept if d.by != ["model"]}
                kept = [
                    d
                    for d in kept
                    if d.by != ["model"] or not present & set(folds_into.get(str(d.category), ()))
                ]
            out.append(kept)
        return out


#: The cue of a rule rape disclosure the ensemble scored under a rape crime: reconcile's
#: ``n100_cues`` name it, so it needs a rape crime or an N100 (docs/history/model.md, "Session 20").
REPORT_ONLY = "report_only"


def _report_only(disclosure: Disclosure) -> Disclosure:
    return disclosure.model_copy(update={"cues": [*(disclosure.cues or []), REPORT_ONLY]})


def _record_matrix(predictions: Sequence[RecordPrediction]) -> np.ndarray:
    return np.asarray([[p.probs[c] for c in CATEGORIES] for p in predictions], dtype=np.float32).reshape(
        -1, len(CATEGORIES)
    )


@cache
def _load_cached(uri: str, quantize: bool, tracking: str) -> ModelBundle:
    return ModelBundle(fetch_bundle_dir(uri), quantize=quantize)


def load_bundle(uri_or_path: str, *, quantize: bool = False, gate: EntryGate | None = None) -> ModelBundle:
    """A bundle from a directory or an MLflow URI, once per process (offline; lazy encoder);
    with ``gate``, a view of it whose encoder reads only the entries the gate opens."""
    from crimedetect.tracking import tracking_uri

    bundle = _load_cached(str(uri_or_path), quantize, tracking_uri())
    return bundle if gate is None else bundle.gated(gate)


def champion_uri(alias: str = CHAMPION) -> str | None:
    """``models:/crimedetect-offence-classifier@champion`` if registered in the current store."""
    from crimedetect.tracking import _sqlite_path, configure, tracking_uri

    db = _sqlite_path(tracking_uri())
    if db is not None and not db.exists():
        return None  # do not create an empty store just to ask
    import mlflow

    configure()
    try:
        mlflow.MlflowClient().get_model_version_by_alias(MODEL_NAME, alias)
    except Exception:  # no such model or alias
        return None
    return f"models:/{MODEL_NAME}@{alias}"
