"""`intone export-model --format onnx`: a folder that transformers.js loads, and a chat page.

The folder is the merged model (config, generation config, tokenizer files) plus `onnx/`:

- `model.onnx`: fp32, with past key values (`past_key_values.N.key/value` in,
  `present.N.key/value` out, transformers.js's names), the reference the tests check
  token for token against PyTorch;
- `model_q4.onnx`: asymmetric 4-bit blocks (onnxruntime's MatMulNBits) for every MatMul, the tied
  LM head included, and the embedding reads its rows from the head's 4-bit table, so the
  262k-row matrix is stored once, at 4 bits: 173 MB for the 270M, where the founding project's
  q4 build was 764 MB because its embedding stayed fp32. `chat.html?dtype=q4` loads it; by
  default the page loads fp32, which runs several times faster on wasm (see PAGE_DTYPE).

Why not optimum-onnx: its only release (0.1.0) registers gemma3_text for
text-generation-with-past but pins transformers<4.58 and fails to import on transformers 5
(`get_parameter_dtype` is gone). The graph here is traced by torch.onnx with a full-attention
DynamicCache built from the flat inputs, so every layer's cache grows and a sliding layer's
window is applied by the mask, which is what transformers.js feeds back step by step.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from intone.errors import UsageError
from intone.train.onnx_q4 import Q4_BLOCK, quantize_q4, share_lm_head

INSTALL_HINT = "pip install 'intone[web]'"
WEB_PACKAGES = ("onnx", "onnxruntime", "onnx_ir")
MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "chat_template.jinja", "tokenizer.model")
FP32, Q8, Q4 = "fp32", "q8", "q4"
# transformers.js's file names for its dtypes
VARIANT_FILES = {FP32: "onnx/model.onnx", Q8: "onnx/model_quantized.onnx", Q4: "onnx/model_q4.onnx"}
# The page's default. onnxruntime-web's wasm build has no fast kernel for 4-bit (MatMulNBits) or 8-bit
# matmuls: on the 270M, q4 made 0.5 tokens/s where fp32 made 3.1 (bench/browser_chat.py, 2 shared
# cores; an 8-bit quantize_dynamic build made 0.7 against fp32's 2.4 in a busier run). The page is
# served from this machine, so the bigger download costs little; `chat.html?dtype=q4` loads the
# small file (for hosting it, or WebGPU).
PAGE_DTYPE = FP32
OPSET = 18

Progress = Callable[[str], None] | None


def require_web_extra() -> None:
    missing = [name for name in WEB_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"--format onnx needs {', '.join(missing)} (the web extra): {INSTALL_HINT}")


def export_onnx(merged_dir: Path, out: Path, *, force: bool = False, progress: Progress = None,
                variants: Sequence[str] = (FP32, Q4)) -> dict[str, Any]:
    """Write the transformers.js folder for the merged weights in `merged_dir` to `out`, atomically.

    Returns what was written: `path`, `files` (relative path -> bytes), `total_bytes`, per variant
    its file, bytes and `made_of` (bytes by part: embedding, lm_head, layers, other), the variant
    the page loads, the page's serve command, and `warnings` (e.g. no local transformers.js).
    """
    require_web_extra()
    merged_dir, out = Path(merged_dir), Path(out)
    unknown = [v for v in variants if v not in (FP32, Q4)]
    if unknown or not variants:
        raise UsageError(f"ONNX variants: {unknown[0] if unknown else 'none'!r}; choose from {FP32}, {Q4}")
    if not (merged_dir / "config.json").is_file():
        raise UsageError(f"{merged_dir}: no config.json; pass a merged model folder (intone merge writes one)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file; name a folder for the ONNX export")
    if out.exists() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out}: exists and is not empty; choose another or pass --force")
    say = progress or (lambda _message: None)

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        result = _write(merged_dir, tmp, variants, say)
        _replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result["path"] = str(out)
    result["serve"] = f"python -m http.server --bind 127.0.0.1 --directory {out} 8000"
    result["url"] = "http://127.0.0.1:8000/chat.html"
    return result


def describe(result: dict[str, Any]) -> list[str]:
    """export_onnx's result as lines for a person: sizes, what they are made of, how to open the page."""
    mb = 1e6
    lines = [f"wrote {result['path']} ({result['total_bytes'] / mb:.0f} MB in {len(result['files'])} files)"]
    for name, variant in result["variants"].items():
        parts = ", ".join(f"{part} {size / mb:.0f} MB" for part, size in variant["made_of"].items())
        lines.append(f"  {variant['file']}: {variant['bytes'] / mb:.0f} MB ({name}: {parts})")
    if result.get("q4_embedding"):
        lines.append(f"  q4 embedding: {result['q4_embedding']}")
    lines.append(f"  chat.html loads {result['page_loads']}: the browser downloads "
                 f"{result['page_download_bytes'] / mb:.0f} MB (model, tokenizer, transformers.js and its wasm)")
    lines.append(f"  open it: {result['serve']}  then  {result['url']}")
    lines += [f"  warning: {w}" for w in result["warnings"]]
    return lines


