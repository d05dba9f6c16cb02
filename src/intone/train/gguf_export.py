"""A merged Gemma 3 model as one GGUF file (llama.cpp, Ollama, LM Studio), written with the `gguf` package.

What llama.cpp expects of a Gemma 3 GGUF (its convert_hf_to_gguf.py, `Gemma3Model`), and what
transformers' GGUF loader undoes when it reads one back:
- tensor names from `gguf.get_tensor_name_map(MODEL_ARCH.GEMMA3, ...)`; no `output.weight` when
  the head is tied to the embedding (Gemma's is);
- every `*norm.weight` is stored plus 1: Gemma's RMSNorm computes `x * (1 + w)` and llama.cpp's
  computes `x * w`; norms (1-D tensors) stay float32 at every type;
- q8_0 quantizes each 2-D weight whose rows split into 32-value blocks (the package's own
  `gguf.quants.quantize`); a weight whose rows do not stays f16, as llama.cpp does;
- the hyperparameters under `gemma3.*`: context, embedding and feed-forward lengths, block count,
  head counts, key/value lengths, RMS epsilon, rope bases (global and sliding layers), the
  sliding window, and the final logit softcap when the model has one.

The tokenizer metadata is the source's: `tokenizer.*` copied from the model's own GGUF when it
came from one (the embedded model), otherwise built from tokenizer.json. `<end_of_turn>` is the
end-of-turn token (`tokenizer.ggml.eot_token_id`, which llama.cpp stops on), and the chat template
that the run was trained with is embedded as `tokenizer.chat_template`.
"""

from __future__ import annotations

import functools
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intone.errors import UsageError
from intone.train.template import BOS, END

TYPES = ("f16", "bf16", "q8_0")
ARCH = "gemma3"
SPIECE_SPACE = "\u2581"

# intone's built-in Gemma turn format (template.GemmaTemplate) as a Jinja chat template: a first
# system turn goes in front of the first user turn, then a blank line; a later one is a user turn.
# tests/train/test_gguf_export.py holds its output equal to GemmaTemplate's on any conversation.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- set ns = namespace(system=none, seen_user=false) -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' and ns.system is none and not ns.seen_user -%}"
    "{%- set ns.system = message['content'] -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{%- if ns.system is not none -%}"
    "{{ '<start_of_turn>user\\n' + ns.system + '<end_of_turn>\\n' }}"
    "{%- set ns.system = none -%}"
    "{%- endif -%}"
    "{{ '<start_of_turn>model\\n' + message['content'] + '<end_of_turn>\\n' }}"
    "{%- else -%}"
    "{%- if message['role'] == 'user' -%}{%- set ns.seen_user = true -%}{%- endif -%}"
    "{%- if ns.system is not none -%}"
    "{{ '<start_of_turn>user\\n' + ns.system + '\\n\\n' + message['content'] + '<end_of_turn>\\n' }}"
    "{%- set ns.system = none -%}"
    "{%- else -%}"
    "{{ '<start_of_turn>user\\n' + message['content'] + '<end_of_turn>\\n' }}"
    "{%- endif -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if ns.system is not none -%}"
    "{{ '<start_of_turn>user\\n' + ns.system + '<end_of_turn>\\n' }}"
    "{%- endif -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)


@dataclass
class GGUFResult:
    path: Path
    type: str
    bytes: int
    seconds: float
    tensor_types: dict[str, int]
    """How many tensors were written at each GGML type (F32, F16, BF16, Q8_0)."""
    tokenizer_from: str
    """Where the tokenizer.* metadata came from: the source GGUF or tokenizer.json."""
    chat_template: str
    """Which chat template is embedded."""
    warnings: list[str] = field(default_factory=list)


def check_type(type_: str) -> None:
    if type_ not in TYPES:
        raise UsageError(f"--type {type_}: GGUF types are {', '.join(TYPES)}")


