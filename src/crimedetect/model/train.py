"""Fine-tune the offence classifier, choose thresholds, fit the stacker, log and register it.

One call, :func:`train`, does a whole run from a :class:`TrainConfig`:

1. read records and audits (contract reader, rejected lines counted), split validation;
2. label entries from audit evidence (:mod:`crimedetect.model.data`), optionally add rule
   weak labels;
3. fine-tune ``AutoModelForSequenceClassification`` (multi-label) with a masked,
   ``pos_weight``-ed BCE loss; keep the epoch with the best validation average precision;
4. choose per-category thresholds on validation records for the target recall, and fit the
   rule/model stacker on the same records (later, :func:`fit_stacker_on_audits` fits it again
   on audited records the rules were not written on: ``crimedetect models refit-stacker``);
5. save the bundle, log params (allow-listed), data hashes, git commit, per-epoch metrics,
   PR curves and the bundle to MLflow, and register it as ``crimedetect-offence-classifier``.

A plain PyTorch loop is used instead of ``Trainer``: the loss needs a per-cell mask, and the
run logs only allow-listed values (``Trainer``'s MLflow callback logs every argument).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import platform
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from crimedetect.contract import CATEGORIES, Disclosure
from crimedetect.model import metrics as M
from crimedetect.model.bundle import BUNDLE_FILE, BUNDLE_FORMAT
from crimedetect.model.config import PARAM_ALLOW_LIST, DataSource, StackerConfig, TrainConfig
from crimedetect.model.data import LabelledRecord, entry_examples, load_labelled, record_labels
from crimedetect.model.ensemble import FEATURES, Stacker, stack_features

log = logging.getLogger(__name__)


#: What a logged model needs to be served (explicit: inferring them costs seconds).
def pip_requirements() -> list[str]:
    """Pinned requirements of the logged pyfunc, from the running environment."""
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for dist in (
        "crimedetect",
        "torch",
        "transformers",
        "mlflow",
        "scikit-learn",
        "numpy",
        "pandas",
        "pydantic",
    ):
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            reqs.append(dist)
    return reqs


@dataclass
class TrainResult:
    """What a run produced: where the bundle is, its MLflow ids and its metrics."""

    output_dir: Path
    run_id: str | None
    model_version: str | None
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    resumed_after_epoch: int | None = None  # the checkpoint's epoch when ``resume`` found one


def _seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _read_sources(sources: Sequence[DataSource], rejected: Path | None) -> tuple[list[LabelledRecord], dict]:
    items: list[LabelledRecord] = []
    totals: dict[str, int] = {}
    for source in sources:
        labelled, counts = load_labelled(source.records, source.audits, rejected)
        if source.max_records:
            labelled = labelled[: source.max_records]
        items.extend(labelled)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return items, totals


def split_validation(items: list[LabelledRecord], fraction: float, seed: int) -> tuple[list, list]:
    """A seeded record-level split; validation gets a share of each record's first category."""
    rng = random.Random(seed)
    groups: dict[str, list[LabelledRecord]] = {}
    for item in items:
        key = min(item.categories) if item.categories else "none"
        groups.setdefault(key, []).append(item)
    train, val = [], []
    for key in sorted(groups):
        group = groups[key][:]
        rng.shuffle(group)
        n_val = int(round(len(group) * fraction))
        if len(group) >= 2:
            n_val = max(n_val, 1)
        val.extend(group[:n_val])
        train.extend(group[n_val:])
    return train, val


def rule_detector(config_path: str | None = None) -> Any | None:
    """The rules detector, or None when the rules stage is not installed."""
    try:
        from crimedetect.rules import RuleDetector
    except ImportError:
        return None
    return RuleDetector(config_path)


