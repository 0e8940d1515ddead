"""Int8 inference for the encoder's linear layers, one activation scale per token.

PyTorch's dynamic quantisation (``torch.ao``, deprecated) quantises a layer's whole input
with one scale: the largest activation anywhere in the batch, padding included. A window's
scores then depend on which other windows share its batch, so the same record could be
flagged differently scanned alone, in another file, or resumed. Here every token row gets its
own scale (and weights one per output channel); the int8 product is exact integer arithmetic,
so a token's output depends on that token's input only.
"""

from __future__ import annotations

import functools
from typing import Any

#: Marks scores of this quantisation in flags' model version.
INT8 = "+int8row"


@functools.cache
def _fast_int_mm() -> bool:
    """Whether this CPU has AVX-512, where ``torch._int_mm`` is fast (asked once, not per layer call)."""
    import torch

    return "AVX512" in torch.backends.cpu.get_cpu_capability()


#: Columns of an int8 product summed in one float32 product: |sum| <= 128 * 128 * 1024 = 2**24,
#: the largest range where float32 holds every integer, so every partial sum is exact.
FLOAT32_EXACT_COLUMNS = 1024


def integer_product(a: Any, b: Any, int_mm: bool | None = None) -> Any:
    """The exact int32 product of two int8 matrices. ``torch._int_mm`` where the CPU has
    AVX-512; elsewhere float32 products over at most ``FLOAT32_EXACT_COLUMNS`` columns at a
    time, in which every partial sum is an integer float32 holds exactly, so the integers are
    the same. On an AVX2-only CPU ``_int_mm`` falls back to a kernel ~20x slower than float64
    (session 11: 1.79 s against 0.08 s for 2,048 x 384 x 1,536, one thread), and float64 runs
    at half float32's speed. ``int_mm`` forces a path (tests)."""
    import torch

    if int_mm is None:
        int_mm = _fast_int_mm()
    if int_mm:
        return torch._int_mm(a, b)
    a, b = a.float(), b.float()
    out = torch.zeros((a.shape[0], b.shape[1]), dtype=torch.int32)
    for start in range(0, a.shape[1], FLOAT32_EXACT_COLUMNS):
        stop = start + FLOAT32_EXACT_COLUMNS
        out += (a[:, start:stop] @ b[start:stop]).to(torch.int32)
    return out


def _int8_linear_class() -> Any:
    import torch

    class Int8Linear(torch.nn.Module):
        """``nn.Linear`` with int8 weights (per output channel) and int8 activations (per row)."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            self.in_features, self.out_features = linear.in_features, linear.out_features
            quantised = torch.round(weight / scale[:, None]).to(torch.int8)
            self.register_buffer("weight_t", quantised.t().contiguous())
            self.register_buffer("weight_scale", scale)
            bias = linear.bias.detach().float() if linear.bias is not None else None
            self.register_buffer("bias", bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rows = x.reshape(-1, self.in_features).float()
            scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            quantised = torch.round(rows / scale).to(torch.int8)
            out = integer_product(quantised, self.weight_t).float()
            out.mul_(scale).mul_(self.weight_scale)
            if self.bias is not None:
                out.add_(self.bias)
            return out.reshape(*x.shape[:-1], self.out_features)

    return Int8Linear


def quantize_rowwise(model: Any) -> Any:
    """Replace every ``nn.Linear`` of ``model`` (in place) by an int8 one; CPU inference only."""
    import torch

    int8_linear = _int8_linear_class()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(parent, name, int8_linear(child))
    return model
