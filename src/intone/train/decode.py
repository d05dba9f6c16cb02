"""A lean CPU decoder for Gemma 3 text models: the generation path of `intone sample`, `chat` and `probe`.

transformers' `generate()` spends about half of a 270M decoding step outside the matrix
products (cache classes, mask builders, processors; measured on this project's 2-core CPU: an
80 ms decoder step of which 37 ms are products). This module runs the same Gemma 3 forward pass
over the model's own weight tensors with a preallocated KV cache and none of that machinery,
and, for one or two rows at a time, can use per-row int8 copies of the weights (bf16
activations, fp32 accumulation; `torch.ops.aten._weight_int8pack_mm`), which read a quarter of
the bytes of fp32: on this CPU the 262k x 640 head takes 25 ms instead of 72 for one row.

The forward pass is the one of transformers' `Gemma3ForCausalLM` (sandwich RMS norms with
`1 + w`, q/k norms, local and global rotary bases, sliding-window layers, GQA, the scaled tied
embedding, optional final soft-capping); `tests/train/test_decode.py` holds its logits equal to
transformers' on a random Gemma 3 config, with left padding and past the sliding window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

INT8_MAX_ROWS = 2
"""Rows (tokens in one product) up to which the int8 weights are used: decoding one or two
replies, never a prompt. Measured here: the int8 kernel is compute-bound (the head: 26 ms for
one row, 93 ms for 8) while fp32 is bound by memory (74 ms for 1 to 8 rows)."""


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


def _static_rope(cfg) -> bool:
    """Rotary frequencies fixed at load (default or linear scaling), which this decoder reads once."""
    params = getattr(cfg, "rope_parameters", None) or {}
    per_type = all(isinstance(v, dict) or v is None for v in params.values())
    entries = list(params.values()) if per_type else [params]
    return all((e or {}).get("rope_type", "default") in ("default", "linear") for e in entries)


def supports(model) -> bool:
    """Whether `model` (a transformers model, not a PEFT wrapper) is one this decoder runs."""
    cfg = getattr(model, "config", None)
    return (
        type(model).__name__ == "Gemma3ForCausalLM"
        and _static_rope(cfg)
        and getattr(cfg, "model_type", "") == "gemma3_text"
        and not getattr(cfg, "use_bidirectional_attention", False)
        and getattr(cfg, "attn_logit_softcapping", None) is None
        and next(model.parameters()).device.type == "cpu"
        and next(model.parameters()).dtype == torch.float32
    )


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

    def __call__(self, x: torch.Tensor, int8: bool):
        """The product with each weight: one tensor for one weight, else a tuple."""
        if int8 and self.q is not None and x.shape[0] <= INT8_MAX_ROWS:
            out = _int8_mm(x, self.q, self.scale)
            return out if len(self.sizes) == 1 else out.split(self.sizes, dim=-1)
        outs = [matmul_rows(x, w) for w in self.weights]
        return outs[0] if len(outs) == 1 else tuple(outs)


@dataclass
class Layer:
    qkv: Linear
    o: Linear
    gate_up: Linear
    down: Linear
    norms: tuple  # (1 + w) of input, post-attention, pre-ffn, post-ffn, q, k norms
    eps: float
    sliding: bool
    inv_freq: torch.Tensor
    rope_scale: float


def _param(module) -> torch.Tensor:
    """The weight Parameter of a layer under PEFT's wrappers (LoRA layers, trainable-token rows).

    PEFT merges by swapping the Parameter's data, so holding the Parameter sees a merge; the
    wrappers' own `.weight` can be a fresh merged copy of the whole matrix on every access."""
    while True:
        if hasattr(module, "token_adapter"):
            module = module.token_adapter.base_layer
        elif hasattr(module, "base_layer"):
            module = module.base_layer
        else:
            return module.weight


def _scale(module) -> torch.Tensor:
    """Gemma's RMS norm multiplies by (1 + weight); adapters do not train norms."""
    return (1.0 + module.weight.detach().float()).contiguous()


def _norm(x: torch.Tensor, scale: torch.Tensor, eps: float) -> torch.Tensor:
    return F.rms_norm(x, scale.shape, scale, eps)


