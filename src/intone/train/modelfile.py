"""The Ollama Modelfile written beside an exported GGUF, and the sampling settings it carries.

The sampling settings are the probe's best (`intone probe` writes `RUN_DIR/probe-<time>/summary.json`
with a top-level `"best": {"setting_id", "setting", "why"}`) when there is a probe, and
otherwise `intone sample`'s defaults.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from intone.errors import UsageError

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "repetition_penalty", "min_new_tokens", "max_new_tokens")

# intone's Gemma turn format (template.GemmaTemplate) in Ollama's Go template syntax. A first
# system message goes in front of the first user turn, then a blank line; a later one is a user
# turn. No <bos>: Ollama adds it, as the GGUF's tokenizer.ggml.add_bos_token says. The last
# assistant turn stays open (no <end_of_turn>) so that Ollama can continue it.
GEMMA_GO_TEMPLATE = """\
{{- $system := "" }}{{- $pending := false }}{{- $seenUser := false }}
{{- range $i, $m := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if and (eq $m.Role "system") (not $pending) (not $seenUser) }}{{ $system = $m.Content }}{{ $pending = true }}
{{- else if eq $m.Role "assistant" }}
{{- if $pending }}<start_of_turn>user
{{ $system }}<end_of_turn>
{{ $pending = false }}{{ end }}<start_of_turn>model
{{ $m.Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- else }}
{{- if eq $m.Role "user" }}{{ $seenUser = true }}{{ end }}<start_of_turn>user
{{ if $pending }}{{ $system }}

{{ $pending = false }}{{ end }}{{ $m.Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- end }}
{{- end }}
{{- if $pending }}<start_of_turn>user
{{ $system }}<end_of_turn>
<start_of_turn>model
{{ end }}"""


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    top_k: int
    repetition_penalty: float
    min_new_tokens: int
    max_new_tokens: int
    source: str
    """Where the settings came from, for the Modelfile's comment and the command's output."""

    def setting(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "source"}


def latest_probe(run_dir: Path) -> Path | None:
    """The summary.json of the newest probe inside the run folder: `intone probe` writes to
    RUN_DIR/probe-<time> by default (RUN_DIR/probe too, when named so)."""
    found = [p / "summary.json" for p in run_dir.glob("probe*") if (p / "summary.json").is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def choose_sampling(run_dir: Path, probe: Path | None = None) -> Sampling:
    """The probe's best setting (`probe`, else the newest probe in the run folder), or intone
    sample's defaults."""
    if probe is not None:
        summary = probe / "summary.json" if probe.is_dir() or probe.suffix != ".json" else probe
        if not summary.is_file():
            raise UsageError(f"--probe {probe}: no summary.json there; give the folder `intone probe` wrote")
        return _from_summary(summary)
    summary = latest_probe(run_dir)
    if summary is not None:
        return _from_summary(summary)
    from intone.train.sample import GenerationOptions

    d = GenerationOptions()
    return Sampling(d.temperature, d.top_p, d.top_k, d.repetition_penalty, d.min_new_tokens, d.max_new_tokens,
                    "intone sample's defaults (no probe found)")


def _from_summary(path: Path) -> Sampling:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not readable JSON ({exc}); run `intone probe` again, or pass --probe DIR") from None
    best = data.get("best") if isinstance(data, dict) else None
    setting = best.get("setting") if isinstance(best, dict) else None
    if not isinstance(setting, dict):
        raise UsageError(f'{path}: no "best": {{"setting": {{...}}}}; run `intone probe` again')
    missing = [k for k in SAMPLING_KEYS if k not in setting]
    if missing:
        raise UsageError(f"{path}: best setting lacks {', '.join(missing)}")
    values = {k: setting[k] for k in SAMPLING_KEYS}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise UsageError(f"{path}: best setting {k} is {v!r}, not a number")
    for k in ("top_k", "min_new_tokens", "max_new_tokens"):
        if values[k] != int(values[k]):
            raise UsageError(f"{path}: best setting {k} is {values[k]!r}, not a whole number")
        values[k] = int(values[k])
    if values["temperature"] < 0 or not 0 < values["top_p"] <= 1 or values["top_k"] < 0 \
            or values["repetition_penalty"] <= 0 or values["max_new_tokens"] < 1:
        raise UsageError(f"{path}: best setting out of range: {values}")
    why = best.get("why")
    label = f"probe best setting {best.get('setting_id', '?')} ({path})" + (f": {why}" if isinstance(why, str) else "")
    return Sampling(**values, source=label)


def modelfile_text(gguf_name: str, sampling: Sampling, run_dir: Path, *, own_template: bool = False) -> str:
    """An Ollama Modelfile for `./gguf_name` in Gemma's turn format, stopping at <end_of_turn>."""
    note = ("# The run trained with its tokenizer's own chat template; this TEMPLATE is Gemma's turn format.\n"
            if own_template else "")
    source = " ".join(sampling.source.split())
    return (
        f"# Ollama Modelfile written by `intone export-model {run_dir}`.\n"
        f"#   ollama create NAME -f Modelfile && ollama run NAME\n"
        f"{note}"
        f"FROM ./{gguf_name}\n\n"
        f'TEMPLATE """{GEMMA_GO_TEMPLATE}"""\n\n'
        f'PARAMETER stop "<end_of_turn>"\n'
        f"# Sampling: {source}\n"
        f"PARAMETER temperature {sampling.temperature:g}\n"
        f"PARAMETER top_p {sampling.top_p:g}\n"
        f"PARAMETER top_k {sampling.top_k}\n"
        f"PARAMETER repeat_penalty {sampling.repetition_penalty:g}\n"
        f"PARAMETER num_predict {sampling.max_new_tokens}\n"
        f"# min_new_tokens {sampling.min_new_tokens} has no Ollama parameter.\n"
    )
