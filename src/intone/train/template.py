"""The chat template, tokenization with the loss mask, and the exact token counter for lint.

One function renders a conversation into segments `(text, trained)`; training, token
accounting (`intone lint --tokenizer`, the preflight) and sampling all use it, so the
numbers the linter prints are the tokens the trainer sees.

Nothing here imports torch: the tokenizer is the `tokenizers` library reading the model's
tokenizer.json, and a tokenizer's own chat template is rendered with jinja2.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

Messages = Sequence[tuple[str, str]]
Segments = list[tuple[str, bool]]
IGNORE = -100

# Gemma's turn format (google/gemma-3-*-it). Gemma has no system role: the official template
# puts the system text in front of the first user turn, followed by a blank line.
START, END = "<start_of_turn>", "<end_of_turn>"
TURN_MARKERS = (START, END, "<|im_start|>", "<|im_end|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "[INST]", "[/INST]")
"""Chat-template tokens that a reply shows as text when a model writes them (`reply_text`)."""
BOS = "<bos>"


class TemplateError(ValueError):
    """A conversation the template cannot render (e.g. it has no user turn)."""


class GemmaTemplate:
    """Gemma's turn format, built in, for tokenizers that carry no chat template (GGUF)."""

    name = "gemma (built in)"
    end_of_turn = END

    def segments(self, messages: Messages, *, train_on: str = "all") -> Segments:
        out: Segments = [(BOS, False)]
        last_assistant = max((i for i, (role, _) in enumerate(messages) if role == "assistant"), default=-1)
        pending_system: str | None = None
        for i, (role, content) in enumerate(messages):
            if role == "system" and pending_system is None and not any(r == "user" for r, _ in messages[:i]):
                pending_system = content
                continue
            if role == "assistant":
                if pending_system is not None:  # a system turn with no user turn after it
                    out.append((f"{START}user\n{pending_system}{END}\n", False))
                    pending_system = None
                trained = train_on == "all" or i == last_assistant
                out.append((f"{START}model\n", False))
                out.append((f"{content}{END}", trained))
                out.append(("\n", False))
            else:  # user, or a later system turn, which Gemma can only show as user text
                if pending_system is not None:
                    content = f"{pending_system}\n\n{content}"
                    pending_system = None
                out.append((f"{START}user\n{content}{END}\n", False))
        if pending_system is not None:
            out.append((f"{START}user\n{pending_system}{END}\n", False))
        return out

    def prompt(self, messages: Messages) -> str:
        """The text a reply is generated after: the conversation, then the model's turn header."""
        return "".join(text for text, _ in self.segments(messages)) + f"{START}model\n"


class JinjaTemplate:
    """A tokenizer's own chat template (tokenizer_config.json `chat_template`), rendered by jinja2.

    Assistant turns are found by rendering prefixes: the text between the conversation up to a
    turn (with the generation prompt) and the conversation including it is that turn.
    """

    def __init__(self, source: str, special: dict[str, str]) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str) -> None:
            raise TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: "26 Jul 2024"  # fixed: training must be reproducible
        env.filters["tojson"] = lambda value, indent=None, **_: json.dumps(value, indent=indent, ensure_ascii=False)
        self._template = env.from_string(source)
        self._special = special
        self.name = "tokenizer chat template"
        self.end_of_turn = special.get("eos_token", "")

    def render(self, messages: Messages, *, add_generation_prompt: bool = False) -> str:
        return self._template.render(
            messages=[{"role": r, "content": c} for r, c in messages],
            add_generation_prompt=add_generation_prompt,
            **self._special,
        )

    def segments(self, messages: Messages, *, train_on: str = "all") -> Segments:
        out: Segments = []
        done = ""
        assistant_at = [i for i, (role, _) in enumerate(messages) if role == "assistant"]
        for i in assistant_at:
            before = self.render(messages[:i], add_generation_prompt=True)
            upto = self.render(messages[: i + 1])
            if not before.startswith(done) or not upto.startswith(before):
                raise TemplateError("the chat template does not render conversations as growing prefixes")
            turn = upto[len(before) :]
            body = turn.rstrip()  # trailing newlines after the end-of-turn marker stay untrained
            trained = train_on == "all" or i == assistant_at[-1]
            out += [(before[len(done) :], False), (body, trained), (turn[len(body) :], False)]
            done = upto
        rest = self.render(messages)
        if not rest.startswith(done):
            raise TemplateError("the chat template does not render conversations as growing prefixes")
        out.append((rest[len(done) :], False))
        return [(t, trained) for t, trained in out if t]

    def prompt(self, messages: Messages) -> str:
        return self.render(messages, add_generation_prompt=True)


ChatTemplate = GemmaTemplate | JinjaTemplate