def export_gguf(merged, tokenizer, template, source, out: Path, *, type_: str, name: str,
                sampling: dict[str, Any] | None = None) -> GGUFResult:
    """Write `merged` (a Gemma3ForCausalLM with the adapter merged in) to `out` as GGUF.

    The file is written beside `out` under a temporary name and renamed into place, so a failed
    export leaves no partial file. `sampling` (temperature, top_p, top_k, repetition_penalty)
    goes in as `general.sampling.*`, the defaults llama.cpp samples with.
    """
    import gguf

    check_type(type_)
    started = time.perf_counter()
    config = getattr(merged.config, "text_config", merged.config)
    if getattr(config, "model_type", None) != "gemma3_text":
        raise UsageError(f"GGUF export supports Gemma 3 text models; this run's model is "
                         f"{getattr(config, 'model_type', '?')}")
    warnings: list[str] = []
    tensors = _tensors(merged, config, type_)
    rows = config.vocab_size
    fields, tokenizer_from = _tokenizer_fields(source, tokenizer, rows)
    own = tokenizer.chat_template_source()
    chat_template, chat_name = (own, "the tokenizer's own") if own else (GEMMA_CHAT_TEMPLATE, "Gemma's turn format")
    eot = tokenizer.token_id(END)
    if eot is None:
        eot = tokenizer.token_id(template.end_of_turn or "")
    if eot is None:
        raise UsageError(f"the tokenizer has no {END} token to stop on; GGUF export needs Gemma's tokenizer")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(str(tmp), ARCH)
    try:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(name)
        writer.add_file_type({"f16": gguf.LlamaFileType.MOSTLY_F16, "bf16": gguf.LlamaFileType.MOSTLY_BF16,
                              "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[type_])
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, source.display)
        for key, value, vtype, sub in _source_general(source):
            writer.add_key_value(key, value, vtype, sub)
        warnings += _add_parameters(writer, config)
        for key, value, vtype, sub in fields:
            writer.add_key_value(key, value, vtype, sub)
        writer.add_eot_token_id(eot)
        writer.add_chat_template(chat_template)
        if sampling:
            writer.add_sampling_temp(float(sampling["temperature"]))
            writer.add_sampling_top_p(float(sampling["top_p"]))
            writer.add_sampling_top_k(int(sampling["top_k"]))
            writer.add_sampling_penalty_repeat(float(sampling["repetition_penalty"]))
        for tensor_name, array, qtype in tensors:
            writer.add_tensor(tensor_name, array, raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=False)
        writer.close()
        os.replace(tmp, out)
    finally:
        writer.close()
        tmp.unlink(missing_ok=True)
    counts = Counter(qtype.name for _, _, qtype in tensors)
    return GGUFResult(out, type_, out.stat().st_size, time.perf_counter() - started, dict(sorted(counts.items())),
                      tokenizer_from, chat_name, warnings)


def _tensors(merged, config, type_: str) -> list[tuple[str, Any, Any]]:
    """(GGUF name, array, GGML type) for every weight, in the model's order."""
    import gguf
    import numpy as np

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", True))
    out = []
    for hf_name, tensor in merged.state_dict().items():
        if hf_name == "lm_head.weight" and tied:
            continue  # the head is the embedding; llama.cpp reuses token_embd
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise UsageError(f"GGUF export: no Gemma 3 GGUF name for the weight {hf_name}")
        data = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("norm.weight"):
            data = data + 1.0  # Gemma's RMSNorm scales by (1 + w); llama.cpp's by w
        data = np.ascontiguousarray(data, dtype=np.float32)
        if data.ndim <= 1:
            out.append((gguf_name, data, gguf.GGMLQuantizationType.F32))
            continue
        if type_ == "q8_0" and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
            qtype = gguf.GGMLQuantizationType.Q8_0
        elif type_ == "bf16":
            qtype = gguf.GGMLQuantizationType.BF16
        else:
            qtype = gguf.GGMLQuantizationType.F16
            if np.abs(data).max() > np.finfo(np.float16).max:
                raise UsageError(f"GGUF export: {hf_name} has values beyond float16's range; use --type bf16")
        out.append((gguf_name, gguf.quants.quantize(data, qtype), qtype))
    return out


def _add_parameters(writer, config) -> list[str]:
    """The gemma3.* hyperparameters; returns warnings for what llama.cpp will read differently."""
    import gguf

    warnings = []
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    rope = getattr(config, "rope_parameters", None) or {}
    full = rope.get("full_attention", rope) if isinstance(rope, dict) else {}
    sliding = rope.get("sliding_attention", {}) if isinstance(rope, dict) else {}
    writer.add_rope_freq_base(float(full.get("rope_theta", getattr(config, "rope_theta", 1_000_000.0))))
    local = float(sliding.get("rope_theta", getattr(config, "rope_local_base_freq", 10_000.0)))
    writer.add_rope_freq_base_swa(local)
    kind = full.get("rope_type", "default")
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(full["factor"]))
        warnings.append("linear rope scaling is written for llama.cpp; transformers' GGUF loader does not read it")
    elif kind != "default":
        raise UsageError(f"GGUF export: rope type {kind!r} is not supported (default and linear are)")
    if getattr(config, "attn_logit_softcapping", None):
        raise UsageError("GGUF export: attention logit softcapping is not part of Gemma 3 GGUF")
    if getattr(config, "final_logit_softcapping", None):
        writer.add_final_logit_softcapping(float(config.final_logit_softcapping))
    writer.add_sliding_window(config.sliding_window)
    layer_types = list(getattr(config, "layer_types", None) or [])
    gemma3 = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(config.num_hidden_layers)]
    if layer_types and layer_types != gemma3:
        warnings.append("the layers' sliding/full attention pattern is not Gemma 3's (every 6th full); "
                        "llama.cpp assumes Gemma 3's")
    scalar = getattr(config, "query_pre_attn_scalar", head_dim)
    if scalar != head_dim:
        warnings.append(f"query_pre_attn_scalar {scalar} differs from head_dim {head_dim}: llama.cpp scales "
                        "attention by 1/sqrt(head_dim), so its outputs will differ from transformers'")
    if local != 10_000.0:
        warnings.append(f"sliding-layer rope base {local:g}: transformers' GGUF loader assumes 10000")
    return warnings


