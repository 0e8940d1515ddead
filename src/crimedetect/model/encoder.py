"""Entries in, per-category probabilities out: windowing, batching and the encoder call.

An entry longer than the encoder's window is cut into overlapping windows (``stride`` tokens
of overlap); the entry's probability for a category is the maximum over its windows and the
window that gave it is kept, so a prediction can point at the words that drove it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Windows:
    """Tokenised windows of a list of texts."""

    input_ids: list[list[int]]
    text_index: list[int]  # which text each window comes from
    char_span: list[tuple[int, int]]  # characters of the text the window covers


def make_windows(tokenizer: Any, texts: Sequence[str], max_length: int, stride: int) -> Windows:
    """Tokenise ``texts`` into windows of at most ``max_length`` tokens."""
    if not texts:
        return Windows([], [], [])
    encoded = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    spans: list[tuple[int, int]] = []
    for offsets in encoded["offset_mapping"]:
        real = [(s, e) for s, e in offsets if e > s]
        spans.append((real[0][0], real[-1][1]) if real else (0, 0))
    return Windows(
        input_ids=[list(ids) for ids in encoded["input_ids"]],
        text_index=list(encoded["overflow_to_sample_mapping"]),
        char_span=spans,
    )


def pick_device(wanted: str = "auto") -> str:
    """``cuda`` when asked for or (``auto``) when torch sees a GPU, else ``cpu``."""
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Right-pad token id rows; returns (input_ids, attention_mask) tensors."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def window_probs(model: Any, windows: Windows, pad_id: int, batch_size: int = 32) -> np.ndarray:
    """Sigmoid probabilities per window, batched by similar length (less padding)."""
    import torch

    n = len(windows.input_ids)
    out = np.zeros((n, model.config.num_labels), dtype=np.float32)
    if n == 0:
        return out
    order = sorted(range(n), key=lambda i: len(windows.input_ids[i]))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            chunk = order[start : start + batch_size]
            ids, mask = pad_batch([windows.input_ids[i] for i in chunk], pad_id)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            out[chunk] = torch.sigmoid(logits.float()).cpu().numpy()
    if was_training:
        model.train()
    return out


def text_probs(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, stride: int, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Per text: max probability per category, the best window's index, and all window spans.

    Returns ``(probs[n_texts, n_labels], best_window[n_texts, n_labels], spans)``.
    """
    windows = make_windows(tokenizer, texts, max_length, stride)
    per_window = window_probs(model, windows, tokenizer.pad_token_id or 0, batch_size)
    n_labels = model.config.num_labels
    probs = np.zeros((len(texts), n_labels), dtype=np.float32)
    best = np.full((len(texts), n_labels), -1, dtype=np.int64)
    for w, t in enumerate(windows.text_index):
        better = per_window[w] > probs[t]
        first = best[t] < 0
        take = better | first
        probs[t][take] = per_window[w][take]
        best[t][take] = w
    return probs, best, windows.char_span