class _Windowed:
    """Tokenised training windows with labels and masks (built through ``datasets``)."""

    def __init__(self, tokenizer: Any, examples: Sequence[Any], max_length: int, stride: int) -> None:
        from datasets import Dataset

        data = Dataset.from_dict(
            {
                "text": [e.text for e in examples],
                "labels": [e.labels for e in examples],
                "mask": [e.mask for e in examples],
            }
        )

        def tokenize(batch: dict[str, list]) -> dict[str, list]:
            enc = tokenizer(
                batch["text"],
                truncation=True,
                max_length=max_length,
                stride=stride,
                return_overflowing_tokens=True,
            )
            origin = enc["overflow_to_sample_mapping"]
            return {
                "input_ids": enc["input_ids"],
                "labels": [batch["labels"][i] for i in origin],
                "mask": [batch["mask"][i] for i in origin],
            }

        windows = data.map(tokenize, batched=True, remove_columns=data.column_names)
        self.input_ids: list[list[int]] = windows["input_ids"]
        self.labels = np.asarray(windows["labels"], dtype=np.float32).reshape(-1, len(CATEGORIES))
        self.mask = np.asarray(windows["mask"], dtype=np.float32).reshape(-1, len(CATEGORIES))

    def __len__(self) -> int:
        return len(self.input_ids)


def pos_weights(labels: np.ndarray, mask: np.ndarray, cap: float) -> np.ndarray:
    """negatives / positives per category over unmasked cells, clipped to [1, cap]."""
    pos = ((labels > 0) & (mask > 0)).sum(axis=0)
    neg = ((labels == 0) & (mask > 0)).sum(axis=0)
    weights = np.where(pos > 0, neg / np.maximum(pos, 1), 1.0)
    return np.clip(weights, 1.0, cap).astype(np.float32)


def masked_loss(logits: Any, labels: Any, mask: Any, pos_weight: Any) -> Any:
    """BCE with logits, weighted by ``pos_weight`` for positives, averaged over the mask."""
    import torch

    per_cell = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, labels, pos_weight=pos_weight, reduction="none"
    )
    return (per_cell * mask).sum() / mask.sum().clamp(min=1.0)


def record_probs(model: Any, tokenizer: Any, items: Sequence[LabelledRecord], cfg: TrainConfig) -> np.ndarray:
    """Record-level probabilities (max over entry windows) for labelled records."""
    from crimedetect.model.encoder import text_probs

    texts = [e.text for it in items for e in it.record.entries]
    owner = [r for r, it in enumerate(items) for _ in it.record.entries]
    probs, _, _ = text_probs(model, tokenizer, texts, cfg.max_length, cfg.stride, cfg.eval_batch_size)
    out = np.zeros((len(items), len(CATEGORIES)), dtype=np.float32)
    for row, r in enumerate(owner):
        out[r] = np.maximum(out[r], probs[row])
    return out


