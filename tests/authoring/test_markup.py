"""Dataset text is shown as written: never read as Textual (or Rich) markup, never a crash.

Escaping for Rich's parser does not protect against Textual's: a schema error's excerpt such as
`["a fairly long...` once crashed the app with MarkupError. Every path that draws dataset text
is fed hostile strings here, through the same `visualize` call that `Static.update` makes.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual.visual import visualize

from intone.authoring.app import make_app
from intone.authoring.model import Row
from intone.authoring.panel_view import Band, Histogram, PanelView
from intone.authoring.screens.dialogs import Choice, help_text
from intone.authoring.widgets.conversation import ConversationEditor
from intone.authoring.widgets.lint_panel import LintPanel
from intone.authoring.widgets.plain import shown
from intone.authoring.widgets.status_bar import StatusBar, status_text
from intone.lint.diagnostic import Diagnostic
from intone.schemas.problems import ReadProblem

PIECES = st.sampled_from(
    [
        "[/]",
        "[b]",
        "[/b]",
        '["',
        '[{"',
        "[@click=app.quit]",
        "[@click=app.bell]x[/]",
        "[link=x]",
        "[red",
        "]",
        "[",
        "\\",
        "\\[b]",
        "[b]\\",
        "$foo",
        "${x}",
        "\x1b[31m",
        "\x00",
        "\x07",
        "\r",
        "\t",
        "\n",
        "\x7f",
        "\x85",
        "🦔",
        "👩‍👩‍👧",
        "é",
        "字",
        "[on red]",
        "[dim italic]",
        "[/dim]",
    ]
)
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=8)), min_size=1, max_size=6).map("".join)


WIDGET = SimpleNamespace(app=SimpleNamespace(console=Console()))
"""Stands in for a mounted widget: `visualize` only needs its app's console."""


def drawn(content) -> str:
    """What a Static shows for `content` (the call `Static.update` makes, markup on)."""
    return visualize(WIDGET, content).plain  # type: ignore[arg-type, union-attr]


async def settle(pilot, limit_s: float = 15.0) -> None:
    """Wait for the background work; a crashed app never finishes it, so give up after a while."""
    deadline = time.monotonic() + limit_s
    while pilot.app.editor_screen.busy:
        assert pilot.app.is_running, "the app stopped: it crashed"
        assert time.monotonic() < deadline, "the app did not finish loading"
        await pilot.pause(0.02)
    await pilot.pause()


def diagnostic(text: str, severity: str = "error") -> Diagnostic:
    return Diagnostic("f.jsonl", 1, 1, "IN200", text, severity, text, fix=text)  # type: ignore[arg-type]


def view(diags: list[Diagnostic]) -> PanelView:
    return PanelView(
        diagnostics=diags,
        answer_words=3,
        answer_tokens=None,
        word_band=Band(1, 2, 3, 3),
        token_band=None,
        histogram=Histogram(list(range(0, 36, 4)), [1] * 8, 0),
        dataset_diagnostics=diags,
    )


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_panel_status_dialogs_and_titles_show_hostile_text_verbatim(text: str) -> None:
    expected = shown(text)
    one_line = shown(text, one_line=True)
    assert expected in drawn(LintPanel._diagnostics(view([diagnostic(text)])))
    status = drawn(status_text(text, new_file=False, dirty=True, errors=1, warnings=0, note=text))
    assert status.count(one_line) >= 2
    assert expected in drawn(help_text([(text, text, text)]))
    row = Row(data={"id": text, "tags": [text], "messages": []})
    assert one_line in drawn(ConversationEditor._title(row, 0, 1))
    broken = Row(data=None, clean_bytes=text.encode("utf-8", "surrogatepass"))
    broken.problems = [ReadProblem(text, text)]
    assert expected in drawn(ConversationEditor._broken_text(broken))


def test_control_characters_are_escaped_and_long_text_is_cut() -> None:
    assert shown("a\x1b[31mb\x00") == "a\\x1b[31mb\\x00"
    assert shown("x" * 5000, 10) == "x" * 10 + "… (+4,990 characters)"
    assert shown("a\nb\tc") == "a\nb\tc"
    assert shown("a\nb\tc", one_line=True) == "a\\nb\\tc"
    assert shown("name\udcff.jsonl") == "name\ufffd.jsonl"


CONTENT_PARTS = {
    "messages": [
        {"role": "user", "content": ["a fairly long piece of text that gets truncated"]},
        {"role": "assistant", "content": "ok"},
    ]
}
MULTIMODAL = {
    "messages": [
        {
            "role": "user",
            "content": [{"type": "text", "text": "a fairly long piece of text that gets truncated"}],
        },
        {"role": "assistant", "content": "ok"},
    ]
}


@pytest.mark.asyncio
@pytest.mark.parametrize("record", [CONTENT_PARTS, MULTIMODAL], ids=["content-parts", "multimodal"])
async def test_content_parts_files_open_without_crashing(tmp_path: Path, record: dict) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.editor_screen
        await settle(pilot)
        assert screen.dataset.rows[0].broken
        panel = str(screen.panel.query_one("#diagnostics").render())
        assert "expected a string, got array [" in panel
        assert app.return_code is None  # still running: nothing crashed it


async def _open_and_browse(path: Path, texts: list[str]) -> None:
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.editor_screen
        await settle(pilot)
        for index in range(len(screen.dataset.rows)):
            screen.select(index)
            await pilot.pause()
            assert app.is_running, "the app stopped: it crashed"
            line = screen.examples.render_line(index - int(screen.examples.scroll_y)).text
            assert str(index + 1) in line
        assert shown(path.name, one_line=True) in str(screen.query_one(StatusBar).render())
        app.push_screen(Choice(texts[0], texts[-1], [("ok", texts[0][:20] or "ok")]))
        await pilot.pause()
        assert shown(texts[-1]) in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.return_code is None


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(HOSTILE, min_size=2, max_size=4))
def test_the_app_shows_hostile_records_file_names_and_broken_lines(tmp_path: Path, texts: list[str]) -> None:
    path = tmp_path / "[b]data[@click=app.quit]x\\[i].jsonl"
    lines = [
        json.dumps(
            {
                "id": t,
                "tags": [t],
                "messages": [{"role": "user", "content": t}, {"role": "assistant", "content": t}],
            }
        )
        for t in texts
    ]
    lines += [
        json.dumps({"messages": [{"role": "user", "content": [t]}, {"role": "assistant", "content": "ok"}]})
        for t in texts
    ]
    lines.append("[/] not json " + texts[0].replace("\n", " "))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    asyncio.run(_open_and_browse(path, texts))