def _source_gguf(source) -> Path | None:
    if source.kind not in ("embedded", "gguf"):
        return None
    from intone.train.model import _gguf_file

    return _gguf_file(source)


def _source_general(source) -> list[tuple]:
    """License and tags of the source GGUF, carried over (Gemma's terms travel with the weights)."""
    path = _source_gguf(source)
    if path is None:
        return []
    return [f for f in _read_fields(str(path)) if f[0] in ("general.license", "general.tags")]


@functools.lru_cache(maxsize=1)
def _read_fields(path: str) -> list[tuple]:
    """(key, value, type, item type) of every metadata field. Read once: GGUFReader takes ~25-50 s
    on this CPU to index the 262k-entry vocabulary arrays."""
    import gguf

    reader = gguf.GGUFReader(path)
    out = []
    for key, item in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        vtype = item.types[0]
        sub = item.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        out.append((key, item.contents(), vtype, sub))
    return out


def _tokenizer_fields(source, tokenizer, rows: int) -> tuple[list[tuple], str]:
    """tokenizer.* metadata: the source GGUF's own fields, or built from tokenizer.json."""
    import gguf

    path = _source_gguf(source)
    if path is not None:
        skip = (gguf.Keys.Tokenizer.CHAT_TEMPLATE, gguf.Keys.Tokenizer.EOT_ID)
        fields = [f for f in _read_fields(str(path)) if f[0].startswith("tokenizer.") and f[0] not in skip]
        tokens = next((f[1] for f in fields if f[0] == gguf.Keys.Tokenizer.LIST), [])
        if len(tokens) != rows:
            raise UsageError(f"GGUF export: the source GGUF lists {len(tokens)} tokens, the model has {rows} "
                             "embedding rows")
        return fields, f"the source GGUF ({path.name})"
    return _fields_from_tokenizer_json(tokenizer, rows), "tokenizer.json"


