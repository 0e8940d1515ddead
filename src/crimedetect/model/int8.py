"""Int8 inference for the encoder's linear layers, one activation scale per token.

PyTorch's dynamic quantisation (``torch.ao``, deprecated) quantises a layer's whole input
with one scale: the largest activation anywhere in the batch, padding included. A window's
scores then depend on which other windows share its batch, so the same record could be
flagged differently scanned alone, in another file, or resumed. Here every token row gets its
own scale (and weights one per output channel); the int8 product is exact integer arithmetic,
so a token's output depends on that token's input only, on any CPU.

Weights are held in 7 bits (-63..63), activations in 8. x86 CPUs without AVX-512 VNNI multiply
unsigned by signed bytes with ``vpmaddubsw``, which adds each pair of products into 16 bits and
saturates past 32,767; with 8-bit weights a pair reaches 2 * 255 * 127 and nearly every cell of
a real layer came out wrong (session 14). With 7-bit weights a pair is at most 2 * 255 * 63 =
32,130, so oneDNN's int8 product is exact there, and 2.0x faster than float32 on an AVX2-only
CPU. Where oneDNN is missing, a float32 product of the same integers gives the same numbers.
"""

from __future__ import annotations

import functools
from typing import Any

#: Marks scores of this quantisation in flags' model version.
INT8 = "+int8w7"

#: Largest weight and activation after quantisation (7-bit weights: see the module docstring).
WEIGHT_MAX = 63
ACTIVATION_MAX = 127
#: Activations are handed to oneDNN as unsigned bytes: value + ZERO_POINT.
ZERO_POINT = 128
#: Input columns whose products one float32 sum holds exactly: every partial sum is an integer
#: of at most 127 * 63 * 2,096 < 2**24, the range where float32 holds every integer.
FLOAT32_EXACT_COLUMNS = 2**24 // (ACTIVATION_MAX * WEIGHT_MAX)


def float_product(a: Any, b: Any) -> Any:
    """``a @ b`` for float32 matrices of quantised integers, exact: blocks of at most
    ``FLOAT32_EXACT_COLUMNS`` columns are summed in float64 and rounded once."""
    import torch

    if a.shape[1] <= FLOAT32_EXACT_COLUMNS:
        return a @ b
    out = torch.zeros((a.shape[0], b.shape[1]), dtype=torch.float64)
    for start in range(0, a.shape[1], FLOAT32_EXACT_COLUMNS):
        stop = start + FLOAT32_EXACT_COLUMNS
        out += a[:, start:stop] @ b[start:stop]
    return out.float()


def onednn_product(unsigned: Any, packed: Any, ones: Any, zeros: Any) -> Any:
    """``a @ w.T`` for activations ``a`` in [-127, 127] given as unsigned bytes ``a + ZERO_POINT``
    and int8 weights packed by ``torch.ops.onednn.qlinear_prepack``; ``ones`` and ``zeros`` are
    the unit scales and zero points of the output channels. Float32 of the exact integers."""
    import torch

    return torch.ops.onednn.qlinear_pointwise(
        unsigned, 1.0, ZERO_POINT, packed, ones, zeros, None, 1.0, 0, torch.float32, "none", [], ""
    )


def as_unsigned(a: Any) -> Any:
    """Quantised activations (float32 integers in [-127, 127]) as oneDNN's unsigned bytes."""
    import torch

    return (a + ZERO_POINT).to(torch.uint8)


@functools.cache
def onednn_available() -> bool:
    """Whether oneDNN's int8 linear runs here and gives the exact product (asked once)."""
    import torch

    try:
        rng = torch.Generator().manual_seed(0)  # not the global generator: no side effect
        a = torch.randint(-ACTIVATION_MAX, ACTIVATION_MAX + 1, (3, 64), generator=rng).float()
        w = torch.randint(-WEIGHT_MAX, WEIGHT_MAX + 1, (5, 64), dtype=torch.int8, generator=rng)
        a[0].fill_(ACTIVATION_MAX)
        w[0].fill_(WEIGHT_MAX)
        packed = torch.ops.onednn.qlinear_prepack(w, None)
        by_onednn = onednn_product(as_unsigned(a), packed, torch.ones(5), torch.zeros(5, dtype=torch.int64))
        return bool(torch.equal(by_onednn, float_product(a, w.t().float())))
    except (AttributeError, RuntimeError):
        return False


def _int8_linear_class() -> Any:
    import torch

    class Int8Linear(torch.nn.Module):
        """``nn.Linear`` with 7-bit weights (per output channel) and 8-bit activations (per row)."""

        def __init__(self, linear: torch.nn.Linear, onednn: bool) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / WEIGHT_MAX
            self.in_features, self.out_features = linear.in_features, linear.out_features
            quantised = torch.round(weight / scale[:, None]).to(torch.int8)
            self.register_buffer("weight_scale", scale)
            bias = linear.bias.detach().float() if linear.bias is not None else None
            self.register_buffer("bias", bias)
            # oneDNN's packed layout, or the same integers as float32 for float_product
            self.packed = torch.ops.onednn.qlinear_prepack(quantised, None) if onednn else None
            self.weight_t = None if onednn else quantised.t().float().contiguous()
            self.ones = torch.ones(self.out_features)
            self.zeros = torch.zeros(self.out_features, dtype=torch.int64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rows = x.reshape(-1, self.in_features).float()
            scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / ACTIVATION_MAX
            quantised = torch.div(rows, scale).round_()
            if self.packed is not None:
                unsigned = quantised.add_(ZERO_POINT).to(torch.uint8)
                out = onednn_product(unsigned, self.packed, self.ones, self.zeros)
            else:
                out = float_product(quantised, self.weight_t)
            out.mul_(scale).mul_(self.weight_scale)
            if self.bias is not None:
                out.add_(self.bias)
            return out.reshape(*x.shape[:-1], self.out_features)

    return Int8Linear


def quantize_rowwise(model: Any, onednn: bool | None = None) -> Any:
    """Replace every ``nn.Linear`` of ``model`` (in place) by an int8 one; CPU inference only.
    ``onednn`` forces the product's path (tests); both give the same numbers."""
    import torch

    if onednn is None:
        onednn = onednn_available()
    int8_linear = _int8_linear_class()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(parent, name, int8_linear(child, onednn))
    return model
