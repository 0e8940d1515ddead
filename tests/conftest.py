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


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide randomly initialised BERT with the pinned package's tokenizer.

    Built once per test session (seconds on CPU); unit tests fine-tune it instead of the
    pretrained MiniLM.
    """
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from crimedetect.contract import CATEGORIES
    from crimedetect.model.base import resolve_base

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_base().path, local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=len(CATEGORIES),
        problem_type="multi_label_classification",
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
