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


#: Padded token cells per encoder pass. A pass pads its windows to the longest one, so windows
#: are sorted by length and cut into passes of similar length: one pass of 64 gated entries of
#: 10 to 120 tokens padded more than it read and ran 2.6x slower (session 12, CPU).
MAX_TOKENS_PER_PASS = 512


def length_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int = MAX_TOKENS_PER_PASS
) -> list[list[int]]:
    """Indices of ``lengths`` sorted by length and cut into batches of at most ``batch_size``
    rows and (past the first row) at most ``max_tokens`` padded cells."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        rows = len(current) + 1
        if current and (rows > batch_size or rows * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def window_probs(model: Any, windows: Windows, pad_id: int, batch_size: int = 32) -> np.ndarray:
    """Sigmoid probabilities per window, in passes of windows of similar length."""
    import torch

    n = len(windows.input_ids)
    out = np.zeros((n, model.config.num_labels), dtype=np.float32)
    if n == 0:
        return out
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    # A GPU gains from wide passes; only a CPU is held to MAX_TOKENS_PER_PASS.
    widest = batch_size * max(len(ids) for ids in windows.input_ids)
    max_tokens = MAX_TOKENS_PER_PASS if device.type == "cpu" else widest
    with torch.inference_mode():
        for chunk in length_batches([len(ids) for ids in windows.input_ids], batch_size, max_tokens):
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
