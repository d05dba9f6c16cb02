"""Settings from `[tool.intone]` in pyproject.toml or from intone.toml, merged with CLI flags.

Precedence: CLI flags > config file > defaults. An unknown key is an error that names it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "github", "sarif")
FAIL_ON = ("error", "warning", "info")


from intone.errors import ConfigError

__all__ = ["ConfigError", "Settings", "load_settings", "settings_for"]


@dataclass
class Settings:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    """Rules to run: names, codes, code prefixes (IN2) or ALL."""
    ignore: list[str] = field(default_factory=list)
    """Rules to skip, in the same notation."""
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    """Glob pattern -> rules to skip for matching files."""
    fail_on: str = "warning"
    """Lowest severity that makes `intone lint` exit 1."""
    format: str = "text"
    """Output format: text, json, github or sarif."""
    max_tokens: int = 2048
    """Longest example in tokens (the too-long rule)."""
    tokenizer: str | None = None
    """Hugging Face id, local folder or .gguf file for exact token counts."""
    eval: str | None = None
    """Eval file checked for leakage against the linted files."""
    cache: bool = True
    """Serve repeat runs on unchanged files from `.intone_cache/`."""
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rule options by rule name: [tool.intone.rules.<name>]."""
    persona: dict[str, Any] = field(default_factory=dict)
    """[tool.intone.persona]: markers = {"phrase" = [min_share, max_share]}."""
    author: dict[str, Any] = field(default_factory=dict)
    """[tool.intone.author]: the authoring app's settings (keymap)."""
    train: dict[str, Any] = field(default_factory=dict)
    """[tool.intone.train]: defaults for `intone train`."""
    root: Path = field(default_factory=Path.cwd)
    """Folder the config was found in (relative paths in it are relative to this)."""
    source: Path | None = None
    """The config file read, if any."""


_KEYS = {f.name.replace("_", "-"): f.name for f in fields(Settings) if f.name not in ("root", "source")}
_LISTS = ("select", "ignore")


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """Walk up from `start` to the first intone.toml, or pyproject.toml with [tool.intone]."""
    start = start.resolve()
    for folder in (start, *start.parents):
        own = folder / "intone.toml"
        if own.is_file():
            return own, _read_toml(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _intone_table(pyproject, _read_toml(pyproject))
            if table is not None:
                return pyproject, table
    return None


def load_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        return _intone_table(path, data) or {}
    return data


def _intone_table(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """pyproject's [tool.intone], None when there is none; a `tool` or `intone` that is not a
    table is an error naming it."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table ([tool.intone] ...), got {_kind(tool)} {tool!r}")
    table = tool.get("intone")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(
            f"{path}: [tool] intone must be a table ([tool.intone] with keys below it), got {_kind(table)} {table!r}"
        )
    return table


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), type(value).__name__
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); TOML files are UTF-8: "
            "re-save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_settings(config: str | Path | None = None, start: Path | None = None) -> Settings:
    """Read settings from an explicit file or by discovery from `start` (default: cwd)."""
    if config is not None:
        path = Path(config)
        table = load_file(path)
        return from_table(table, path)
    found = find_config(start or Path.cwd())
    if found is None:
        return Settings()
    return from_table(found[1], found[0])


def settings_for(
    paths: list[str] | None, config: str | None, flags: dict[str, Any], *, no_cache: bool = False
) -> Settings:
    """CLI > file > defaults: the config found from the first path (or `config`), then the flags.

    `flags` holds the command's options by Settings name; None means "not given". `select` and
    `ignore` are comma-separated strings: select replaces the file's list, ignore adds to it."""
    first = Path(paths[0]) if paths else Path.cwd()
    start = first if first.is_dir() else first.parent
    settings = load_settings(config, start=start if start.exists() else None)
    for name, value in flags.items():
        if value is None or (name in _LISTS and not value):
            continue
        if name == "select":
            settings.select = _split(value)
        elif name == "ignore":
            settings.ignore = settings.ignore + _split(value)
        elif name in _KEYS.values():
            setattr(settings, name, value)
        else:
            raise KeyError(name)
    if no_cache:
        settings.cache = False
    return settings


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def from_table(table: dict[str, Any], source: Path | None) -> Settings:
    where = f"{source}" if source else "config"
    section = "[tool.intone]" if source and source.name == "pyproject.toml" else "the top level"
    settings = Settings()
    if source is not None:
        settings.source = source
        settings.root = source.resolve().parent
    for key, value in table.items():
        attr = _KEYS.get(key)
        if attr is None:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r} in {section}; known keys: {known}")
        setattr(settings, attr, _check(key, value, getattr(settings, attr), where))
    if settings.format not in FORMATS:
        raise ConfigError(f"{where}: format must be one of {', '.join(FORMATS)}, got {settings.format!r}")
    if settings.fail_on not in FAIL_ON:
        raise ConfigError(f"{where}: fail-on must be one of {', '.join(FAIL_ON)}, got {settings.fail_on!r}")
    prefix = "[tool.intone." if section == "[tool.intone]" else "["
    check_persona(settings.persona, f"{where}: {prefix}persona]")
    check_author(settings.author, f"{where}: {prefix}author]")
    return settings


PERSONA_KEYS = ("markers",)
AUTHOR_KEYS = ("keymap",)


def check_persona(table: dict[str, Any], where: str = "[tool.intone.persona]") -> None:
    """[persona]: only `markers`, a table of phrase = [min_share, max_share] with 0 <= min <= max <= 1."""
    _known_keys(table, PERSONA_KEYS, where)
    markers = table.get("markers", {})
    if not isinstance(markers, dict):
        raise ConfigError(f'{where} markers must be a table: {{"phrase" = [min_share, max_share]}}')
    for phrase, target in markers.items():
        if not phrase.strip():
            raise ConfigError(f"{where} markers: a marker phrase is empty ({phrase!r}); write the phrase to count")
        if (
            not isinstance(target, list)
            or len(target) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in target)
            or not 0 <= target[0] <= target[1] <= 1
        ):
            raise ConfigError(
                f"{where} markers: {phrase!r} needs [min_share, max_share] with 0 <= min <= max <= 1, got {target!r}"
            )


def check_author(table: dict[str, Any], where: str = "[tool.intone.author]") -> None:
    """[author]: only `keymap`, a table of binding id = "key"."""
    _known_keys(table, AUTHOR_KEYS, where)
    keymap = table.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) and v.strip() for v in keymap.values()):
        raise ConfigError(f'{where} keymap must be a table of binding id = "key", e.g. {{save = "ctrl+w"}}')


def _known_keys(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(known)}")


def _check(key: str, value: Any, default: Any, where: str) -> Any:
    if key in _LISTS or key == "per-file-ignores":
        if key == "per-file-ignores":
            ok = isinstance(value, dict) and all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in value.values()
            )
        else:
            ok = isinstance(value, list) and all(isinstance(s, str) for s in value)
        if not ok:
            raise ConfigError(f"{where}: {key} must be a list of rule names or codes")
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a table")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{where}: {key} must be a positive integer")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value
