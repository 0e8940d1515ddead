"""Resumable training: the state of a run at the end of each epoch, and its identity.

A training run writes ``<output_dir>.checkpoint/state.pt`` after every completed epoch: the
weights, the optimiser and scheduler, every random generator the loop draws from, the history
and the best epoch so far. ``crimedetect train --resume`` continues from it and ends with the
same bundle as a run that was never interrupted. The checkpoint carries a key over everything
the run depends on (the config and the bytes of its data and base model), so a changed config
or data file is refused instead of silently mixed into an old run. It is removed once the run
has finished and its bundle is saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from crimedetect.model.config import TrainConfig
from crimedetect.tracking import file_digest

STATE_FILE = "state.pt"

#: Config fields that may differ between an interrupted run and its resumption: they change
#: how fast or where it runs, not what it learns.
RUNTIME_FIELDS = frozenset({"torch_threads", "device", "max_train_minutes"})


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed (written by another config or data, or unreadable)."""


def checkpoint_dir(output_dir: str | Path) -> Path:
    """Where a run writing its bundle to ``output_dir`` keeps its checkpoint (beside it, so the
    bundle logged to MLflow never contains it)."""
    out = Path(output_dir)
    return out.with_name(out.name + ".checkpoint")


def run_key(cfg: TrainConfig, base_sha256: str | None) -> str:
    """sha256 over the config (runtime fields aside), each data file's bytes and the base model."""
    config = cfg.model_dump(mode="json", exclude=set(RUNTIME_FIELDS))
    files = {}
    for split in ("train", "validation", "test"):
        for i, source in enumerate(getattr(cfg.data, split)):
            files[f"{split}{i}.records"] = file_digest(source.records)["sha256"]
            files[f"{split}{i}.audits"] = file_digest(source.audits)["sha256"]
    payload = {"config": config, "files": files, "base_sha256": base_sha256}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def rng_state() -> dict[str, Any]:
    """The global random generators' states (Python, NumPy, torch CPU and, when present, CUDA)."""
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(directory: Path, key: str, state: dict[str, Any]) -> Path:
    """Write the state atomically (a crash while writing leaves the previous epoch's file)."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    partial = path.with_suffix(".partial")
    torch.save({"key": key, **state}, partial)
    os.replace(partial, path)
    return path


def load(directory: Path, key: str) -> dict[str, Any] | None:
    """The saved state, or None when there is none; CheckpointError when it belongs to another run."""
    import torch

    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        # Not weights_only: the state holds Python's and NumPy's generator states. The file is
        # one this project wrote beside the output directory, never a downloaded one.
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file: say which, do not guess
        raise CheckpointError(f"{path}: cannot read the training checkpoint: {exc}") from exc
    if state.get("key") != key:
        raise CheckpointError(
            f"{path}: the checkpoint was written by a run with another config, data or base model; "
            f"remove {directory} to start again, or resume with the config and data it was written with"
        )
    return state


def remove(directory: Path) -> None:
    """Delete a finished run's checkpoint."""
    shutil.rmtree(directory, ignore_errors=True)
