"""Shared fixtures: the dev set (skipped when ../shared is absent) and small contract files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV_DIR = Path(os.environ.get("CRIMEDETECT_DEV_DIR", ROOT.parent / "shared" / "data" / "dev"))

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def dev_dir() -> Path:
    """The hand-written labelled dev set; tests using it skip on a clone without ../shared."""
    if not (DEV_DIR / "records.jsonl").exists():
        pytest.skip(f"dev set not found at {DEV_DIR}")
    return DEV_DIR


@pytest.fixture
def record_dict() -> dict:
    return {
        "record_id": "INC-1",
        "kind": "incident",
        "opened_at": "2017-01-04T21:13:00Z",
        "entries": [
            {"at": "2017-01-04T21:13:00Z", "author": "call handler", "text": "RP states he slapped her."},
            {"at": "2017-01-04T22:40:00+01:00", "author": "PC 2231", "text": "Attended. IP has red mark."},
        ],
    }