class Gemma3Decoder:
    """Decodes with the weights of a transformers Gemma3ForCausalLM, read in place.

    The fp32 path reads the model's tensors as they are at each call (so merging or unmerging an
    adapter in place is seen); `quantize()` takes int8 copies of them as they are then."""

    def __init__(self, model) -> None:
        cfg = model.config
        self.cfg = cfg
        inner = model.model
        rotary = inner.rotary_emb
        self.embed = _param(inner.embed_tokens)
        self.embed_scale = float(cfg.hidden_size) ** 0.5
        self.final_norm, self.final_eps = _scale(inner.norm), inner.norm.eps
        self.head = Linear(_param(model.lm_head))
        self.heads, self.kv_heads, self.head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.scaling = cfg.query_pre_attn_scalar ** -0.5
        self.window = cfg.sliding_window
        self.softcap = getattr(cfg, "final_logit_softcapping", None)
        self.layers = []
        for i, block in enumerate(inner.layers[: cfg.num_hidden_layers]):
            kind = cfg.layer_types[i]
            attn, mlp = block.self_attn, block.mlp
            self.layers.append(Layer(
                Linear(_param(attn.q_proj), _param(attn.k_proj), _param(attn.v_proj)), Linear(_param(attn.o_proj)),
                Linear(_param(mlp.gate_proj), _param(mlp.up_proj)), Linear(_param(mlp.down_proj)),
                tuple(_scale(n) for n in (block.input_layernorm, block.post_attention_layernorm,
                                          block.pre_feedforward_layernorm, block.post_feedforward_layernorm,
                                          attn.q_norm, attn.k_norm)),
                block.input_layernorm.eps, kind == "sliding_attention", getattr(rotary, f"{kind}_inv_freq"),
                float(getattr(rotary, f"{kind}_attention_scaling")),
            ))
        self.act = block.mlp.act_fn
        self.quantized = False

    def linears(self):
        yield self.head
        for layer in self.layers:
            yield from (layer.qkv, layer.o, layer.gate_up, layer.down)

    def quantize(self) -> None:
        """Take int8 copies of the weights as they are now (about 270 MB for the 270M model)."""
        for linear in self.linears():
            linear.quantize()
        self.quantized = any(linear.q is not None for linear in self.linears())

    def drop_quantized(self) -> None:
        for linear in self.linears():
            linear.q = linear.scale = None
        self.quantized = False

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, positions: torch.Tensor, cache: Cache, *, last_only: bool = True,
                int8: bool = False) -> torch.Tensor:
        """Logits for `ids` (B, T) at `positions` (B, T), appending their keys and values to `cache`.

        With `last_only`, only the last position's logits: (B, V); else (B, T, V)."""
        batch, steps = ids.shape
        int8 = int8 and self.quantized
        x = self.embed[ids] * self.embed_scale
        start = cache.length
        end = start + steps
        masks = cache.masks(start, end)
        cos_sin = {}
        for index, layer in enumerate(self.layers):
            key = id(layer.inv_freq)
            if key not in cos_sin:
                freqs = positions[..., None].float() * layer.inv_freq
                emb = torch.cat((freqs, freqs), dim=-1)
                cos_sin[key] = ((emb.cos() * layer.rope_scale)[:, None], (emb.sin() * layer.rope_scale)[:, None])
            cos, sin = cos_sin[key]
            n_in, n_post_attn, n_pre_ffn, n_post_ffn, n_q, n_k = layer.norms
            eps = layer.eps
            q, k, v = layer.qkv(_norm(x, n_in, eps).reshape(batch * steps, -1), int8)
            q = q.reshape(batch, steps, self.heads, self.head_dim).transpose(1, 2)
            k = k.reshape(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
            v = v.reshape(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = _rope(_norm(q, n_q, eps), cos, sin), _rope(_norm(k, n_k, eps), cos, sin)
            keys, values = cache.put(index, k, v, start, end)
            mask = masks[1] if layer.sliding else masks[0]
            attn = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, scale=self.scaling,
                                                  enable_gqa=self.heads != self.kv_heads)
            attn = attn.transpose(1, 2).reshape(batch * steps, -1)
            x = x + _norm(layer.o(attn, int8).view(batch, steps, -1), n_post_attn, eps)
            gate, up = layer.gate_up(_norm(x, n_pre_ffn, eps).reshape(batch * steps, -1), int8)
            h = layer.down(self.act(gate) * up, int8)
            x = x + _norm(h.view(batch, steps, -1), n_post_ffn, eps)
        cache.length = end
        if last_only:
            x = x[:, -1]
        x = _norm(x, self.final_norm, self.final_eps)
        logits = self.head(x.reshape(-1, x.shape[-1]), int8).view(*x.shape[:-1], -1)
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Cache:
    """Preallocated keys and values per layer, (B, kv heads, capacity, head dim), and the pad mask."""

    def __init__(self, decoder: Gemma3Decoder, batch: int, capacity: int, present: torch.Tensor) -> None:
        shape = (batch, decoder.kv_heads, capacity, decoder.head_dim)
        self.keys = [torch.zeros(shape) for _ in decoder.layers]
        self.values = [torch.zeros(shape) for _ in decoder.layers]
        self.present = torch.zeros((batch, capacity), dtype=torch.bool)
        self.present[:, : present.shape[1]] = present
        self.window = decoder.window
        self.length = 0

    def put(self, index: int, k: torch.Tensor, v: torch.Tensor, start: int, end: int):
        self.keys[index][:, :, start:end] = k
        self.values[index][:, :, start:end] = v
        return self.keys[index][:, :, :end], self.values[index][:, :, :end]

    def masks(self, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Boolean (B, 1, T, end) masks for full and sliding-window layers: causal, no pads."""
        query = torch.arange(start, end)[:, None]
        key = torch.arange(end)[None, :]
        causal = key <= query
        full = causal[None, None] & self.present[:, None, None, :end]
        sliding = full & (key > query - self.window)[None, None] if self.window else full
        # a fully masked row (a pad position attending only to pads) gives NaN: let it see itself
        diagonal = (key == query)[None, None]
        return full | diagonal, sliding | diagonal

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only these batch rows (the replies still being generated)."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]
        self.present = self.present[rows]


@dataclass
class Decoded:
    tokens: list[int]
    """New tokens, the stop token not included."""
    stopped: bool


def decode(
    decoder: Gemma3Decoder,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    min_new_tokens: int,
    stop_ids: Sequence[int],
    pad_id: int,
    choose: Callable[[torch.Tensor], torch.Tensor],
    repetition_penalty: float = 1.0,
    on_token: Callable[[int, int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
    int8: bool = True,
) -> list[Decoded]:
    """Replies to token prompts, decoded together (left padding) until each stops or hits the limit.

    `choose(scores)` picks one token per row from (rows, V) scores (sampling or argmax). Finished
    rows leave the batch; with `int8` (and a quantized decoder) the int8 weights are used once at
    most INT8_MAX_ROWS rows are left (never for the prompt). `on_token(row, token)` sees each new
    token of each row, `on_done(row)` each row as it ends."""
    batch = len(prompts)
    width = max(len(p) for p in prompts)
    ids = torch.full((batch, width), pad_id, dtype=torch.long)
    present = torch.zeros((batch, width), dtype=torch.bool)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(list(prompt), dtype=torch.long)
        present[row, width - len(prompt):] = True
    positions = (present.long().cumsum(-1) - 1).clamp(min=0)
    cache = Cache(decoder, batch, width + max_new_tokens, present)
    stops = torch.tensor(list(stop_ids), dtype=torch.long)
    seen = [set(p) for p in prompts] if repetition_penalty != 1.0 else None
    out = [Decoded([], False) for _ in range(batch)]
    rows = list(range(batch))  # original index of each live row
    next_pos = positions[:, -1] + 1
    logits = decoder.forward(ids, positions, cache, int8=int8)
    for step in range(max_new_tokens):
        scores = logits
        if seen is not None:
            scores = _penalize(scores, [seen[r] for r in rows], repetition_penalty)
        if step < min_new_tokens:
            scores = scores.index_fill(1, stops, float("-inf"))
        chosen = choose(scores).reshape(-1)
        keep = []
        for i, token in enumerate(chosen.tolist()):
            row = rows[i]
            if token in stop_ids:
                out[row].stopped = True
                if on_done is not None:
                    on_done(row)
                continue
            out[row].tokens.append(token)
            if seen is not None:
                seen[row].add(token)
            if on_token is not None:
                on_token(row, token)
            keep.append(i)
        if not keep or step == max_new_tokens - 1:
            if on_done is not None:
                for i in keep:
                    on_done(rows[i])
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep, dtype=torch.long)
            cache.keep(index)
            chosen, next_pos = chosen[index], next_pos[index]
            rows = [rows[i] for i in keep]
        cache.present[:, cache.length] = True
        logits = decoder.forward(chosen[:, None], next_pos[:, None], cache, int8=int8)
        next_pos = next_pos + 1
    return out


def _penalize(scores: torch.Tensor, seen: list[set[int]], penalty: float) -> torch.Tensor:
    """transformers' repetition penalty: a seen token's score is divided by it (times, if negative)."""
    scores = scores.clone()
    for i, tokens in enumerate(seen):
        index = torch.tensor(sorted(tokens), dtype=torch.long)
        values = scores[i, index]
        scores[i, index] = torch.where(values < 0, values * penalty, values / penalty)
    return scores