def freeze_lower_layers(model: Any, n_layers: int) -> int:
    """Freeze the embeddings and the first ``n_layers`` encoder layers (cheaper backward pass
    on CPU); returns how many layers were frozen. 0 leaves everything trainable."""
    if n_layers <= 0:
        return 0
    base = model.base_model
    embeddings = getattr(base, "embeddings", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if embeddings is None or layers is None:
        raise ValueError(f"freeze_layers is not supported for {type(base).__name__}; set it to 0")
    for parameter in embeddings.parameters():
        parameter.requires_grad = False
    frozen = min(n_layers, len(layers) - 1)
    for layer in list(layers)[:frozen]:
        for parameter in layer.parameters():
            parameter.requires_grad = False
    return frozen


def fit_loop(
    model: Any,
    tokenizer: Any,
    windows: _Windowed,
    cfg: TrainConfig,
    evaluate: Callable[[int], dict[str, float]] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = False,
    resume_from: dict[str, Any] | None = None,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, float]]:
    """Fine-tune ``model`` in place; returns one metrics dict per epoch (best epoch restored).

    ``on_checkpoint`` receives the loop's whole state after each completed epoch;
    ``resume_from`` (such a state) continues after its epoch exactly as if never stopped.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    from crimedetect.cli.common import track
    from crimedetect.model import checkpoint
    from crimedetect.model.encoder import pad_batch, pick_device

    device = pick_device(cfg.device)
    model.to(device)
    generator = random.Random(cfg.seed)
    n = len(windows)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total_steps = steps_per_epoch * cfg.epochs
    freeze_lower_layers(model, cfg.freeze_layers)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    # The classification head (and the pooler, never trained in a sentence-embedding model)
    # starts from scratch: it gets its own, higher learning rate.
    head_prefixes = ("classifier", "pooler", f"{model.base_model_prefix}.pooler")
    groups = []
    for is_head in (False, True):
        lr = (cfg.head_learning_rate or cfg.learning_rate) if is_head else cfg.learning_rate
        for decay in (True, False):
            params = [
                p
                for name, p in trainable
                if name.startswith(head_prefixes) == is_head and any(k in name for k in no_decay) != decay
            ]
            if params:
                groups.append(
                    {"params": params, "lr": lr, "weight_decay": cfg.weight_decay if decay else 0.0}
                )
    optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)
    weight = torch.tensor(pos_weights(windows.labels, windows.mask, cfg.pos_weight_max)).to(device)
    pad_id = tokenizer.pad_token_id or 0
    deadline = time.monotonic() + cfg.max_train_minutes * 60 if cfg.max_train_minutes else None
    history: list[dict[str, float]] = []
    best_key, best_state = -math.inf, None
    first_epoch = 1
    if resume_from is not None:
        model.load_state_dict(resume_from["model"])
        optimizer.load_state_dict(resume_from["optimizer"])
        scheduler.load_state_dict(resume_from["scheduler"])
        generator.setstate(resume_from["shuffle"])
        checkpoint.set_rng_state(resume_from["rng"])
        history = list(resume_from["history"])
        best_key, best_state = resume_from["best_key"], resume_from["best_state"]
        first_epoch = resume_from["epoch"] + 1
        log.info("resuming after epoch %d of %d", resume_from["epoch"], cfg.epochs)
    for epoch in range(first_epoch, cfg.epochs + 1):
        model.train()
        order = list(range(n))
        generator.shuffle(order)
        batches = [order[i : i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]
        started, seen, total_loss = time.monotonic(), 0, 0.0
        stopped = False
        for batch in track(batches, f"epoch {epoch}/{cfg.epochs}", total=len(batches), enabled=progress):
            ids, attention = pad_batch([windows.input_ids[i] for i in batch], pad_id)
            labels = torch.from_numpy(windows.labels[batch]).to(device)
            mask = torch.from_numpy(windows.mask[batch]).to(device)
            logits = model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits
            loss = masked_loss(logits, labels, mask, weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += loss.item() * len(batch)
            seen += len(batch)
            if deadline is not None and time.monotonic() > deadline:
                stopped = True
                break
        elapsed = max(time.monotonic() - started, 1e-9)
        row = {
            "epoch": float(epoch),
            "train_loss": total_loss / max(seen, 1),
            "train_examples_per_s": seen / elapsed,
        }
        if evaluate is not None:
            row.update(evaluate(epoch))
        history.append(row)
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in row.items()})
        if on_epoch is not None:
            on_epoch(epoch, row)
        key = row.get("val_micro_ap", -row["train_loss"])
        if key >= best_key:
            best_key = key
            best_state = copy.deepcopy(model.state_dict()) if epoch < cfg.epochs or stopped else None
        if stopped:
            log.warning("max_train_minutes reached during epoch %d; stopping", epoch)
            break
        if on_checkpoint is not None and epoch < cfg.epochs:
            on_checkpoint(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "shuffle": generator.getstate(),
                    "rng": checkpoint.rng_state(),
                    "history": history,
                    "best_key": best_key,
                    "best_state": best_state,
                }
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _system_metrics(prefix: str, truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    m = M.prf(truth, pred)
    return {f"{prefix}_{k}": float(v) for k, v in m.items()}


def train(
    cfg: TrainConfig,
    *,
    progress: bool = False,
    rejected: str | Path | None = None,
    log_to_mlflow: bool = True,
    resume: bool = False,
) -> TrainResult:
    """Run one training run (see the module docstring); returns where everything went.

    Each completed epoch is checkpointed beside ``cfg.output_dir``; with ``resume`` a run
    continues from its checkpoint (CheckpointError when it belongs to another config or data).
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from crimedetect.model import checkpoint
    from crimedetect.model.base import resolve_base

    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    _seed_all(cfg.seed)
    rejected_path = Path(rejected) if rejected else None
    train_items, counts = _read_sources(cfg.data.train, rejected_path)
    if cfg.data.validation:
        val_items, val_counts = _read_sources(cfg.data.validation, rejected_path)
        counts.update({f"val_{k}": v for k, v in val_counts.items()})
    else:
        train_items, val_items = split_validation(train_items, cfg.data.val_fraction, cfg.seed)
    test_items, test_counts = _read_sources(cfg.data.test, rejected_path) if cfg.data.test else ([], {})
    counts.update({f"test_{k}": v for k, v in test_counts.items()})
    if not train_items or not val_items:
        raise ValueError("training needs audited records for both training and validation")

    rules = rule_detector(cfg.data.weak_labels.rules_config)
    if rules is not None:
        # Built and read now: a broken rules file fails before training, and rule files edited
        # while it trains do not change the rules its validation records are scored with.
        log.info("rules %s", rules.build().version)
    weak: list[list[Disclosure]] | None = None
    if cfg.data.weak_labels.enabled:
        if rules is None:
            raise ValueError("data.weak_labels.enabled needs crimedetect.rules, which is not installed")
        weak = rules.detect([it.record for it in train_items])
    examples = entry_examples(train_items, weak, cfg.data.weak_labels.weight)

    base = resolve_base(cfg.base_model, cfg.base_sha256)
    checkpoint_dir = checkpoint.checkpoint_dir(cfg.output_dir)
    key = checkpoint.run_key(cfg, base.sha256)
    resume_from = checkpoint.load(checkpoint_dir, key) if resume else None
    if resume and resume_from is None:
        log.info("no checkpoint in %s: training from the start", checkpoint_dir)
    tokenizer = AutoTokenizer.from_pretrained(base.path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base.path,
        num_labels=len(CATEGORIES),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(CATEGORIES)),
        label2id={c: i for i, c in enumerate(CATEGORIES)},
        local_files_only=True,
        ignore_mismatched_sizes=True,
    )
    windows = _Windowed(tokenizer, examples, cfg.max_length, cfg.stride)
    counts.update(
        train_records=len(train_items),
        val_records=len(val_items),
        test_records=len(test_items),
        train_examples=len(examples),
        train_windows=len(windows),
    )
    val_truth = np.asarray(record_labels(val_items), dtype=int).reshape(-1, len(CATEGORIES))

    run = None
    if log_to_mlflow:
        run = _start_run(cfg, base, counts, resume_run_id=(resume_from or {}).get("run_id"))

    def evaluate(epoch: int) -> dict[str, float]:
        probs = record_probs(model, tokenizer, val_items, cfg)
        eps = 1e-6
        bce = -(val_truth * np.log(probs + eps) + (1 - val_truth) * np.log(1 - probs + eps)).mean()
        pred = (probs >= 0.5).astype(int)
        return {
            "val_loss": float(bce),
            "val_micro_ap": M.average_precision(val_truth, probs),
            "val_micro_f1_at_0_5": M.prf(val_truth, pred)["f1"],
        }

    def on_epoch(epoch: int, row: dict[str, float]) -> None:
        if run is not None:
            import mlflow

            mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)

    def on_checkpoint(state: dict[str, Any]) -> None:
        state["run_id"] = run.info.run_id if run is not None else None
        checkpoint.save(checkpoint_dir, key, state)

    try:
        history = fit_loop(
            model, tokenizer, windows, cfg, evaluate, on_epoch, progress, resume_from, on_checkpoint
        )
        val_probs = record_probs(model, tokenizer, val_items, cfg)
        thresholds, how = M.choose_thresholds(val_probs, val_truth, cfg.target_recall, cfg.min_val_positives)
        metrics: dict[str, float] = {}
        metrics.update(_system_metrics("val_model", val_truth, M.apply_thresholds(val_probs, thresholds)))

        stacker = None
        val_rules: list[list[Disclosure]] | None = None
        if rules is not None:
            val_rules = rules.detect([it.record for it in val_items])
            metrics.update(_system_metrics("val_rules", val_truth, _rule_matrix(val_rules)))
        if cfg.stacker.enabled and val_rules is not None:
            stacker = fit_stacker(val_rules, val_probs, val_truth, thresholds, cfg)
        if stacker is not None:
            assert val_rules is not None
            pred = (
                stacker.predict_proba(stack_features(val_rules, val_probs, thresholds, stacker.features))
                >= stacker.threshold_
            )
            metrics.update(_system_metrics("val_ensemble", val_truth, pred.reshape(val_truth.shape)))

        out_dir = Path(cfg.output_dir)
        version_label = f"{cfg.run_name}@{run.info.run_id[:8]}" if run is not None else cfg.run_name
        save_bundle(
            out_dir,
            model,
            tokenizer,
            cfg,
            thresholds=thresholds,
            how=how,
            stacker=stacker,
            base=base,
            version=version_label,
            rules_version=getattr(rules, "version", None),
            metrics=metrics,
        )
        if test_items:
            metrics.update(_test_metrics(out_dir, test_items, rules))
        model_version = None
        if run is not None:
            model_version = _finish_run(out_dir, metrics, val_truth, val_probs, cfg.register_model)
        result = TrainResult(
            output_dir=out_dir,
            run_id=run.info.run_id if run is not None else None,
            model_version=model_version,
            metrics=metrics,
            history=history,
            counts=counts,
            resumed_after_epoch=resume_from["epoch"] if resume_from is not None else None,
        )
    except BaseException:
        if run is not None:
            import mlflow

            mlflow.end_run(status="FAILED")
        raise
    if run is not None:
        import mlflow

        mlflow.end_run()
    checkpoint.remove(checkpoint_dir)
    return result