def _write(merged_dir: Path, folder: Path, variants: Sequence[str], say: Callable[[str], None]) -> dict[str, Any]:
    from intone.train import chat_page

    (folder / "onnx").mkdir(parents=True)
    for name in MODEL_FILES:
        if (merged_dir / name).is_file():
            shutil.copy2(merged_dir / name, folder / name)
    end_of_turn = _fix_generation_config(folder)

    fp32 = folder / VARIANT_FILES[FP32]
    say(f"tracing {merged_dir} to ONNX (fp32, with past key values)")
    export_fp32(merged_dir, fp32)
    embedding_q4 = None
    if Q4 in variants:
        say(f"quantizing to 4-bit blocks of {Q4_BLOCK} (every MatMul; the embedding shares the LM head's)")
        embedding_q4 = quantize_q4(fp32, folder / VARIANT_FILES[Q4])
    made_of = {v: size_breakdown(folder / VARIANT_FILES[v]) for v in VARIANT_FILES if (folder / VARIANT_FILES[v]).exists()}
    if FP32 in variants:
        share_lm_head(fp32)  # after quantizing: MatMulNBits needs the head as its own initializer
        made_of[FP32] = size_breakdown(fp32)
    else:
        fp32.unlink()

    page_dtype = PAGE_DTYPE if PAGE_DTYPE in variants else variants[0]
    say("writing the chat page and its local transformers.js")
    warnings = []
    runtime = chat_page.copy_web_runtime(folder / "web")
    if runtime is None:
        warnings.append(f"no local transformers.js found: the page needs {chat_page.WEB_DIR}/ beside it; "
                        f"run `{chat_page.NPM_INSTALL}` (or set {chat_page.NODE_MODULES_ENV} to a node_modules "
                        "folder that has @huggingface/transformers) and export again")
    chat_page.write_chat_page(folder, dtype=page_dtype, available=list(variants), end_of_turn_id=end_of_turn)
    template_note = chat_page.template_mismatch(merged_dir)
    if template_note:
        warnings.append(template_note)

    files = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    page_files = [f for f in files if not f.startswith("onnx/") or f == VARIANT_FILES[page_dtype]]
    return {
        "format": "onnx",
        "files": files,
        "total_bytes": sum(files.values()),
        "variants": {v: {"file": VARIANT_FILES[v], "bytes": files[VARIANT_FILES[v]], "made_of": made_of[v]}
                     for v in variants},
        "page": "chat.html",
        "page_loads": page_dtype,  # chat.html?dtype=NAME loads another variant
        "page_download_bytes": sum(files[f] for f in page_files),
        "q4_embedding": embedding_q4,
        "web_runtime": runtime,
        "end_of_turn_id": end_of_turn,
        "warnings": warnings,
    }


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished `tmp` to `out`; an existing `out` (with --force) is set aside first, then removed."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fix_generation_config(folder: Path) -> int:
    """The end-of-turn id, made one of generation_config.json's eos ids so a generate() stops there."""
    from intone.train.template import END, TextTokenizer

    end_of_turn = TextTokenizer(folder).token_id(END)
    if end_of_turn is None:
        raise UsageError(f"the tokenizer has no {END} token: the ONNX export targets Gemma's turn format")
    path = folder / "generation_config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    eos = config.get("eos_token_id")
    eos = [] if eos is None else eos if isinstance(eos, list) else [eos]
    if end_of_turn not in eos:
        config["eos_token_id"] = [*eos, end_of_turn]
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return end_of_turn


