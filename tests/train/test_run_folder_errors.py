"""A damaged run folder, a pickled adapter or a bad --out is a clear error (exit 2), found before the
model loads (issue 10.7 and 10.8). No model is needed: each is refused first."""

from __future__ import annotations

from pathlib import Path

import pytest

from intone.train.config import TrainConfig
from tests.cli._util import intone


def run_folder(tmp_path: Path, *, config: str | None = None, adapter_config: str | None = "{}",
               weights: str | None = "adapter_model.safetensors") -> Path:
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "config.toml").write_text(config if config is not None else TrainConfig().to_toml())
    if adapter_config is not None:
        (run / "adapter" / "adapter_config.json").write_text(adapter_config)
    if weights:
        (run / "adapter" / weights).write_bytes(b"\x80\x04not really")
    return run


@pytest.mark.parametrize("command", [["sample", "--prompt", "hi"], ["merge", "--out", "merged"]])
def test_malformed_config_toml_is_named(tmp_path: Path, command: list[str]) -> None:
    run = run_folder(tmp_path, config="epochs = [\n")
    done = intone(command[0], str(run), *command[1:], cwd=tmp_path)
    assert done.returncode == 2
    assert str(run / "config.toml") in done.stderr and "damaged" in done.stderr


@pytest.mark.parametrize("text", ["{", "[1, 2]", "\xff"])
def test_malformed_adapter_config_is_named(tmp_path: Path, text: str) -> None:
    run = run_folder(tmp_path, adapter_config=text)
    done = intone("sample", str(run), "--prompt", "hi", cwd=tmp_path)
    assert done.returncode == 2
    assert "adapter_config.json" in done.stderr


@pytest.mark.parametrize("command", [["sample", "--prompt", "hi"], ["chat"]])
def test_pickled_adapter_is_refused(tmp_path: Path, command: list[str]) -> None:
    run = run_folder(tmp_path, weights="adapter_model.bin")
    done = intone(command[0], str(run), *command[1:], cwd=tmp_path)
    assert done.returncode == 2
    assert "adapter_model.bin" in done.stderr and "pickle" in done.stderr and "safetensors" in done.stderr


def test_resume_with_malformed_manifest_is_named(tmp_path: Path) -> None:
    run = run_folder(tmp_path)
    (run / "checkpoint").mkdir()
    (run / "checkpoint" / "state.json").write_text("{}")
    (run / "checkpoint" / "adapter.safetensors").write_bytes(b"")
    (run / "manifest.json").write_text('{"dataset": ')
    done = intone("train", "--resume", str(run), cwd=tmp_path)
    assert done.returncode == 2
    assert str(run / "manifest.json") in done.stderr and "not valid JSON" in done.stderr


def test_damaged_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from intone.config import ConfigError
    from intone.train.loop import Trainer

    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "state.json").write_text("{")
    trainer = Trainer.__new__(Trainer)  # only load_checkpoint's own reading is under test
    trainer.run_dir = tmp_path
    with pytest.raises(ConfigError, match="checkpoint cannot be loaded"):
        trainer.load_checkpoint()


def test_merge_into_the_current_folder_is_refused_before_loading(tmp_path: Path) -> None:
    run = run_folder(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    done = intone("merge", str(run), "--out", ".", cwd=empty)
    assert done.returncode == 2
    assert "--out ." in done.stderr and "current folder" in done.stderr
    assert list(empty.iterdir()) == []


def test_failed_train_leaves_no_empty_out(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from intone.cli import main
    from intone.train.loop import Trainer
    from tests.train.conftest import persona_records, write_jsonl

    data = write_jsonl(tmp_path / "d.jsonl", persona_records(8))

    def broken(self: Trainer, step: int) -> dict:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Trainer, "train_step", broken)
    out = tmp_path / "runs" / "new"
    code = main(["train", str(data), "--out", str(out), "--model", str(tiny_model), "--max-steps", "2",
                 "--dtype", "float32"])
    assert code == 2
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    assert (tmp_path / "runs").exists()  # only the folder the run itself created is removed