def _new_stacker(settings: StackerConfig, seed: int) -> Stacker:
    """An unfitted stacker with the given settings (its features default to :data:`FEATURES`)."""
    return Stacker(
        C=settings.C,
        random_state=seed,
        features=settings.features or FEATURES,
        class_weight=settings.class_weight,
    )


def fit_stacker(
    val_rules: Sequence[Sequence[Disclosure]],
    val_probs: np.ndarray,
    val_truth: np.ndarray,
    thresholds: dict[str, float],
    cfg: TrainConfig,
) -> Stacker | None:
    """The rule/model stacker fitted on validation records (None if it cannot be fitted)."""
    stacker = _new_stacker(cfg.stacker, cfg.seed)
    X = stack_features(val_rules, val_probs, thresholds, stacker.features)
    try:
        return stacker.fit(X, val_truth.ravel())
    except ValueError as exc:
        log.warning("stacker not fitted: %s", exc)
        return None


#: The fewest positive, and negative, (record, category) cells a stacker is fitted on: its
#: decision threshold is chosen out of fold, which needs two folds of each.
MIN_STACKER_CELLS = 2


class StackerFitError(ValueError):
    """Audited records a stacker cannot be fitted on (too few positive or negative cells)."""


@dataclass
class StackerFit:
    """A bundle's newly fitted stacker and the in-sample scores of each system on its records.

    ``metrics``: ``rules`` / ``model`` / ``ensemble`` -> precision, recall, f1, tp, fp, fn at
    (record, category) on the very records the stacker was fitted on (optimistic for the
    ensemble); ``counts``: lines read and rejected, records labelled.
    """

    stacker: Stacker
    bundle_dir: Path
    metrics: dict[str, dict[str, float]]
    counts: dict[str, int] = field(default_factory=dict)