def io_names(num_layers: int) -> tuple[list[str], list[str]]:
    past = [f"past_key_values.{i}.{kv}" for i in range(num_layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(num_layers) for kv in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids", *past], ["logits", *present]


def export_fp32(merged_dir: Path, path: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModelForCausalLM
    from transformers.cache_utils import DynamicCache

    from intone.train.model import quiet_libraries

    quiet_libraries()
    model = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    config = model.config
    layers, heads, head_dim = config.num_hidden_layers, config.num_key_value_heads, config.head_dim

    class WithFlatCache(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, position_ids, *past):
            cache = DynamicCache(ddp_cache_data=[(past[2 * i], past[2 * i + 1]) for i in range(layers)])
            output = self.inner(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                past_key_values=cache, use_cache=True)
            present = [t for layer in output.past_key_values.layers for t in (layer.keys, layer.values)]
            return (output.logits, *present)

    # Traced with a non-empty past and several new tokens, so neither length is baked in.
    past_length, new_length = 3, 2
    sample = (
        torch.full((1, new_length), config.bos_token_id or 0, dtype=torch.long),
        torch.ones(1, past_length + new_length, dtype=torch.long),
        torch.arange(past_length, past_length + new_length)[None],
        *[torch.zeros(1, heads, past_length, head_dim) for _ in range(2 * layers)],
    )
    inputs, outputs = io_names(layers)
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    axes |= {name: {0: "batch_size", 2: "past_sequence_length"} for name in inputs[3:]}
    axes |= {name: {0: "batch_size", 2: "total_sequence_length"} for name in outputs[1:]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(WithFlatCache(model), sample, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def size_breakdown(path: Path) -> dict[str, int]:
    """Bytes of the stored weights by part: `embedding` (the Gather's table), `lm_head` (the
    vocabulary-wide matmul), `embedding_and_lm_head` (one table both read), `layers` (attention and
    MLP matmuls) and `other` (norms, scales, constants)."""
    import numpy as np
    import onnx
    from onnx import helper

    graph = onnx.load(str(path)).graph
    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    vocab = next((t.dims[0] for t in graph.initializer if "Gather" in consumers.get(t.name, ()) and len(t.dims) >= 2),
                 None)
    # A head's scales are read by MatMulNBits; the packed bytes and scales count with the head.
    parts = {"embedding": 0, "lm_head": 0, "embedding_and_lm_head": 0, "layers": 0, "other": 0}
    for tensor in graph.initializer:
        size = int(np.prod(tensor.dims, dtype=np.int64)) * np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
        if tensor.data_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4):
            size //= 2
        ops = consumers.get(tensor.name, set())
        matmul = bool(ops & {"MatMul", "MatMulNBits", "Transpose"}) and len(tensor.dims) >= 2
        vocab_wide = vocab is not None and len(tensor.dims) >= 2 and vocab in (tensor.dims[0], tensor.dims[-1])
        if "Gather" in ops and matmul:
            parts["embedding_and_lm_head"] += size
        elif "Gather" in ops and len(tensor.dims) >= 2:
            parts["embedding"] += size
        elif matmul and vocab_wide:
            parts["lm_head"] += size
        elif matmul:
            parts["layers"] += size
        else:
            parts["other"] += size
    return {name: size for name, size in parts.items() if size}


def greedy_tokens(folder: Path, prompt_ids: Sequence[int], max_new_tokens: int, *, variant: str = FP32) -> list[int]:
    """Greedy decoding under onnxruntime with past key values, as transformers.js runs the graph."""
    import numpy as np
    import onnxruntime

    config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(str(Path(folder) / VARIANT_FILES[variant]),
                                           providers=["CPUExecutionProvider"])
    inputs, _outputs = io_names(config["num_hidden_layers"])
    shape = (1, config["num_key_value_heads"], 0, config["head_dim"])
    past = {name: np.zeros(shape, dtype=np.float32) for name in inputs[3:]}
    ids = np.array([list(prompt_ids)], dtype=np.int64)
    seen, tokens = 0, []
    for _ in range(max_new_tokens):
        length = ids.shape[1]
        feed = {"input_ids": ids, "attention_mask": np.ones((1, seen + length), dtype=np.int64),
                "position_ids": np.arange(seen, seen + length, dtype=np.int64)[None], **past}
        logits, *present = session.run(None, feed)
        token = int(logits[0, -1].argmax())
        tokens.append(token)
        past = dict(zip(inputs[3:], present))
        seen += length
        ids = np.array([[token]], dtype=np.int64)
    return tokens
