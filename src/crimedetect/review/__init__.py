"""Supervisor review: a web app where flags are reviewed with their evidence highlighted,
decisions are recorded with a rationale in an append-only audit trail, and exported as
contract audits for the next round of training.

``create_app(ReviewConfig(db_url=...))`` builds the FastAPI app; ``ReviewStore`` loads scan
output and answers the queue; ``export_audits`` writes decisions as ``audits.jsonl``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crimedetect.review.app import ReviewConfig, create_app
    from crimedetect.review.export import export_audits
    from crimedetect.review.store import ReviewStore

__all__ = ["ReviewConfig", "ReviewStore", "create_app", "export_audits"]

_LAZY = {
    "ReviewConfig": "crimedetect.review.app",
    "create_app": "crimedetect.review.app",
    "export_audits": "crimedetect.review.export",
    "ReviewStore": "crimedetect.review.store",
}


def __getattr__(name: str) -> Any:
    """Import the web stack only when used (the CLI imports this package at start-up)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
