"""The answer being typed, against the dataset's voice: style-drift's distance and repeated-opener.

Fitted once per full lint (in its worker thread) from the same profile and rule objects batch
lint uses; judging one answer then costs its style features and a few tuple comparisons. No
textual here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intone.lint.profile import DatasetProfile
    from intone.lint.registry import DatasetRule


@dataclass
class VoiceContext:
    """What the voice rules fitted on the whole file, to judge the answer being typed.

    `voice` is style-drift's fit of the dataset's voice (`lint.replies.TrainingVoice`: the same
    features, scale and score); `openers` is repeated-opener's count of the phrases it reports."""

    voice: Any = None
    opener_rule: Any = None
    openers: Any = None
    drift_rule: Any = None

    @classmethod
    def fit(cls, profile: DatasetProfile, rules: Sequence[DatasetRule]) -> VoiceContext | None:
        from intone.lint.replies import TrainingVoice
        from intone.lint.rules.edges import RepeatedOpener

        drift = next((r for r in rules if r.name == "style-drift"), None)
        voice = TrainingVoice(profile) if drift is not None else None
        if voice is not None and len(voice.training) < int(drift.opt["min-answers"]):
            voice = None  # too few answers for style-drift to judge one: no voice to compare with
        opener = next((r for r in rules if isinstance(r, RepeatedOpener)), None)
        openers = opener.over_used(profile) if opener is not None else None
        if (voice is None or not voice.ready) and not openers:
            return None
        return cls(voice if voice is not None and voice.ready else None, opener, openers, drift)

    def judge(self, answer: str) -> VoiceView:
        distance, drifts = (None, False) if self.voice is None else self.voice.judge(answer, self.drift_rule)
        phrase, count, total = None, 0, 0
        if self.openers is not None and self.openers.over:
            gram = self.opener_rule.matches(self.openers, answer)
            if gram is not None:
                phrase, count, total = " ".join(gram), self.openers.over[gram], self.openers.total
        return VoiceView(
            distance,
            self.voice.training_median if self.voice is not None else None,
            self.voice.flag if self.voice is not None else None,
            phrase, count, total,
            float(self.opener_rule.opt["max-share"]) if self.opener_rule is not None else 0.0,
            drifts,
        )


@dataclass
class VoiceView:
    distance: float | None
    """This answer's style-drift score against the dataset's voice (None: too little prose)."""
    median: float | None
    """The dataset's own answers' median distance from their voice."""
    flag: float | None
    """Off voice beyond this (90% of the dataset's answers are closer)."""
    opener: str | None
    """The phrase repeated-opener reports that this answer opens with."""
    opener_count: int
    opener_total: int
    opener_share: float
    """repeated-opener's max-share."""
    drifts: bool = False
    """style-drift would report this answer (its thresholds, as configured)."""

    @property
    def far(self) -> bool:
        """Further from the voice than 90% of the dataset's own answers (not yet style-drift)."""
        return self.distance is not None and self.flag is not None and self.distance > self.flag
