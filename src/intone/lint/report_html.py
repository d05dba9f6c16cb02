"""The self-contained HTML report of `intone stats --html`: matplotlib plots (Agg backend)
embedded as base64 PNG, plus the tables. No external files, scripts or fonts."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from intone.lint.summary import phrase_share, shown

_CSS = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right} img{max-width:100%} .muted{color:#777} code{background:#f4f4f4;padding:0 .2em}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _hist_figure(block: dict[str, Any], title: str, xlabel: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.6))
    bins = block["histogram"]
    ax.bar(
        [b["lo"] for b in bins],
        [b["count"] for b in bins],
        width=[b["hi"] - b["lo"] + 1 for b in bins],
        align="edge",
        color="#4c78a8",
        edgecolor="white",
    )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    return fig


def _by_tag_figure(by_tag: dict[str, dict[str, Any]]):
    import matplotlib.pyplot as plt

    tags = list(by_tag)
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(tags) + 1))
    med = [by_tag[t]["median"] or 0 for t in tags]
    lo = [by_tag[t]["min"] or 0 for t in tags]
    hi = [by_tag[t]["max"] or 0 for t in tags]
    ax.barh(tags, med, color="#72b7b2")
    ax.hlines(tags, lo, hi, color="#333", linewidth=1)
    ax.set_xlabel("answer words (bar: median, line: min–max)")
    ax.set_title("Answer length by prompt type")
    return fig


def _rows(rows: list[list[Any]], head: list[str]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = "".join(
            f"<td class='n'>{html.escape(str(v))}</td>"
            if isinstance(v, (int, float))
            else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(data: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    c, t = data["counts"], data["tokens"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>intone stats: {html.escape(data['path'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>intone stats: <code>{html.escape(data['path'])}</code></h1>",
        "<h2>Counts</h2>",
        _rows(
            [
                ["records", c["records"]],
                ["invalid lines", c["invalid_lines"]],
                ["single-turn / multi-turn", f"{c['single_turn']} / {c['multi_turn']}"],
                ["with a system message", c["with_system"]],
                ["user / assistant turns", f"{c['user_turns']} / {c['assistant_turns']}"],
                [f"tokens in all ({data['tokenizer']})", t["total"]],
                ["tokens in answers", t["answers"]],
            ],
            ["", "value"],
        ),
    ]
    for key, title, xlabel in (
        ("answer_words", "Answer length", "words"),
        ("answer_tokens", "Answer length", "tokens"),
        ("prompt_words", "Prompt length", "words"),
    ):
        block = data[key]
        if block["count"]:
            parts.append(f"<h2>{title} ({xlabel})</h2>")
            parts.append(
                f"<p>median {block['median']}, mean {block['mean']}, range {block['min']}–{block['max']}, "
                f"CV {shown(block['cv'])}</p>"
            )
            parts.append(f"<img alt='{title} histogram' src='{_png(_hist_figure(block, title, xlabel))}'>")
    if data["answer_words_by_tag"]:
        parts.append("<h2>Answer length by prompt type (tag)</h2>")
        parts.append(
            f"<img alt='answer length by tag' src='{_png(_by_tag_figure(data['answer_words_by_tag']))}'>"
        )
        parts.append(
            _rows(
                [
                    [tag, s["count"], shown(s["median"], "no answers"), shown(s["min"], ""), shown(s["max"], "")]
                    for tag, s in data["answer_words_by_tag"].items()
                ],
                ["tag", "answers", "median words", "min", "max"],
            )
        )
    for key, title in (("openers", "Top openers"), ("closers", "Top closers")):
        parts.append(f"<h2>{title}</h2>")
        parts.append(
            _rows(
                [[r["phrase"], r["answers"], f"{100 * r['share']:.0f}%"] for r in data[key]],
                ["phrase", "answers", "share"],
            )
        )
    parts.append("<h2>Markers</h2>")
    if data["markers"]:
        parts.append(
            _rows(
                [
                    [
                        m["phrase"],
                        m["answers"],
                        f"{100 * m['share']:.1f}%",
                        f"{100 * m['target'][0]:.0f}%–{100 * m['target'][1]:.0f}%" if m["target"] else "",
                    ]
                    for m in data["markers"]
                ],
                ["marker", "answers", "share", "target"],
            )
        )
    else:
        parts.append(
            "<p class='muted'>No markers declared in <code>[tool.intone.persona] markers</code>.</p>"
        )
    if data["frequent_phrases"]:
        parts.append("<p>Phrases in over 10% of answers:</p><ul>")
        parts.extend(f"<li>{html.escape(phrase_share(m))}</li>" for m in data["frequent_phrases"])
        parts.append("</ul>")
    parts.append(f"<h2>Style outliers ({len(data['style_outliers'])})</h2>")
    if data["style_outliers"]:
        parts.append(
            _rows([[r["line"], r["message"]] for r in data["style_outliers"]], ["line", "how it differs"])
        )
    if data["style_drift"]:
        parts.append(f"<p><b>Drift along file order:</b> {html.escape(data['style_drift'])}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(data: dict[str, Any], target: Path) -> None:
    """Render and write atomically-enough: a temp file beside the target, then rename."""
    text = render_html(data)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(target)
