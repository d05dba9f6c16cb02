"""`intone probe --html`: one self-contained page. Length histograms (training against each
setting's replies), stop and loop rates per setting, the settings table with verdicts, and
each prompt's replies side by side (reference, tuned, base, compare) with their flags. The
pictures are matplotlib PNGs inlined as data: URIs; no scripts, fonts or external files."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

from intone.lint.text import percent, word_count

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd} h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .6em;border-bottom:1px solid #eee;
text-align:left;vertical-align:top} td.n{text-align:right;white-space:nowrap} img{max-width:100%}
.muted{color:#777} .best{background:#eef7ee} .grid{display:grid;gap:.6em} td:first-child{white-space:nowrap}
.reply{border:1px solid #ddd;border-radius:4px;padding:.4em .6em;margin:.3em 0;white-space:pre-wrap;font-size:.92em}
.ref{background:#f7f7fb} .flag{display:inline-block;font-size:.75em;padding:0 .4em;margin:.15em .2em 0 0;
border-radius:3px;background:#fde2e1;color:#8a1c13;white-space:nowrap} .ok{background:#e3f4e1;color:#235c1d}
.meta{font-size:.75em;color:#666;margin-top:.2em} details{margin:.6em 0} summary{cursor:pointer;font-weight:600}
"""
_COLORS = {"tuned": "#4c78a8", "base": "#e45756", "compare": "#54a24b"}


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _length_figure(training: list[int], entry: dict[str, Any], records: list[dict[str, Any]], band):
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.2, 2.4))
    series = {s: [r["words"] for r in records if r["setting_id"] == entry["setting_id"] and r["source"] == s]
              for s in ("tuned", "base", "compare")}
    top = max([*training, *(n for v in series.values() for n in v), 1])
    bins = np.linspace(0, top + 1, 25)
    ax.hist(training, bins=bins, density=True, color="#bbbbbb", label="training answers")
    for source, lengths in series.items():
        if lengths:
            ax.hist(lengths, bins=bins, density=True, histtype="step", linewidth=2, color=_COLORS[source],
                    label=f"{source} replies")
    if band:
        ax.axvspan(band[0], band[1], color="#4c78a8", alpha=0.08)
    ax.set_title(entry["setting_id"] + (" (best)" if entry["best"] else ""), fontsize=10)
    ax.set_xlabel("words")
    ax.set_yticks([])
    ax.legend(fontsize=7, frameon=False)
    return fig


def _rates_figure(summary: dict[str, Any]):
    import matplotlib.pyplot as plt
    import numpy as np

    entries = summary["settings"]
    sources = [s for s in ("tuned", "base", "compare") if any(s in e["by_source"] for e in entries)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(entries) * len(sources) + 1.2), sharey=True)
    y = np.arange(len(entries))
    height = 0.8 / len(sources)
    for ax, key, title in ((axes[0], "stop_rate", "stopped at end of turn"), (axes[1], "loop_rate", "looping")):
        for k, source in enumerate(sources):
            values = [(e["by_source"].get(source) or {}).get(key) or 0 for e in entries]
            ax.barh(y + k * height, values, height=height, color=_COLORS[source], label=source)
        ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=10)
        ax.xaxis.set_major_formatter(lambda v, _p: f"{100 * v:.0f}%")
    axes[0].set_yticks(y + height * (len(sources) - 1) / 2, [e["setting_id"] for e in entries])
    axes[0].invert_yaxis()
    axes[1].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _e(text: Any) -> str:
    return html.escape(str(text))


def _pct(x) -> str:
    return percent(x, missing="–")


def _num(x, fmt=".2f") -> str:
    return "–" if x is None else format(x, fmt)


def _flags(r: dict[str, Any], cuts: dict[str, Any]) -> list[tuple[str, bool]]:
    flags = [("stopped", True) if r["stopped"] else (f"cut at {r['tokens']} tokens", False)]
    if r["loop_share"] >= cuts["loop_share"]:
        flags.append((f"loop {r['loop_share']:.0%}", False))
    if r["copy"]["line"] is not None:
        flags.append((f"copies line {r['copy']['line']} ({r['copy']['overlap']:.0%})", False))
    if r["voice_distance"] is not None:
        flags.append((f"voice {r['voice_distance']:.1f}", cuts["voice_flag"] is not None and r["voice_distance"] <= cuts["voice_flag"]))
    for f in r["findings"]:
        flags.append((f"{f['name']}: {f['message']}", False))
    if r["expect"]["passed"] is not None:
        flags.append(("expect met", True) if r["expect"]["passed"] else ("expect: " + "; ".join(r["expect"]["failed"]),
                                                                        False))
    return flags


