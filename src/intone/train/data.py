"""Training data: records -> token ids with the loss mask, the held-out split, and batches.

Batches are length-grouped and padded only to their own longest example (dynamic padding).
The order of batches depends only on (seed, epoch), so a resumed run sees the same data.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from intone.lint.diagnostic import Diagnostic
from intone.lint.rules.too_long import TruncatedAssistantTurn
from intone.train.template import IGNORE, ChatTemplate, Messages, TextTokenizer, encode_conversations

GROUP_FACTOR = 16  # length-sort within windows of batch_size * GROUP_FACTOR examples


@dataclass(slots=True)
class Example:
    line: int
    """1-based line in the source file."""
    messages: Messages
    input_ids: list[int]
    labels: list[int]

    @property
    def n_tokens(self) -> int:
        return len(self.input_ids)

    @property
    def n_trainable(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def read_conversations(path: str | Path) -> tuple[list[tuple[int, Messages]], int]:
    """(line, messages) for every valid record, and the number of broken lines skipped."""
    from intone.schemas.jsonl import read_jsonl_path

    records: list[tuple[int, Messages]] = []
    broken = 0
    for line in read_jsonl_path(path):
        if line.blank:
            continue
        if line.record is None:
            broken += 1
            continue
        records.append((line.number, tuple((m.role, m.content) for m in line.record.messages)))
    return records, broken


def prompt_key(messages: Messages) -> str:
    """What makes two records 'the same prompt': their user turns, case and spacing folded."""
    users = [" ".join(c.lower().split()) for role, c in messages if role == "user"]
    return "\x1f".join(users)


def split_holdout(
    records: list[tuple[int, Messages]], fraction: float, seed: int
) -> tuple[list[tuple[int, Messages]], list[tuple[int, Messages]]]:
    """A seeded held-out split; records sharing a prompt stay on the same side (no leakage)."""
    if fraction <= 0 or len(records) < 2:
        return records, []
    keys = sorted({prompt_key(m) for _, m in records})
    random.Random(seed).shuffle(keys)
    n_held = max(1, round(len(keys) * fraction))
    held = set(keys[:n_held])
    train = [r for r in records if prompt_key(r[1]) not in held]
    valid = [r for r in records if prompt_key(r[1]) in held]
    return train, valid


@dataclass
class Encoding:
    examples: list[Example]
    truncated: list[int]
    """Lines cut at max-length where only untrained tokens were lost."""
    too_long: list[Diagnostic]
    """Lines whose trained tokens would be cut (refused, or dropped with --drop-long)."""


def encode(
    records: Sequence[tuple[int, Messages]],
    tokenizer: TextTokenizer,
    template: ChatTemplate,
    *,
    max_length: int,
    train_on: str = "all",
    path: str = "",
) -> Encoding:
    encoded = encode_conversations(tokenizer, template, [m for _, m in records], train_on=train_on)
    examples, truncated, too_long = [], [], []
    for (line, messages), enc in zip(records, encoded):
        ids, labels = enc.input_ids, enc.labels
        if len(ids) > max_length:
            lost = sum(1 for label in labels[max_length:] if label != IGNORE)
            if lost:
                too_long.append(TruncatedAssistantTurn().finding(path, line, len(ids), enc.n_trainable, max_length, lost))
                continue
            ids, labels = ids[:max_length], labels[:max_length]
            truncated.append(line)
        if not any(label != IGNORE for label in labels):
            continue  # nothing to learn from (no assistant turn)
        examples.append(Example(line, messages, ids, labels))
    return Encoding(examples, truncated, too_long)


def plan_epoch(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Batches of example indices for one epoch: shuffled, then length-grouped in windows."""
    rng = random.Random(int(hashlib.sha256(f"{seed}:{epoch}".encode()).hexdigest()[:16], 16))
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * GROUP_FACTOR
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(examples: Sequence[Example], pad_id: int):
    """Pad to the longest in the batch (right padding); labels -100 on padding."""
    import torch

    width = max(e.n_tokens for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = e.n_tokens
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}
