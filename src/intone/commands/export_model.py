"""`intone export-model RUN_DIR --format gguf|onnx --out PATH`: the tuned model for other runtimes.

gguf: one file for llama.cpp, Ollama and LM Studio (f16, bf16 or q8_0) and an Ollama Modelfile
beside it. onnx: a folder for transformers.js in the browser (needs the [web] extra).
Nothing heavy is imported until the command runs; every check that can refuse runs before the
model loads, so bad input exits 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intone.errors import EXIT_OK, UsageError

FORMATS = ("gguf", "onnx")
WEB_EXTRA = "pip install 'intone[web]'"


def register(sub) -> None:
    from intone.train.gguf_export import TYPES

    parser = sub.add_parser(
        "export-model",
        help="export a trained run for llama.cpp/Ollama (GGUF) or the browser (ONNX)",
        description="Merge the run's adapter and write the model as GGUF (llama.cpp, Ollama, LM Studio; an Ollama "
        "Modelfile beside it) or as ONNX for transformers.js.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--format", dest="fmt", required=True, choices=FORMATS, metavar="|".join(FORMATS),
                        help="gguf or onnx")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="gguf: FILE.gguf, or a folder (gets RUN-TYPE.gguf); the Modelfile goes beside it. "
                        "onnx: a folder")
    parser.add_argument("--type", dest="qtype", choices=TYPES, metavar="|".join(TYPES),
                        help="GGUF weight type (default: f16; norms stay f32)")
    parser.add_argument("--probe", metavar="DIR",
                        help="the `intone probe` folder whose best setting the Modelfile samples with "
                        "(default: the newest RUN_DIR/probe*/ folder, else intone sample's defaults)")
    parser.add_argument("--force", action="store_true", help="replace outputs that exist")
    parser.set_defaults(func=cmd_export_model)


def cmd_export_model(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    _check_run(run_dir)
    if args.fmt == "gguf":
        return _gguf(args, run_dir)
    return _onnx(args, run_dir)


def _check_run(run_dir: Path) -> None:
    from intone.train.sample import check_adapter, run_config

    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: no such run folder")
    run_config(run_dir)
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise UsageError(f"{run_dir}: no adapter/ (the run saved no weights); train it, or --resume it")
    check_adapter(adapter)


def _refuse_existing(paths: list[Path], force: bool) -> None:
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise UsageError(f"{names}: already exist(s); choose another --out, or pass --force to replace")


def _merged(run_dir: Path):
    from intone.train.device import DeviceError
    from intone.train.export import merged_weights
    from intone.train.model import ModelError
    from intone.train.sample import load_for_generation

    print(f"export-model: loading {run_dir} and merging its adapter", file=sys.stderr)
    try:
        loaded = load_for_generation(run_dir, None, "cpu", int8=False)
    except (ModelError, DeviceError) as exc:
        raise UsageError(str(exc)) from None
    return merged_weights(loaded), loaded


# ---------------------------------------------------------------------------- gguf


def _gguf(args: argparse.Namespace, run_dir: Path) -> int:
    from intone.schemas.jsonl import write_jsonl_atomic
    from intone.train.gguf_export import export_gguf
    from intone.train.model import resolve_model
    from intone.train.modelfile import choose_sampling, modelfile_text
    from intone.train.sample import run_config

    qtype = args.qtype or "f16"
    out = Path(args.out)
    if out.suffix == ".gguf":
        if out.is_dir():
            raise UsageError(f"--out {out}: is a folder; give FILE.gguf or a folder name without .gguf")
        target = out
    else:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: is a file; give FILE.gguf or a folder")
        target = out / f"{run_dir.resolve().name}-{qtype}.gguf"
    modelfile = target.parent / "Modelfile"
    _refuse_existing([target, modelfile], args.force)
    sampling = choose_sampling(run_dir, Path(args.probe) if args.probe else None)
    source = resolve_model(run_config(run_dir).model)

    merged, loaded = _merged(run_dir)
    print(f"export-model: writing {target} ({qtype})", file=sys.stderr)
    result = export_gguf(merged, loaded.tokenizer, loaded.template, source, target, type_=qtype,
                         name=f"{run_dir.resolve().name} (intone, on {source.display})",
                         sampling=sampling.setting())
    text = modelfile_text(target.name, sampling, run_dir, own_template=loaded.tokenizer.chat_template_source() is not None)
    try:
        write_jsonl_atomic(modelfile, [text.encode("utf-8")])
    except BaseException:
        target.unlink(missing_ok=True)  # the pair is the export: no GGUF without its Modelfile
        raise
    for warning in result.warnings:
        print(f"intone: warning: {warning}", file=sys.stderr)
    kinds = ", ".join(f"{n} {k}" for k, n in result.tensor_types.items())
    print(f"wrote {target}: {result.bytes / 1e6:.1f} MB, {qtype} ({kinds} tensors) in {result.seconds:.1f} s")
    print(f"  tokenizer metadata from {result.tokenizer_from}; chat template: {result.chat_template}; "
          "stop token <end_of_turn>")
    print(f"  {modelfile}: sampling from {sampling.source}")
    print(f"  Ollama:    cd {target.parent} && ollama create {_ollama_name(run_dir)} -f Modelfile && "
          f"ollama run {_ollama_name(run_dir)}")
    print(f"  llama.cpp: llama-cli -m {target} -cnv --jinja --temp {sampling.temperature:g} "
          f"--top-p {sampling.top_p:g} --top-k {sampling.top_k}")
    return EXIT_OK


def _ollama_name(run_dir: Path) -> str:
    import re

    name = re.sub(r"[^a-z0-9._-]+", "-", run_dir.resolve().name.lower()).strip("-._")
    return name or "intone-model"


# ---------------------------------------------------------------------------- onnx


def _onnx(args: argparse.Namespace, run_dir: Path) -> int:
    import tempfile

    if args.qtype:
        raise UsageError(f"--type {args.qtype}: applies to --format gguf only")
    if args.probe:
        raise UsageError("--probe: applies to --format gguf only (the Modelfile's sampling settings)")
    try:
        from intone.train import onnx_export
    except ModuleNotFoundError as exc:
        if exc.name != "intone.train.onnx_export":
            raise
        raise UsageError(f"--format onnx is not available in this install: {WEB_EXTRA}") from None
    onnx_export.require_web_extra()  # before the slow merge: exit 2 with the install command
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file; give a folder for the ONNX model")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise UsageError(f"--out {out}: folder exists and is not empty; choose another, or pass --force to replace")

    from intone.train.export import save_merged

    merged, loaded = _merged(run_dir)
    with tempfile.TemporaryDirectory(prefix="intone-merged-") as tmp:
        save_merged(merged, loaded.tokenizer.folder, Path(tmp))
        del merged, loaded

        def progress(message: str) -> None:
            print(f"export-model: {message}", file=sys.stderr)

        result = onnx_export.export_onnx(Path(tmp), out, force=args.force, progress=progress) or {}
    for line in onnx_export.describe(result):
        print(line)
    return EXIT_OK
