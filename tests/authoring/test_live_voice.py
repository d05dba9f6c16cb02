"""The lint panel judges the answer being typed against the dataset's voice, as batch lint does."""

from __future__ import annotations

import json
import random
from pathlib import Path

from intone.authoring.live import LiveLint
from intone.authoring.model import Dataset, set_content
from intone.lint.engine import Linter

ROOT = Path(__file__).resolve().parents[2]
CORPORATE = (
    "Certainly! Here are some key considerations regarding your request. 1. **Scope**: it is "
    "important to review the requirements regularly and to leverage the available resources. "
    "2. **Stakeholders**: please ensure that all relevant parties are informed in a timely manner. "
    "Please do not hesitate to reach out should you require any further assistance."
)


def ready(path: Path) -> tuple[Dataset, LiveLint]:
    dataset = Dataset.load(path)
    live = LiveLint(None, str(path))
    live.adopt(live.full_lint(dataset.rows, with_near=False), dataset.rows)
    return dataset, live


def test_voice_distance_follows_the_answer_being_typed():
    from intone.authoring.live_index import answers_of
    from intone.lint.profile import DatasetProfile
    from intone.lint.replies import TrainingVoice
    from intone.schemas.jsonl import read_jsonl_path

    path = ROOT / "data" / "persona.jsonl"
    dataset, live = ready(path)
    assert live.voice is not None and live.voice.voice is not None
    profile = DatasetProfile(path=str(path))
    for line in read_jsonl_path(path):
        if line.record is not None:
            profile.add(line)
    batch = TrainingVoice(profile)  # style-drift's fit, as `intone probe` uses it
    rows = dataset.rows
    judged = []
    for index in range(len(rows)):
        view = live.panel(rows[index], index, rows).voice
        answer = answers_of(rows[index])[0]  # the panel judges the first answer unless told another
        assert view.distance == batch.distance(answer)
        assert (view.median, view.flag) == (batch.training_median, batch.flag)
        judged.append(view)
    index = next(i for i, v in enumerate(judged) if v.distance is not None and not v.far)
    assert not any(v.drifts for v in judged)  # batch style-drift reports none of these
    row = rows[index]
    turn = next(i for i, m in enumerate(row.data["messages"]) if m["role"] == "assistant")
    dataset.replace(index, set_content(row.data, turn, CORPORATE))
    live.update_row(row, index)
    off = live.panel(row, index, dataset.rows).voice
    assert off.far and off.drifts and off.distance > 2 * judged[index].distance
    dataset.replace(index, set_content(row.data, turn, "Hm."))
    live.update_row(row, index)
    assert live.panel(row, index, dataset.rows).voice.distance is None  # too little prose to judge


def test_repeated_opener_shows_on_the_answer_that_opens_with_it(tmp_path):
    rng = random.Random(0)
    words = ["kettle", "towpath", "barge", "heron", "lantern", "biscuit", "rain", "canal", "moorhen", "lock", "rope", "willow"]
    records = []
    for i in range(40):
        body = " ".join(rng.choice(words) for _ in range(12)) + "."
        answer = ("Oh my word, " + body) if i % 3 == 0 else (body.capitalize())
        records.append({"messages": [{"role": "user", "content": f"Question {i} about {rng.choice(words)}?"},
                                     {"role": "assistant", "content": answer}]})
    path = tmp_path / "openers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    batch = [d for d in Linter().lint_path(path).diagnostics if d.name == "repeated-opener"]
    assert len(batch) == 1 and "'oh my word'" in batch[0].message
    dataset, live = ready(path)
    view = live.panel(dataset.rows[0], 0, dataset.rows).voice
    assert view.opener == "oh my word" and f"{view.opener_count} of {view.opener_total}" in batch[0].message
    assert live.panel(dataset.rows[1], 1, dataset.rows).voice.opener is None
    row = dataset.rows[0]
    dataset.replace(0, set_content(row.data, 1, "Kettle first, then we talk."))
    live.update_row(row, 0)
    assert live.panel(row, 0, dataset.rows).voice.opener is None
    dataset.replace(0, set_content(row.data, 1, "OH MY WORD! The heron again."))
    live.update_row(row, 0)
    assert live.panel(row, 0, dataset.rows).voice.opener == "oh my word"  # case and punctuation ignored
