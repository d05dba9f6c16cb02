"""The quantized products of intone's decoder (train/decode.py) and the product layout it uses.

Decoding one token is bound by reading the weights from memory, so for a few rows at a time the
decoder reads smaller copies of them: per-row int8 copies of the layers' products, and a 4-bit
copy of the vocabulary projection that only screens it (`ScreenedHead`: exact fp32 logits for
each row's best tokens). bench/sample_speed.py measures the speed and the distance from fp32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

INT8_MAX_ROWS = 8
"""Rows (tokens in one product) up to which the layers' int8 weights are used: decoding up to 8
replies (a prompt only if it is that short). Measured on a 2-core AVX2 CPU, a decoding step of
the 270M model: 8 rows 175 -> 140 ms, 4 rows 114 -> 82 ms against fp32 layers."""

SCREEN_MAX_ROWS = 8
"""Rows up to which the vocabulary projection is screened with its 4-bit copy (`ScreenedHead`):
decoding up to 8 replies together. Measured on a 2-core AVX2 CPU: the 262k x 640 head takes
16 ms for one row at 4 bits, 44 at int8 and 117 in fp32; 60, 106 and 128 ms for 8 rows."""

SCREEN = 256
"""How many of a row's best tokens, by the 4-bit estimate, get their logit computed exactly."""

INT4_GROUP = 32
"""Weights per 4-bit scale and zero point (along the hidden dimension)."""


SMALL_ROWS = 64
"""Up to this many rows, a product is computed as `(W @ x.T).T`: the same product, laid out so the
CPU BLAS streams the weight once (measured on this project's 2-core CPU: the 262k-row Gemma head
takes 68 ms for 8 rows instead of 268 ms; the decoder's projections 0.3-0.6 ms instead of 0.4-1.1)."""


def matmul_rows(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (rows, in) @ weight.T, the fastest way round for the number of rows."""
    if x.shape[0] <= SMALL_ROWS:
        return (weight @ x.t()).t()
    return F.linear(x, weight)


def _int8_mm(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten._weight_int8pack_mm(x.to(torch.bfloat16), q, scale).float()


def _int4_mm(x: torch.Tensor, packed: torch.Tensor, scales: torch.Tensor, group: int) -> torch.Tensor:
    return torch.ops.aten._weight_int4pack_mm_for_cpu(x.to(torch.bfloat16), packed, group, scales).float()


def int4_pack(w: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """A 4-bit copy of `w` (out, in) for `_weight_int4pack_mm_for_cpu`: each run of `group` weights
    along a row gets a scale and zero point (asymmetric, round to nearest). None where the kernel
    does not run here or refuses the shape. The kernel takes whole blocks of 16 output rows, so
    rows are padded with zeros to a multiple of 16 (the product then has those extra columns)."""
    if w.shape[1] % group or not hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu"):
        return None
    if w.shape[0] % 16:
        w = torch.cat([w, w.new_zeros((16 - w.shape[0] % 16, w.shape[1]))])
    rows, width = w.shape
    packed = torch.empty((rows, width // 2), dtype=torch.uint8)  # the kernel packs rows independently
    scales = torch.empty((width // group, rows, 2), dtype=torch.bfloat16)
    try:
        for start in range(0, rows, 8192):  # in slices: no 262k x 640 float or int32 temporaries
            part = w[start:start + 8192].reshape(-1, width // group, group)
            low, high = part.amin(-1, keepdim=True), part.amax(-1, keepdim=True)
            step = ((high - low) / 15.0).clamp(min=1e-12)
            q = ((part - low) / step).round_().clamp_(0, 15).reshape(-1, width).int()
            packed[start:start + 8192] = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
            # the kernel reads weight = (q - 8) * scale + zero
            scales[:, start:start + 8192, 0] = step[..., 0].t()
            scales[:, start:start + 8192, 1] = (low + 8.0 * step)[..., 0].t()
        _int4_mm(torch.zeros((1, width)), packed, scales, group)
    except (AttributeError, RuntimeError, NotImplementedError):
        return None
    return packed, scales


class Linear:
    """x @ W.T for one or more weight tensors of the model (no copy) that read the same input,
    with an optional int8 copy of them stacked, so one kernel call serves them all."""

    __slots__ = ("q", "scale", "sizes", "weights")

    def __init__(self, *weights: torch.Tensor) -> None:
        self.weights = weights
        self.sizes = [w.shape[0] for w in weights]
        self.q: torch.Tensor | None = None
        self.scale: torch.Tensor | None = None

    def quantize(self) -> None:
        """Per-row symmetric int8 copy of the weights as they are now."""
        w = torch.cat([w.detach() for w in self.weights]) if len(self.weights) > 1 else self.weights[0].detach()
        scale = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
        q = torch.empty(w.shape, dtype=torch.int8)
        for start in range(0, w.shape[0], 8192):  # in slices: no 262k x 640 float temporaries
            part = w[start:start + 8192] / scale[start:start + 8192, None]
            q[start:start + 8192] = part.round_()
        try:  # the kernel has shape rules of its own; where it refuses, this product stays fp32
            torch.ops.aten._weight_int8pack_mm(torch.zeros((1, q.shape[1]), dtype=torch.bfloat16), q,
                                               scale.to(torch.bfloat16))
        except (AttributeError, RuntimeError, NotImplementedError):
            return
        self.q, self.scale = q, scale.to(torch.bfloat16)

    def __call__(self, x: torch.Tensor, int8: bool, joined: bool = False):
        """The product with each weight: one tensor for one weight or `joined`, else a tuple."""
        if int8 and self.q is not None and x.shape[0] <= INT8_MAX_ROWS:
            out = _int8_mm(x, self.q, self.scale)
            return out if len(self.sizes) == 1 or joined else out.split(self.sizes, dim=-1)
        outs = [matmul_rows(x, w) for w in self.weights]
        if joined and len(outs) > 1:
            return torch.cat(outs, dim=-1)
        return outs[0] if len(outs) == 1 else tuple(outs)


class ScreenedHead:
    """The vocabulary projection of a few rows, fast and exact where sampling looks.

    A 4-bit copy of the head (groups of INT4_GROUP weights with a scale and zero point each;
    `torch.ops.aten._weight_int4pack_mm_for_cpu`) estimates every logit, reading an eighth of
    fp32's bytes; the SCREEN best tokens of each row by that estimate then get their logit
    computed exactly from the fp32 weight. Top-k sampling (k <= SCREEN), top-p over those, greedy
    choice and the stop token's score all see exact logits; the rest of the vocabulary, whose
    probability is negligible after softmax, keeps the estimate."""

    __slots__ = ("packed", "scales", "weight")

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight
        self.packed: torch.Tensor | None = None
        self.scales: torch.Tensor | None = None

    def quantize(self) -> bool:
        """Take the 4-bit copy of the weight as it is now; False where the kernel does not run here."""
        packed = int4_pack(self.weight.detach(), INT4_GROUP)
        if packed is None:
            return False
        self.packed, self.scales = packed
        return True

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, V) logits: exact for each row's SCREEN best tokens by the 4-bit estimate."""
        estimate = _int4_mm(x, self.packed, self.scales, INT4_GROUP)
        if estimate.shape[1] != self.weight.shape[0]:  # rows padded to a multiple of 16
            estimate = estimate[:, : self.weight.shape[0]].contiguous()
        best = estimate.topk(min(SCREEN, estimate.shape[-1]), dim=-1, sorted=False).indices
        exact = torch.bmm(self.weight.detach()[best], x[:, :, None].float()).squeeze(-1)
        return estimate.scatter_(1, best, exact)
