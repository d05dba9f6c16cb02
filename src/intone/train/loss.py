"""The assistant-only loss: the decoder on the whole batch, the vocabulary projection only where
labels are trained.

For Gemma the output projection has 262k rows; persona replies are short, so computing logits
only at assistant positions (and a chunk at a time) is most of the training work saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intone.train.template import IGNORE

HEAD_CHUNK_BYTES = 128 << 20  # logits are computed this many bytes at a time
_BUFFERS: dict[tuple, Any] = {}
_CASTS: dict[tuple, Any] = {}


@dataclass
class Head:
    """The output projection as the loss sees it: a frozen weight, with `rows` (trainable,
    PEFT's trainable-token delta) standing in for the weight's rows at `index`."""

    weight: Any
    rows: Any = None
    index: Any = None
    module: Any = None


def head_of(model) -> Head:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings()
    layer = getattr(head, "token_adapter", None)
    if layer is None:
        return Head(getattr(head, "weight", None), module=head)
    if layer.merged or layer.disable_adapters:
        return Head(layer.base_layer.weight, module=head)
    for name in layer.active_adapters:
        if name in layer.trainable_tokens_delta:
            index = torch_tensor(layer.token_indices[name], layer.base_layer.weight.device)
            return Head(layer.base_layer.weight, layer.trainable_tokens_delta[name], index, head)
    return Head(layer.base_layer.weight, module=head)


def torch_tensor(values, device):
    import torch

    return torch.tensor(list(values), dtype=torch.long, device=device)


def _decoder_hidden(model, batch, dtype: str):
    from intone.train.device import autocast

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    device = batch["input_ids"].device.type
    with autocast(device, dtype):
        return base.get_decoder()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state


def assistant_loss(
    model, batch, *, backward_scale: float | None = None, dtype: str = "float32"
) -> tuple[Any, int]:
    """Summed cross-entropy over trained positions, and their count.

    Logits are computed only at trained positions, in chunks, so memory stays bounded however
    large the vocabulary. With `backward_scale`, the loss times the scale is back-propagated:
    the vocabulary projection by hand (in place, in one reused buffer; see `_head_loss`), the
    decoder by autograd. `dtype` "bfloat16" runs the decoder under bf16 autocast and the
    projection's matmuls in bf16; softmax and loss stay fp32.
    """
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = head_of(model)
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    hidden = _decoder_hidden(model, batch, dtype)
    hidden, targets = hidden[:, :-1][keep], labels[keep]
    n = int(targets.numel())
    train = backward_scale is not None and torch.is_grad_enabled()
    cap = getattr(base.config, "final_logit_softcapping", None)
    weight = head.weight
    plain = (
        isinstance(weight, torch.Tensor) and not weight.requires_grad and weight.dtype == torch.float32
        and (not isinstance(head.module, torch.nn.Linear) or head.module.bias is None) and not cap
    )
    if plain:
        total, grad, row_grad = _head_loss(
            hidden.detach().float(), head, targets, backward_scale if train else None, dtype
        )
        if train and n:
            if row_grad is not None:
                (hidden.detach().float() @ head.rows.t()).backward(row_grad)
            hidden.backward(grad.to(hidden.dtype))
        return total, n
    scale = backward_scale if train else None
    return _head_loss_autograd(hidden, head.module, targets, cap, scale, dtype, weight.shape[0]), n


def _low_precision(weight, dtype: str):
    """A cached bf16 copy of a frozen weight (None for fp32)."""
    import torch

    if dtype != "bfloat16":
        return None
    key = (weight.data_ptr(), weight.shape, weight.device)
    cast = _CASTS.get(key)
    if cast is None:
        _CASTS.clear()
        cast = _CASTS[key] = weight.detach().to(torch.bfloat16)
    return cast


def _buffer(name: str, shape: tuple, device, dtype):
    import torch

    key = (name, shape, device, dtype)
    buffer = _BUFFERS.get(key)
    if buffer is None:
        for old in [k for k in _BUFFERS if k[0] == name]:
            del _BUFFERS[old]
        buffer = _BUFFERS[key] = torch.empty(shape, device=device, dtype=dtype)
    return buffer


def _head_loss(hidden, head: Head, targets, scale: float | None, dtype: str = "float32"):
    """Cross-entropy of `hidden @ weight.T` and, with `scale`, its gradients.

    Returns (summed loss, gradient wrt `hidden`, gradient wrt the logits of the trainable rows).
    Written out so that the (rows x vocabulary) logits live in one buffer that is reused: the
    softmax and its gradient (softmax - one-hot) are computed in place. Freshly allocated
    logits of hundreds of MB cost page faults on every step, and autograd would keep several.
    The trainable rows' logits replace the frozen weight's columns at `head.index`.
    """
    import torch

    weight = head.weight
    low = _low_precision(weight, dtype)
    n, vocab = hidden.shape[0], weight.shape[0]
    rows = max(1, min(n, HEAD_CHUNK_BYTES // (4 * vocab)))
    logits_buffer = _buffer("logits", (rows, vocab), hidden.device, torch.float32)
    low_buffer = _buffer("low", (rows, vocab), hidden.device, torch.bfloat16) if low is not None else None
    grad = torch.empty_like(hidden) if scale is not None else None
    trained = head.rows.detach().float() if head.rows is not None else None
    row_grad = torch.empty((n, len(head.index)), device=hidden.device) if scale is not None and trained is not None else None
    total = torch.zeros((), device=hidden.device, dtype=torch.float32)
    for start in range(0, n, rows):
        h, y = hidden[start : start + rows], targets[start : start + rows]
        m = h.shape[0]
        logits = logits_buffer[:m]
        if low is None:
            torch.matmul(h, weight.t(), out=logits)
        else:
            torch.matmul(h.to(torch.bfloat16), low.t(), out=low_buffer[:m])
            logits.copy_(low_buffer[:m])
        if trained is not None:
            logits[:, head.index] = h @ trained.t()
        picked = logits.gather(1, y[:, None]).squeeze(1)
        top = logits.max(dim=1).values
        logits.sub_(top[:, None]).exp_()
        norm = logits.sum(dim=1)
        total += (top + norm.log() - picked).sum()
        if grad is None:
            continue
        logits.div_(norm[:, None])
        logits[torch.arange(m, device=h.device), y] -= 1.0
        logits.mul_(scale)
        out = grad[start : start + m]
        if trained is not None:
            row_grad[start : start + m] = logits[:, head.index]
            logits[:, head.index] = 0.0
        if low is None:
            torch.matmul(logits, weight, out=out)
        else:
            low_buffer[:m].copy_(logits)
            out.copy_(low_buffer[:m] @ low)
        if trained is not None:
            out += row_grad[start : start + m] @ trained
    return total, grad, row_grad


def _head_loss_autograd(hidden, head, targets, cap, scale: float | None, dtype: str, vocab: int):
    """The general path (soft-capped logits, trainable heads): chunked, each chunk back-propagated at once."""
    import torch.nn.functional as F

    from intone.train.device import autocast

    rows = max(1, HEAD_CHUNK_BYTES // (4 * vocab))
    inputs = hidden.detach().requires_grad_(True) if scale is not None else hidden
    total = 0.0
    for start in range(0, targets.numel(), rows):
        with autocast(hidden.device.type, dtype):
            logits = head(inputs[start : start + rows]).float()
        if cap:
            logits = (logits / cap).tanh() * cap
        loss = F.cross_entropy(logits, targets[start : start + rows], reduction="sum")
        if scale is not None:
            (loss * scale).backward()
            loss = loss.detach()
        total = total + loss
    if scale is not None and targets.numel():
        hidden.backward(inputs.grad.to(hidden.dtype))
    return total


def token_probabilities(model, batch, token_id: int, dtype: str = "float32") -> list[float]:
    """P(token_id) wherever it is the trained target: e.g. how sure the model is to end its turn
    at exactly the positions where the data ends it (teacher-forced)."""
    import torch

    head = head_of(model)
    labels = batch["labels"][:, 1:]
    where = labels == token_id
    if not bool(where.any()):
        return []
    with torch.no_grad():
        hidden = _decoder_hidden(model, batch, dtype)[:, :-1][where].float()
        logits = hidden @ head.weight.float().t()
        if head.rows is not None:
            logits[:, head.index] = hidden @ head.rows.float().t()
        cap = getattr(model.config, "final_logit_softcapping", None)
        if cap:
            logits = (logits / cap).tanh() * cap
        return torch.softmax(logits, dim=-1)[:, token_id].tolist()