def _reply_html(r: dict[str, Any], cuts: dict[str, Any]) -> str:
    badges = "".join(f"<span class='flag{' ok' if ok else ''}'>{_e(text)}</span>" for text, ok in _flags(r, cuts))
    meta = f"{r['words']} words · {r['tokens']} tokens · sample {r['sample']} · seed {r['seed']}"
    return f"<div class='reply'>{_e(r['reply']) or '<i>(empty)</i>'}</div>{badges}<div class='meta'>{meta}</div>"


def _settings_table(summary: dict[str, Any]) -> str:
    head = ["setting", "source", "stop", "loop", "copy", "in band", "KS", "len r", "voice", "gap closed",
            "expect", "flagged", "verdict"]
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for e in summary["settings"]:
        for source, f in e["by_source"].items():
            verdict = e["verdict"] if source == "tuned" else e.get("compare_verdict", "") if source == "compare" else ""
            cells = [_pct(f["stop_rate"]), _pct(f["loop_rate"]), _pct(f["copy_rate"]), _pct(f["band_share"]),
                     _num(f["ks"]), _num(f["length_corr"]["pearson"]), _num(f["median_voice_distance"], ".1f"),
                     _pct(f["gap_closed"]), _pct(f["expect_pass_rate"]), _pct(f["flagged_rate"])]
            cls = " class='best'" if e["best"] and source == "tuned" else ""
            name = _e(e["setting_id"]) + (" ★" if e["best"] and source == "tuned" else "")
            out.append(f"<tr{cls}><td>{name}</td><td>{source}</td>" + "".join(f"<td class='n'>{c}</td>" for c in cells)
                       + f"<td>{_e(verdict)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def render(records: list[dict[str, Any]], summary: dict[str, Any], training_lengths: list[int]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    t = summary["training"]
    band = (t["words_p10"], t["words_p90"]) if t.get("words_p10") is not None else None
    cuts = summary["thresholds"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>intone probe</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>intone probe: {_e(summary['run'])}</h1>",
        (f"<p class='muted'>{summary['prompts']['count']} prompts ({_e(summary['prompts']['source'])}), "
        f"{len(summary['settings'])} setting(s), {summary['samples']} sample(s), seed {summary['seed']}, "
        f"{summary['replies']} replies in {summary.get('seconds', 0):.0f} s. Training: {t['answers']} answers, "
        f"band {_num(band[0] if band else None, '.0f')}–{_num(band[1] if band else None, '.0f')} words, "
        f"own voice distance {_num(t.get('voice_median'), '.1f')}.</p>"),
        f"<p><b>Best: {_e(summary['best']['setting_id'])}</b>, {_e(summary['best']['why'])}</p>",
        "<h2>Settings</h2>", _settings_table(summary),
        "<h2>Stop and loop rates</h2>", f"<img alt='stop and loop rates' src='{_png(_rates_figure(summary))}'>",
        ("<h2>Reply lengths against the training answers</h2><div class='grid' "
        "style='grid-template-columns:repeat(auto-fill,minmax(480px,1fr))'>"),
    ]
    for e in summary["settings"]:
        parts.append(f"<img alt='lengths {_e(e['setting_id'])}' "
                     f"src='{_png(_length_figure(training_lengths, e, records, band))}'>")
    parts.append("</div><h2>Replies by prompt</h2>")
    sources = [s for s in ("tuned", "base", "compare") if any(r["source"] == s for r in records)]
    by_prompt: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_prompt.setdefault(r["prompt_index"], []).append(r)
    for index in sorted(by_prompt):
        group = by_prompt[index]
        first = group[0]
        user = next((m["content"] for m in reversed(first["messages"]) if m["role"] == "user"), "")
        parts.append(f"<details{' open' if index < 3 else ''}><summary>{_e(user[:120])}</summary>"
                     f"<div class='meta'>{_e(first['where'])}</div>")
        if first["reference"] is not None:
            parts.append(f"<div class='reply ref'><b>reference</b> ({word_count(first['reference'])} words)\n"
                         f"{_e(first['reference'])}</div>")
        cols = f"grid-template-columns:10em repeat({len(sources)},1fr)"
        parts.append(f"<div class='grid' style='{cols}'><b></b>" + "".join(f"<b>{s}</b>" for s in sources))
        for e in summary["settings"]:
            parts.append(f"<div>{_e(e['setting_id'])}{' ★' if e['best'] else ''}</div>")
            for source in sources:
                cell = [r for r in group if r["setting_id"] == e["setting_id"] and r["source"] == source]
                parts.append("<div>" + "".join(_reply_html(r, cuts) for r in cell) + "</div>")
        parts.append("</div></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: Path, records: list[dict[str, Any]], summary: dict[str, Any], training_lengths: list[int]
                 ) -> None:
    """Write the page atomically (a temporary file renamed into place)."""
    text = render(records, summary, training_lengths)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