class TextTokenizer:
    """The model's tokenizer.json through the `tokenizers` library (no torch, fast)."""

    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.folder = folder
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.config = _read_json(folder / "tokenizer_config.json")
        self.special = {
            key: _token_text(self.config.get(key))
            for key in ("bos_token", "eos_token", "pad_token", "unk_token")
            if _token_text(self.config.get(key))
        }
        self.turn_markers = {
            token: text for text in TURN_MARKERS if (token := self._tok.token_to_id(text)) is not None
        }

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def token_id(self, text: str) -> int | None:
        return self._tok.token_to_id(text)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def reply_text(self, ids: Sequence[int]) -> str:
        """A generated reply as text: special tokens are dropped, except turn markers, which are
        written out. A reply that opens a new turn (`<start_of_turn>user ...`) then shows it, and
        template-leak finds it, instead of leaving a bare "user" or "model" in the text."""
        markers = self.turn_markers
        if not markers.keys() & set(ids):
            return self._tok.decode(list(ids), skip_special_tokens=True)
        parts, run = [], []
        for token in ids:
            if token in markers:
                parts.append(self._tok.decode(run, skip_special_tokens=True))
                parts.append(markers[token])
                run = []
            else:
                run.append(token)
        parts.append(self._tok.decode(run, skip_special_tokens=True))
        return "".join(parts)

    def chat_template_source(self) -> str | None:
        source = self.config.get("chat_template")
        jinja_file = self.folder / "chat_template.jinja"
        if not source and jinja_file.is_file():
            source = jinja_file.read_text(encoding="utf-8")
        if isinstance(source, list):  # [{"name": "default", "template": ...}, ...]
            source = next((t["template"] for t in source if t.get("name") == "default"), None)
        return source or None


def template_for(tokenizer: TextTokenizer) -> ChatTemplate:
    """The tokenizer's own chat template where it has one; otherwise Gemma's turn format."""
    source = tokenizer.chat_template_source()
    if source:
        return JinjaTemplate(source, tokenizer.special)
    return GemmaTemplate()


@dataclass(slots=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]

    @property
    def n_trainable(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def encode_conversations(
    tokenizer: TextTokenizer, template: ChatTemplate, conversations: Sequence[Messages], *, train_on: str = "all"
) -> list[Encoded]:
    """Token ids and labels: labels are -100 except on trained assistant text and its end of turn.

    Each segment is tokenized on its own, so a mask boundary never falls inside a token, and a
    generation prompt (which ends at a segment boundary) tokenizes exactly as in training.
    """
    all_segments = [template.segments(messages, train_on=train_on) for messages in conversations]
    flat = [text for segments in all_segments for text, _ in segments]
    ids = iter(tokenizer.encode_batch(flat))
    out: list[Encoded] = []
    for segments in all_segments:
        input_ids: list[int] = []
        labels: list[int] = []
        for _text, trained in segments:
            piece = next(ids)
            input_ids += piece
            labels += piece if trained else [IGNORE] * len(piece)
        out.append(Encoded(input_ids, labels))
    return out


class TemplateTokenCounter:
    """Exact token counts with the trainer's tokenizer and template (`intone lint --tokenizer`)."""

    def __init__(self, tokenizer: TextTokenizer, template: ChatTemplate, name: str) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.name = name

    def count_text(self, text: str) -> int:
        return len(self.tokenizer.encode_batch([text])[0])

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer.encode_batch(texts)]

    def count_conversation(self, messages: Messages) -> int:
        return len(encode_conversations(self.tokenizer, self.template, [messages])[0].input_ids)

    def upper_bound(self, messages: Messages) -> int:
        # A token covers at least one byte of UTF-8 text (byte fallback), so the rendered text's
        # byte length bounds the count; a few extra for a tokenizer-added prefix.
        text = "".join(t for t, _ in self.template.segments(messages))
        return len(text.encode("utf-8")) + 8 * len(messages) + 8


def load_token_counter(spec: str) -> TemplateTokenCounter:
    """The counter for `intone lint --tokenizer ID|PATH|FILE.gguf|embedded`."""
    from intone.train.model import resolve_model, tokenizer_folder

    source = resolve_model(spec)
    tokenizer = TextTokenizer(tokenizer_folder(source))
    return TemplateTokenCounter(tokenizer, template_for(tokenizer), f"tokenizer:{source.display}")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _token_text(value: object) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def prompt_ids(tokenizer: TextTokenizer, template: ChatTemplate, messages: Messages) -> list[int]:
    """Token ids of the generation prompt, split at the same segment boundaries as in training."""
    segments = [text for text, _ in template.segments(messages)]
    joined = "".join(segments)
    full = template.prompt(messages)
    if not full.startswith(joined):
        return tokenizer.encode_batch([full])[0]
    pieces = tokenizer.encode_batch(segments + [full[len(joined) :]])
    return [token for piece in pieces for token in piece]