def _fields_from_tokenizer_json(tokenizer, rows: int) -> list[tuple]:
    """A sentencepiece-style ("llama") vocabulary, as llama.cpp and transformers read Gemma's.

    Spaces are spelled U+2581 as in sentencepiece vocabularies: llama.cpp looks a space up as
    U+2581. Scores follow the id order, which is the merge order transformers rebuilds for Gemma.
    Rows the tokenizer has no token for are listed as unused placeholders.
    """
    import gguf
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer.folder / "tokenizer.json"))
    by_id = {i: t for t, i in tok.get_vocab(with_added_tokens=True).items()}
    if by_id and max(by_id) >= rows:
        raise UsageError(f"GGUF export: the tokenizer has token ids up to {max(by_id)}, the model only {rows} rows")
    added = tok.get_added_tokens_decoder()
    kinds = gguf.TokenType
    tokens, types = [], []
    for i in range(rows):
        text = by_id.get(i)
        if text is None:
            tokens.append(f"[PAD{i}]")
            types.append(kinds.UNUSED)
        elif i in added:
            tokens.append(text)
            types.append(kinds.CONTROL if added[i].special else kinds.USER_DEFINED)
        elif len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            tokens.append(text)
            types.append(kinds.BYTE)
        else:
            tokens.append(text.replace(" ", SPIECE_SPACE))
            types.append(kinds.NORMAL)
    value = gguf.GGUFValueType
    key = gguf.Keys.Tokenizer
    fields = [
        (key.MODEL, "llama", value.STRING, None),
        (key.PRE, "default", value.STRING, None),
        (key.LIST, tokens, value.ARRAY, value.STRING),
        (key.SCORES, [-float(i) for i in range(rows)], value.ARRAY, value.FLOAT32),
        (key.TOKEN_TYPE, [int(t) for t in types], value.ARRAY, value.INT32),
    ]
    for gguf_key, special in ((key.BOS_ID, "bos_token"), (key.EOS_ID, "eos_token"), (key.UNK_ID, "unk_token"),
                              (key.PAD_ID, "pad_token")):
        token = tokenizer.token_id(tokenizer.special.get(special, "")) if tokenizer.special.get(special) else None
        if token is not None:
            fields.append((gguf_key, token, value.UINT32, None))
    add_bos = tokenizer.config.get("add_bos_token", tokenizer.token_id(BOS) is not None)
    fields += [
        (key.ADD_BOS, bool(add_bos), value.BOOL, None),
        (key.ADD_EOS, bool(tokenizer.config.get("add_eos_token", False)), value.BOOL, None),
        (key.ADD_PREFIX, False, value.BOOL, None),
    ]
    return fields


# ---------------------------------------------------------------------------- round trip


def load_gguf_model(path: Path):
    """The GGUF read back by transformers (the loader intone uses for the embedded model), in float32."""
    import torch
    from transformers import AutoModelForCausalLM

    from intone.train.model import quiet_libraries

    quiet_libraries()
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    return model.eval()


def greedy_tokens(model, prompt: list[int], n: int) -> list[int]:
    """`n` greedy tokens after `prompt`, never stopping early (KV cache, one token a step)."""
    import torch

    tokens: list[int] = []
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt]), use_cache=True)
        for _ in range(n):
            tokens.append(int(out.logits[0, -1].argmax()))
            if len(tokens) < n:
                out = model(input_ids=torch.tensor([tokens[-1:]]), past_key_values=out.past_key_values, use_cache=True)
    return tokens


def position_logits(model, ids: list[int]):
    """The next-token logits at every position of `ids` (one forward pass), float32 [len, vocab]."""
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].float()


def top1_matches(model, prompt: list[int], reference: list[int]) -> list[bool]:
    """At each position of `reference` (a continuation of `prompt`), whether `model`'s top-1 token,
    given the reference's prefix, is the reference token."""
    best = position_logits(model, prompt + reference[:-1])[len(prompt) - 1 :].argmax(dim=-1).tolist()
    return [a == b for a, b in zip(best, reference, strict=True)]
