"""`intone probe` end to end on a tiny random Gemma3 model, its bad inputs, and its measures."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from intone.cli import main
from tests.train.conftest import build_model, build_tokenizer, persona_records, write_jsonl

pytestmark = pytest.mark.timeout(600)
GRID = ["--grid", "temperature=0.7,1.0", "max-new-tokens=12"]


def eval_records() -> list[dict]:
    answers = ["Well, petal!", "Well, petal: plum and sage and reed, all in a row by the tide!", "Hm."]
    out = []
    for i, answer in enumerate(answers * 2):
        out.append({"messages": [{"role": "user", "content": f"Say something {i}"},
                                 {"role": "assistant", "content": answer}]})
    out[0]["expect"] = {"mention": ["petal"], "words": [1, 30]}
    return out


def train(data: Path, model: Path, out: Path, *extra: str) -> Path:
    code = main(["train", str(data), "--model", str(model), "--out", str(out), "--max-steps", "8", "--lr", "1e-2",
                 "--dtype", "float32", *extra])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("probe")
    data = write_jsonl(folder / "persona.jsonl", persona_records(24))
    evals = write_jsonl(folder / "eval.jsonl", eval_records())
    other_model = folder / "other-model"
    build_model(other_model, build_tokenizer(other_model), seed=1)
    return {
        "folder": folder,
        "run": train(data, tiny_model, folder / "run", "--eval", str(evals)),
        "held": train(data, tiny_model, folder / "held", "--val-fraction", "0.25"),
        "none": train(data, tiny_model, folder / "none", "--val-fraction", "0"),
        "other": train(data, other_model, folder / "other", "--val-fraction", "0"),
    }


def probe(*args: str) -> int:
    return main(["probe", *args, "--device", "cpu"])


def test_probe_end_to_end(runs, tmp_path, capsys):
    out, report = tmp_path / "out", tmp_path / "report.html"
    code = probe(str(runs["run"]), *GRID, "--samples", "2", "--base", "--out", str(out), "--html", str(report))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    records = [json.loads(line) for line in (out / "probe.jsonl").read_text().splitlines()]
    assert len(records) == 6 * 2 * 2 * 2  # prompts x settings x samples x sources
    assert len({r["id"] for r in records}) == len(records)
    first = records[0]
    assert re.fullmatch(r"p0-t0\.7-rp1-min1-max12-tuned-s0", first["id"])
    keys = {"id", "prompt_index", "where", "messages", "reference", "source", "run", "setting_id", "setting",
            "sample", "seed", "reply", "tokens", "words", "stopped", "loop_share", "distinct2", "voice_distance",
            "findings", "copy", "nearest", "expect"}
    assert keys <= set(first)
    assert first["where"].endswith("eval.jsonl:1") and first["reference"] == "Well, petal!"
    assert first["messages"] == [{"role": "user", "content": "Say something 0"}]
    assert set(first["setting"]) == {"temperature", "top_p", "top_k", "repetition_penalty", "min_new_tokens",
                                     "max_new_tokens"}
    assert {r["source"] for r in records} == {"tuned", "base"}
    assert first["expect"]["passed"] is not None and records[1]["expect"]["passed"] is None
    assert all(r["tokens"] <= 12 for r in records)
    # Same prompt, setting and sample: the same seed for tuned and base.
    pairs = {(r["prompt_index"], r["setting_id"], r["sample"]): r["seed"] for r in records if r["source"] == "tuned"}
    assert all(pairs[(r["prompt_index"], r["setting_id"], r["sample"])] == r["seed"] for r in records)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["replies"] == len(records) and summary["prompts"]["count"] == 6
    assert [s["setting_id"] for s in summary["settings"]] == ["t0.7-rp1-min1-max12", "t1-rp1-min1-max12"]
    for entry in summary["settings"]:
        for key in ("stop_rate", "loop_rate", "copy_rate", "band_share", "ks", "length_corr",
                    "median_voice_distance", "gap_closed", "expect_pass_rate", "verdict", "by_source"):
            assert key in entry
        assert set(entry["by_source"]) == {"tuned", "base"}
    assert sum(s["best"] for s in summary["settings"]) == 1
    best = summary["best"]
    assert best["setting_id"] in {s["setting_id"] for s in summary["settings"]} and best["why"]
    assert best["setting"]["max_new_tokens"] == 12

    # The table: one row per setting and source, the best marked, then the verdicts.
    table = captured.out
    assert "stop" in table and "loop" in table and "voice" in table
    marked = [line for line in table.splitlines() if line.startswith("*")]
    assert len(marked) == 2 and best["setting_id"] in marked[0]  # its row and its verdict
    assert "replies" in captured.err and "ETA" in captured.err

    page = report.read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 1 + 2  # rates, and one length histogram per setting
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "Say something 5" in page and "reference" in page and "<script" not in page


def test_same_inputs_same_replies_and_json_format(runs, tmp_path, capsys):
    args = [str(runs["run"]), "--grid", "temperature=0.9", "max-new-tokens=10", "--samples", "2", "--format", "json"]
    assert probe(*args, "--out", str(tmp_path / "a")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["best"]["setting"]["temperature"] == 0.9
    assert probe(*args, "--out", str(tmp_path / "b")) == 0
    a = [json.loads(x)["reply"] for x in (tmp_path / "a" / "probe.jsonl").read_text().splitlines()]
    b = [json.loads(x)["reply"] for x in (tmp_path / "b" / "probe.jsonl").read_text().splitlines()]
    assert a == b


def test_run_dir_may_come_after_the_grid(runs, tmp_path, capsys):
    """--grid takes several values, so argparse gives it a RUN_DIR written after it: still a run."""
    args = ["--grid", "temperature=0.9", "max-new-tokens=5", str(runs["run"]), "--samples", "1"]
    assert probe(*args, "--out", str(tmp_path / "a")) == 0
    replies = [json.loads(x) for x in (tmp_path / "a" / "probe.jsonl").read_text().splitlines()]
    assert replies and all(r["setting"]["max_new_tokens"] == 5 for r in replies)


def test_compare_runs_on_the_same_base(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert probe(str(runs["run"]), "--compare", str(runs["none"]), "--grid", "max-new-tokens=8", "--samples", "1",
                 "--out", str(out)) == 0
    records = [json.loads(x) for x in (out / "probe.jsonl").read_text().splitlines()]
    assert {r["source"] for r in records} == {"tuned", "compare"}
    assert {r["run"] for r in records if r["source"] == "compare"} == {str(runs["none"])}
    assert "compare:" in capsys.readouterr().out


def test_default_prompts_are_the_held_out_split(runs, tmp_path, capsys):
    out = tmp_path / "held"
    assert probe(str(runs["held"]), "--grid", "max-new-tokens=6", "--samples", "1", "--out", str(out)) == 0
    assert "held-out split" in capsys.readouterr().err
    records = [json.loads(x) for x in (out / "probe.jsonl").read_text().splitlines()]
    assert records and all(r["reference"] for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training"]["answers"] == 24 - len(records)  # held-out lines are not training answers


def test_bad_input_exits_2_and_writes_nothing(runs, tmp_path, capsys):
    out = tmp_path / "out"

    def refused(*args: str) -> str:
        assert probe(*args, "--out", str(out)) == 2
        assert not out.exists()
        assert not list(tmp_path.glob(".out*"))
        return capsys.readouterr().err

    no_adapter = tmp_path / "no-adapter"
    no_adapter.mkdir()
    (no_adapter / "config.toml").write_text((runs["run"] / "config.toml").read_text())
    assert "no adapter" in refused(str(no_adapter))
    assert "no such run folder" in refused(str(tmp_path / "missing"))

    no_user = write_jsonl(tmp_path / "no-user.jsonl", [
        {"prompt": "Hi"},
        {"messages": [{"role": "system", "content": "Be nice."}, {"role": "assistant", "content": "Hello."}]},
    ])
    err = refused(str(runs["run"]), "--prompts", str(no_user))
    assert "no-user.jsonl:2" in err and "user turn" in err
    bad_expect = write_jsonl(tmp_path / "expect.jsonl", [{"prompt": "Hi", "expect": {"words": [9, 1]}}])
    assert "expect.words" in refused(str(runs["run"]), "--prompts", str(bad_expect))

    for grid in (["temperature"], ["temperature=hot"], ["warmth=1"], ["top-k=1.5"], ["temperature=-1"],
                 ["min-new-tokens=50", "max-new-tokens=10"], ["temperature=1", "temperature=2"]):
        assert "--grid" in refused(str(runs["run"]), "--grid", *grid)

    err = refused(str(runs["run"]), "--compare", str(runs["other"]))
    assert "another base model" in err
    assert "give --prompts" in refused(str(runs["none"]))
    assert "--samples" in refused(str(runs["run"]), "--samples", "0")

    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    assert probe(str(runs["run"]), "--out", str(full)) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_ratings_needs_a_probe_folder(tmp_path, capsys):
    assert main(["probe", "--ratings", str(tmp_path)]) == 2
    assert "no probe.jsonl" in capsys.readouterr().err
    pytest.importorskip("intone.schemas.probe")
    (tmp_path / "probe.jsonl").write_text("")
    assert main(["probe", "--ratings", str(tmp_path)]) == 0


# ---------------------------------------------------------------------------- measures, no model


def test_grid_expands_to_every_setting():
    from intone.train.probe import parse_grid, setting_id

    settings = parse_grid(["temperature=0.6,0.9", "repetition-penalty=1.0,1.15", "min_new_tokens=0,40"])
    assert len(settings) == 8
    assert [setting_id(s) for s in settings[:3]] == ["t0.6-rp1-min0", "t0.6-rp1-min40", "t0.6-rp1.15-min0"]
    assert setting_id(parse_grid(["top-p=0.8"])[0]) == "t0.7-rp1-min1-p0.8"
    assert len(parse_grid([])) == 1


def test_truncation_and_length_collapse_show_in_the_figures_and_verdict():
    from intone.lint.profile import DatasetProfile
    from intone.schemas.jsonl import read_jsonl_bytes
    from intone.train.probe import Generated, Prompt
    from intone.train.probe_measure import Measurer, summarize
    from intone.train.sample import GenerationOptions, Reply

    words = ["apple", "river", "stone", "cloud", "ember", "maple", "otter", "plum", "reed", "sage"]
    lines = b"".join(json.dumps({"messages": [
        {"role": "user", "content": f"q{i}"},
        {"role": "assistant", "content": " ".join(words[(i + k) % 10] for k in range(5 + 3 * i))}]}).encode() + b"\n"
        for i in range(10))
    profile = DatasetProfile(path="train.jsonl")
    for line in read_jsonl_bytes(lines):
        profile.add(line)
    prompts = [Prompt(i, f"eval.jsonl:{i + 1}", (("user", f"p{i}"),), " ".join(["word"] * (3 + 20 * i)))
               for i in range(6)]
    opts = GenerationOptions(max_new_tokens=40)
    same_length = "one two three four five six seven eight nine ten eleven twelve"
    generated = [Generated(p, "tuned", Path("run"), opts, 0, 0, Reply(same_length, 40, stopped=False))
                 for p in prompts]
    measurer = Measurer(profile)
    records = [measurer.record(g) for g in generated]
    summary = summarize(records, measurer, [opts], {"run": "run"})
    entry = summary["settings"][0]
    assert entry["stop_rate"] == 0.0
    assert entry["length_corr"]["pearson"] == 0.0
    assert "cut off at max-new-tokens in 100%" in entry["verdict"]
    assert "length ignores the prompt" in entry["verdict"]
    assert entry["verdict"].startswith("poor")
    assert summary["best"]["setting"]["max_new_tokens"] == 40


def test_the_report_renders_in_headless_chromium_with_its_images(tmp_path):
    import shutil
    import subprocess

    from intone.train.probe_report import write_report

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium (Debian's package) here")
    record = {"id": "p0-t0.7-rp1-min1-tuned-s0", "prompt_index": 0, "where": "eval.jsonl:1",
              "messages": [{"role": "user", "content": "Hi <b>there</b>"}], "reference": "Well, petal!",
              "source": "tuned", "run": "run", "setting_id": "t0.7-rp1-min1", "setting": {}, "sample": 0, "seed": 0,
              "reply": "Well, petal! <script>x</script>", "tokens": 6, "words": 5, "stopped": True,
              "loop_share": 0.0, "distinct2": 1.0, "voice_distance": 3.1, "findings": [],
              "copy": {"overlap": 0.0, "line": None}, "nearest": [], "expect": {"passed": None, "failed": []}}
    figures = {"stop_rate": 1.0, "loop_rate": 0.0, "copy_rate": 0.0, "band_share": 1.0, "ks": 0.1,
               "length_corr": {"pearson": None}, "median_voice_distance": 3.1, "gap_closed": None,
               "expect_pass_rate": None, "flagged_rate": 0.0}
    summary = {"run": "run", "prompts": {"count": 1, "source": "test"}, "samples": 1, "seed": 0, "replies": 1,
               "seconds": 1.0, "training": {"answers": 3, "words_p10": 2, "words_p90": 6, "voice_median": 3.0},
               "thresholds": {"loop_share": 0.2, "copy_overlap": 0.6, "voice_flag": 5.0},
               "settings": [{"setting_id": "t0.7-rp1-min1", "best": True, "verdict": "good: no problem found",
                             "by_source": {"tuned": figures}}],
               "best": {"setting_id": "t0.7-rp1-min1", "why": "only setting"}}
    report = tmp_path / "report.html"
    write_report(report, [record], summary, [2, 4, 6])
    page = report.read_text()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script" not in page
    # A copy with a check that runs once the page has loaded: every image decoded, with a size.
    probe_page = tmp_path / "check.html"
    probe_page.write_text(page.replace("</body>", "<script>addEventListener('load', () => document.title = "
                                       "'images:' + [...document.images].filter(i => i.complete && i.naturalWidth > 0)"
                                       ".length + '/' + document.images.length)</script></body>"))
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                           "--dump-dom", probe_page.as_uri()], check=False, capture_output=True, text=True,
                          timeout=120)
    title = re.search(r"<title>([^<]*)</title>", done.stdout)
    assert title is not None, done.stderr[-2000:]
    assert title.group(1) == "images:2/2"  # the rates chart and the one setting's lengths
