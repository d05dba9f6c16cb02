"""A lean CPU decoder for Gemma 3 text models: the generation path of `intone sample`, `chat` and `probe`.

transformers' `generate()` spends about half of a 270M decoding step outside the matrix
products (cache classes, mask builders, processors; measured on this project's 2-core CPU: an
80 ms decoder step of which 37 ms are products). This module runs the same Gemma 3 forward pass
over the model's own weight tensors with a preallocated KV cache and none of that machinery.
For up to 8 rows at a time (decoding up to 8 replies) it can use quantized copies of the
weights, since decoding one token is bound by reading the weights from memory: per-row int8
copies of the layers' products (bf16 activations, fp32 accumulation;
`torch.ops.aten._weight_int8pack_mm`), a quarter of fp32's bytes, and a 4-bit copy of the 262k x
640 head that only screens the vocabulary: each row's 256 best tokens by that estimate get exact
fp32 logits (`ScreenedHead`). bench/sample_speed.py measures the speed and the distance from fp32.

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

from intone.train import products
from intone.train.products import Linear, ScreenedHead


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


@dataclass
class Layer:
    qkv: Linear
    o: Linear
    gate_up: Linear
    down: Linear
    norms: tuple  # (1 + w) of input, post-attention, pre-ffn, post-ffn norms
    qk_scale: torch.Tensor  # (heads + kv heads, head dim): q norm's (1 + w) x attention scaling, k norm's
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
        self.screened: ScreenedHead | None = None
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
                                          block.pre_feedforward_layernorm, block.post_feedforward_layernorm)),
                torch.cat([(_scale(attn.q_norm) * self.scaling).expand(self.heads, -1),
                           _scale(attn.k_norm).expand(self.kv_heads, -1)]).contiguous(),
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
        """Take quantized copies of the weights as they are now: the head at 4 bits for screening
        (`ScreenedHead`; int8 where that kernel does not run), the layers at int8 (about 100 + 100 MB
        for the 270M model)."""
        screened = ScreenedHead(self.head.weights[0])
        self.screened = screened if screened.quantize() else None
        for linear in self.linears():
            if linear is not self.head or self.screened is None:
                linear.quantize()
        self.quantized = self.screened is not None or any(linear.q is not None for linear in self.linears())

    def drop_quantized(self) -> None:
        for linear in self.linears():
            linear.q = linear.scale = None
        self.screened = None
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
        if steps == 1:  # additive, (B, 1, 1, end): scores of the single-step product are (B, kv heads, group, end)
            masks = tuple(torch.zeros(m.shape).masked_fill_(~m, float("-inf")) for m in masks)
        heads, kv_heads, dim = self.heads, self.kv_heads, self.head_dim
        rope = {}
        for index, layer in enumerate(self.layers):
            key = id(layer.inv_freq)
            if key not in rope:
                rope[key] = _rotation(positions, layer.inv_freq, layer.rope_scale)
            cos, sin = rope[key]
            n_in, n_post_attn, n_pre_ffn, n_post_ffn = layer.norms
            eps = layer.eps
            qkv = layer.qkv(_norm(x, n_in, eps).reshape(batch * steps, -1), int8, joined=True)
            qkv = qkv.view(batch, steps, heads + 2 * kv_heads, dim)
            # q and k normed, scaled and rotated together: (B, T, heads + kv heads, D)
            qk = F.rms_norm(qkv[:, :, : heads + kv_heads], (dim,), None, eps).mul_(layer.qk_scale)
            qk = torch.addcmul(qk * cos, qk.roll(dim // 2, -1), sin)
            k = qk[:, :, heads:].transpose(1, 2)
            v = qkv[:, :, heads + kv_heads:].transpose(1, 2)
            keys, values = cache.put(index, k, v, start, end)
            mask = masks[1] if layer.sliding else masks[0]
            if steps == 1:  # one new token a row: plain products beat SDPA's kernel at this size
                q = qk[:, 0, :heads].reshape(batch, kv_heads, heads // kv_heads, dim)
                scores = torch.matmul(q, keys.transpose(-1, -2)).add_(mask)
                attn = torch.matmul(scores.softmax(-1), values).reshape(batch, -1)
            else:
                attn = F.scaled_dot_product_attention(qk[:, :, :heads].transpose(1, 2), keys, values,
                                                      attn_mask=mask, scale=1.0, enable_gqa=heads != kv_heads)
                attn = attn.transpose(1, 2).reshape(batch * steps, -1)
            x = x + _norm(layer.o(attn, int8).view(batch, steps, -1), n_post_attn, eps)
            gate, up = layer.gate_up(_norm(x, n_pre_ffn, eps).reshape(batch * steps, -1), int8)
            h = layer.down(self.act(gate) * up, int8)
            x = x + _norm(h.view(batch, steps, -1), n_post_ffn, eps)
        cache.length = end
        if last_only:
            x = x[:, -1]
        x = _norm(x, self.final_norm, self.final_eps)
        rows = x.reshape(-1, x.shape[-1])
        if int8 and self.screened is not None and rows.shape[0] <= products.SCREEN_MAX_ROWS:
            logits = self.screened(rows)
        else:
            logits = self.head(rows, int8)
        logits = logits.view(*x.shape[:-1], -1)
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits


def _rotation(positions: torch.Tensor, inv_freq: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and signed sin, (B, T, 1, D), so that rotary embedding is x * cos + x.roll(D / 2) * sin:
    the rotate-half form (x * cos + cat(-x2, x1) * sin) with the sign moved into sin."""
    freqs = positions[..., None].float() * inv_freq
    cos, sin = freqs.cos() * scale, freqs.sin() * scale
    return torch.cat((cos, cos), -1)[:, :, None], torch.cat((-sin, sin), -1)[:, :, None]


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
    rows leave the batch; with `int8` (and a quantized decoder) the quantized weights serve
    products of at most `products.INT8_MAX_ROWS` / `SCREEN_MAX_ROWS` rows. `on_token(row, token)` sees each new
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