def _bundle_meta(bundle_dir: Path) -> dict[str, Any]:
    """``bundle.json`` of a bundle directory that holds a model, else :class:`BundleError`."""
    from crimedetect.model.bundle import BundleError

    meta_file = bundle_dir / BUNDLE_FILE
    if not meta_file.is_file():
        raise BundleError(f"{bundle_dir} is not a crimedetect model bundle (no {BUNDLE_FILE})")
    if not (bundle_dir / "model" / "config.json").is_file():
        raise BundleError(f"{bundle_dir} holds no model (no model/config.json): nothing to stack")
    try:
        return json.loads(meta_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{meta_file}: cannot read bundle metadata: {exc}") from exc


def bundle_stacker_settings(meta: dict[str, Any]) -> StackerConfig:
    """C, features and class_weight of a bundle's stacker; the defaults when it has none (or
    one whose features this version does not know)."""
    from pydantic import ValidationError

    old = meta.get("stacker")
    if not old:
        return StackerConfig()
    try:
        return StackerConfig(
            C=float(old.get("C", 1.0)),
            features=old.get("features") or None,
            class_weight=old.get("class_weight"),
        )
    except (ValidationError, TypeError, ValueError) as exc:
        log.warning("the bundle's stacker settings are not usable (%s); using the defaults", exc)
        return StackerConfig()


def _check_fit_cells(truth: np.ndarray) -> None:
    positives = int(truth.sum())
    negatives = int(truth.size - positives)
    if min(positives, negatives) < MIN_STACKER_CELLS:
        raise StackerFitError(
            f"{truth.shape[0]} audited records give {positives} positive and {negatives} negative "
            f"(record, category) cells; fitting the stacker needs at least {MIN_STACKER_CELLS} of each"
        )


def _write_meta(bundle_dir: Path, meta: dict[str, Any]) -> None:
    (bundle_dir / BUNDLE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def fit_bundle_stacker(
    bundle_dir: str | Path,
    items: Sequence[LabelledRecord],
    rules: Any,
    *,
    settings: StackerConfig | None = None,
    seed: int = 13,
    provenance: dict[str, Any] | None = None,
) -> StackerFit:
    """Fit the stacker of the bundle in ``bundle_dir`` on audited records and rewrite its
    ``bundle.json`` (``stacker``, ``rules_version``, ``stacker_fit``: where the records came
    from, how many, when; ``version`` gains ``+stacker-<digest>``, :func:`restacked_version`).
    The encoder and thresholds stay as they are.

    ``rules``: a :class:`~crimedetect.rules.RuleDetector`; ``settings``: the stacker's C,
    features and class_weight (None: those of the bundle's current stacker, else the defaults).
    Raises :class:`StackerFitError` when the records give too few positives or negatives.
    """
    from crimedetect.model.bundle import BundleError, ModelBundle

    bundle_dir = Path(bundle_dir)
    meta = _bundle_meta(bundle_dir)
    truth = np.asarray(record_labels(items), dtype=int).reshape(-1, len(CATEGORIES))
    _check_fit_cells(truth)
    stacker = _new_stacker(settings or bundle_stacker_settings(meta), seed)
    try:
        bundle = ModelBundle(bundle_dir)
    except BundleError:
        if not meta.get("stacker"):
            raise
        # an unreadable stacker (features of another version): it is being replaced anyway
        meta["stacker"] = None
        _write_meta(bundle_dir, meta)
        bundle = ModelBundle(bundle_dir)
    records = [it.record for it in items]
    found = rules.detect(records)
    probs = bundle.predict_array(records)
    X = stack_features(found, probs, bundle.thresholds, stacker.features)
    stacker.fit(X, truth.ravel())
    metrics = {
        "rules": M.prf(truth, _rule_matrix(found)),
        "model": M.prf(truth, M.apply_thresholds(probs, bundle.thresholds)),
        "ensemble": M.prf(truth, stacker.predict(X).reshape(truth.shape)),
    }
    meta["stacker"] = stacker.to_dict()
    # Another stacker scores differently: its flags must not pass for the old bundle's.
    meta["version"] = restacked_version(str(meta.get("version", "local")), meta["stacker"])
    meta["rules_version"] = rules.version
    meta["stacker_fit"] = {
        **(provenance or {}),
        "records": len(items),
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_meta(bundle_dir, meta)
    log.info("stacker of %s fitted on %d audited records", bundle_dir, len(items))
    return StackerFit(stacker=stacker, bundle_dir=bundle_dir, metrics=metrics)


def fit_stacker_on_audits(
    bundle_dir: str | Path,
    records: str | Path,
    audits: str | Path,
    *,
    rules_config: str | None = None,
    out_dir: str | Path | None = None,
    rejected: str | Path | None = None,
) -> StackerFit:
    """Fit a bundle's stacker on audited records from files (contract reader; rejected lines
    counted and, with ``rejected``, written there), e.g. audits nobody wrote rules against.

    The bundle's stacker settings are kept (defaults when it has none). With ``out_dir`` the
    bundle is copied there first and only the copy changes; else it changes in place.
    """
    import shutil

    from crimedetect.model.data import load_labelled
    from crimedetect.tracking import file_digest

    bundle_dir = Path(bundle_dir)
    for path in (records, audits):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} does not exist")
    _bundle_meta(bundle_dir)
    items, counts = load_labelled(records, audits, rejected)
    _check_fit_cells(np.asarray(record_labels(items), dtype=int).reshape(-1, len(CATEGORIES)))
    rules = rule_detector(rules_config)
    if rules is None:
        raise ValueError("fitting the stacker needs crimedetect.rules, which is not installed")
    provenance = {
        "records_sha256": file_digest(records)["sha256"],
        "audits_sha256": file_digest(audits)["sha256"],
    }
    target = bundle_dir
    if out_dir is not None and Path(out_dir).resolve() != bundle_dir.resolve():
        target = Path(out_dir)
        if target.exists() and any(target.iterdir()):
            raise FileExistsError(f"{target} exists and is not empty")
        shutil.copytree(bundle_dir, target, dirs_exist_ok=True)
    try:
        fit = fit_bundle_stacker(target, items, rules, provenance=provenance)
    except BaseException:
        if target != bundle_dir:
            shutil.rmtree(target, ignore_errors=True)
        raise
    fit.counts = counts
    return fit


def restacked_version(version: str, stacker: dict[str, Any]) -> str:
    """A bundle's version once its stacker is refitted on audits: ``<encoder's
    version>+stacker-<8 hex of the stacker's numbers>`` (a later refit replaces the suffix)."""
    digest = hashlib.sha256(json.dumps(stacker, sort_keys=True).encode()).hexdigest()[:8]
    return f"{version.split('+stacker-')[0]}+stacker-{digest}"


def refit_stacker(bundle_dir: str | Path, cfg: TrainConfig) -> Stacker | None:
    """Fit a bundle's stacker again on the validation records of the config that trained it
    (same seeded split, the config's stacker settings), e.g. after the rules changed; rewrites
    ``bundle.json``. None (and no stacker in the bundle) when it cannot be fitted."""
    items, _ = _read_sources(cfg.data.train, None)
    if cfg.data.validation:
        val_items, _ = _read_sources(cfg.data.validation, None)
    else:
        _, val_items = split_validation(items, cfg.data.val_fraction, cfg.seed)
    rules = rule_detector(cfg.data.weak_labels.rules_config)
    if rules is None:
        raise ValueError("refitting the stacker needs crimedetect.rules")
    provenance = {"source": "validation records of the training config"}
    try:
        fit = fit_bundle_stacker(
            bundle_dir, val_items, rules, settings=cfg.stacker, seed=cfg.seed, provenance=provenance
        )
    except StackerFitError as exc:
        log.warning("stacker not fitted: %s", exc)
        meta = _bundle_meta(Path(bundle_dir))
        meta.update(stacker=None, rules_version=rules.version)
        meta.pop("stacker_fit", None)
        _write_meta(Path(bundle_dir), meta)
        return None
    return fit.stacker


def _rule_matrix(disclosures: Sequence[Sequence[Disclosure]]) -> np.ndarray:
    rows = [[1 if any(str(d.category) == c for d in ds) else 0 for c in CATEGORIES] for ds in disclosures]
    return np.asarray(rows, dtype=int).reshape(-1, len(CATEGORIES))


def _test_metrics(out_dir: Path, items: Sequence[LabelledRecord], rules: Any | None) -> dict[str, float]:
    from crimedetect.model.bundle import ModelBundle

    bundle = ModelBundle(out_dir)
    records = [it.record for it in items]
    truth = np.asarray(record_labels(items), dtype=int).reshape(-1, len(CATEGORIES))
    predictions = bundle.predict(records)
    probs = np.asarray([[p.probs[c] for c in CATEGORIES] for p in predictions]).reshape(truth.shape)
    metrics = _system_metrics("test_model", truth, M.apply_thresholds(probs, bundle.thresholds))
    if rules is not None:
        found = rules.detect(records)
        metrics.update(_system_metrics("test_rules", truth, _rule_matrix(found)))
        metrics.update(
            _system_metrics(
                "test_ensemble",
                truth,
                _rule_matrix(bundle.combine(records, found, predictions)),
            )
        )
    return metrics


def save_bundle(
    out_dir: Path,
    model: Any,
    tokenizer: Any,
    cfg: TrainConfig,
    *,
    thresholds: dict[str, float],
    how: dict[str, str],
    stacker: Stacker | None,
    base: Any,
    version: str,
    rules_version: str | None,
    metrics: dict[str, float],
) -> Path:
    """Write ``model/`` (encoder + tokenizer) and ``bundle.json`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir / "model")
    tokenizer.save_pretrained(out_dir / "model")
    meta = {
        "format": BUNDLE_FORMAT,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "labels": list(CATEGORIES),
        "thresholds": {c: float(thresholds[c]) for c in CATEGORIES},
        "threshold_source": how,
        "target_recall": cfg.target_recall,
        "max_length": cfg.max_length,
        "stride": cfg.stride,
        "batch_size": cfg.eval_batch_size,
        "base_model": {"name": base.name, "sha256": base.sha256},
        "rules_version": rules_version,
        "stacker": stacker.to_dict() if stacker is not None else None,
        "val_metrics": {k: round(v, 6) for k, v in metrics.items()},
    }
    (out_dir / BUNDLE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _start_run(cfg: TrainConfig, base: Any, counts: dict[str, int], resume_run_id: str | None = None) -> Any:
    import mlflow

    from crimedetect.tracking import allowed_params, data_tags, ensure_experiment, git_commit

    ensure_experiment(cfg.experiment)
    if resume_run_id is not None:
        # The interrupted run goes on (its params and earlier epochs' metrics are logged);
        # when another tracking store no longer has it, a new run says where it came from.
        from mlflow.exceptions import MlflowException

        try:
            run = mlflow.start_run(run_id=resume_run_id)
        except MlflowException:
            log.warning("MLflow run %s not found: logging the resumed run as a new one", resume_run_id)
        else:
            mlflow.set_tag("resumed", "true")
            return run
    run = mlflow.start_run(run_name=cfg.run_name)
    if resume_run_id is not None:
        mlflow.set_tag("resumed_from", resume_run_id)
    mlflow.log_params(allowed_params(cfg.model_dump(), PARAM_ALLOW_LIST))
    mlflow.log_params({f"data.{k}": v for k, v in counts.items()})
    files: dict[str, str] = {}
    for split in ("train", "validation", "test"):
        for i, source in enumerate(getattr(cfg.data, split)):
            files[f"{split}{i}.records"] = source.records
            files[f"{split}{i}.audits"] = source.audits
    tags = data_tags(files)
    tags.update(
        {
            "git_commit": git_commit(),
            "base_model.name": str(base.name)
            if not Path(str(base.name)).is_absolute()
            else Path(base.name).name,
            "base_model.sha256": base.sha256 or "unpinned",
            "python": platform.python_version(),
        }
    )
    mlflow.set_tags(tags)
    return run


def _finish_run(
    out_dir: Path,
    metrics: dict[str, float],
    val_truth: np.ndarray,
    val_probs: np.ndarray,
    register: bool,
) -> str | None:
    import mlflow

    from crimedetect.model import pyfunc
    from crimedetect.tracking import MODEL_NAME

    mlflow.log_metrics(metrics)
    with tempfile.TemporaryDirectory() as tmp:
        images = M.pr_curve_images(val_truth, val_probs, Path(tmp) / "pr_curves", prefix="val_")
        for image in images:
            mlflow.log_artifact(str(image), artifact_path="pr_curves")
    mlflow.log_dict(json.loads((out_dir / BUNDLE_FILE).read_text(encoding="utf-8")), "bundle.json")
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=pyfunc.__file__,  # models from code: no pickled objects
        artifacts={"bundle": str(out_dir)},
        pip_requirements=pip_requirements(),
    )
    if not register:
        return None
    version = mlflow.register_model(info.model_uri, MODEL_NAME)
    return str(version.version)
