"""Int8 inference for the encoder's linear layers, one activation scale per token.

PyTorch's dynamic quantisation (``torch.ao``, deprecated) quantises a layer's whole input
with one scale: the largest activation anywhere in the batch, padding included. A window's
scores then depend on which other windows share its batch, so the same record could be
flagged differently scanned alone, in another file, or resumed. Here every token row gets its
own scale (and weights one per output channel); the int8 product is exact integer arithmetic,
so a token's output depends on that token's input only.
"""

from __future__ import annotations

from typing import Any

#: Marks scores of this quantisation in flags' model version.
INT8 = "+int8row"


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
            out = torch._int_mm(quantised, self.weight_t).float()
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
